"""Dead and saturated units outlined on the matrix panel's heatmaps and counted per layer.

The constructed network of test_unit_stats: 2 → 6 ReLU → 8 tanh → 3 softmax with
ReLU unit 3 of engine layer 0 dead and tanh unit 5 of engine layer 1 saturated
(0-based engine indices; the panel shows the layers from 1). Unit i of layer l is
a column of its δ, z and db, a row of its W and dW (a column in the in × out
notation) and, as an input, a column of the next layer's a (its input a^l) and a
column of the next layer's W and dW (a row in in × out).
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor
from test_unit_stats import DEAD, SATURATED, _constructed, _data

from bpviz.engine.trainer import TrainConfig, Trainer
from bpviz.gui import notation as nt
from bpviz.gui.views.demo import DemoContext
from bpviz.gui.views.matrices import (
    ALL_LAYERS,
    DEAD_COLOUR,
    SATURATED_COLOUR,
    UNIT_LEGEND,
    MatrixPanel,
)

#: (kind, engine layer) → (marked columns, marked rows), in the out × in notation
OUT_IN = {
    ("a", 0): ([], []), ("delta", 0): ([DEAD], []), ("z", 0): ([DEAD], []),
    ("db", 0): ([DEAD], []), ("W", 0): ([], [DEAD]), ("dW", 0): ([], [DEAD]),
    ("a", 1): ([DEAD], []), ("delta", 1): ([SATURATED], []), ("z", 1): ([SATURATED], []),
    ("db", 1): ([SATURATED], []), ("W", 1): ([DEAD], [SATURATED]),
    ("dW", 1): ([DEAD], [SATURATED]),
    ("a", 2): ([SATURATED], []), ("delta", 2): ([], []), ("z", 2): ([], []),
    ("db", 2): ([], []), ("W", 2): ([SATURATED], []), ("dW", 2): ([SATURATED], []),
}


@pytest.fixture
def ctx() -> DemoContext:
    return DemoContext(trainer=Trainer(_constructed("float32"), _data(),
                                       TrainConfig(batch_size=32, lr=0.1)))


@pytest.fixture
def panel(qtbot, ctx) -> MatrixPanel:
    p = MatrixPanel(ctx)
    qtbot.addWidget(p)
    p.resize(1400, 900)
    p.show()
    p.set_layer(ALL_LAYERS)
    p.set_kinds(nt.KINDS)
    return p


def _marks(p: MatrixPanel, kind: str, layer: int) -> tuple[list[int], list[int]]:
    hm = p.heatmap(kind, layer)
    return hm.marked_columns(), hm.marked_rows()


def _pen_colours(p: MatrixPanel, kind: str, layer: int) -> list[str]:
    items = p.heatmap(kind, layer).graphics_view().mark_items()
    return sorted(item.pen().color().name() for item in items)


def test_dead_and_saturated_units_are_outlined_in_the_right_rows_and_columns(panel, ctx):
    assert all(_marks(panel, k, i) == ([], []) for k, i in OUT_IN)
    assert not panel.unit_caption().isVisible()
    panel.show_snapshot(ctx.advance(1))
    units = ctx.latest_snapshot().step.units
    assert units.layers[0].dead.tolist() == [DEAD]
    assert units.layers[1].saturated.tolist() == [SATURATED]
    for key, want in OUT_IN.items():
        assert _marks(panel, *key) == want, key
    # the dead unit's column of δ is zero in the matrix shown: the outline is on it
    delta = panel.heatmap("delta", 0).matrix()
    assert not delta[:, DEAD].any() and delta.any()
    grey, orange = QColor(DEAD_COLOUR).name(), QColor(SATURATED_COLOUR).name()
    assert _pen_colours(panel, "delta", 0) == [grey]
    assert _pen_colours(panel, "delta", 1) == [orange]
    assert _pen_colours(panel, "W", 1) == sorted([grey, orange])   # dead input, saturated unit
    assert _pen_colours(panel, "a", 0) == []


def test_in_out_notation_swaps_the_rows_and_columns_of_w_and_dw(panel, ctx):
    panel.set_notation("in_out")
    panel.show_snapshot(ctx.advance(1))
    for (kind, i), (cols, rows) in OUT_IN.items():
        want = (rows, cols) if kind in ("W", "dW") else (cols, rows)
        assert _marks(panel, kind, i) == want, (kind, i)
    assert panel.heatmap("W", 1).matrix().shape == (6, 8)    # in × out: rows are inputs
    panel.set_notation("out_in")                              # redrawn at once, marks follow
    assert _marks(panel, "W", 1) == OUT_IN[("W", 1)]


def test_caption_counts_per_layer_with_the_legend_and_the_rules(panel, ctx):
    panel.show_snapshot(ctx.advance(1))
    cap = panel.unit_caption()
    assert cap.isVisible()
    text = cap.text()
    assert text.startswith(UNIT_LEGEND)
    assert "dead units (grey), saturated (orange)" in text
    assert "layer 1: 1 dead of 6" in text
    assert "layer 2: 0 dead, 1 saturated of 8" in text
    assert "layer 3: 0 dead of 3" in text                     # softmax: no saturation count
    assert "layer 1: 1 dead," not in text                     # ReLU: none either
    assert "a ReLU never active" in cap.toolTip() and "|z| > 3" in cap.toolTip()
    panel.set_layer(1)                                        # one layer: its count only
    assert "layer 2: 0 dead, 1 saturated of 8" in cap.text()
    assert "layer 1:" not in cap.text()
    assert _marks(panel, "W", 1) == OUT_IN[("W", 1)]


def test_reset_clears_the_outlines_and_the_next_step_draws_them_again(panel, ctx):
    panel.show_snapshot(ctx.advance(1))
    assert _marks(panel, "delta", 0) == ([DEAD], [])
    panel.clear()
    assert all(_marks(panel, k, i) == ([], []) for k, i in OUT_IN)
    panel.show_snapshot(ctx.advance(1))
    assert _marks(panel, "delta", 0) == ([DEAD], [])
    assert _marks(panel, "dW", 0) == ([], [DEAD])


def test_a_layer_that_revives_loses_its_outline(panel, ctx):
    panel.show_snapshot(ctx.advance(1))
    assert _marks(panel, "z", 0) == ([DEAD], [])

    net = ctx.trainer.net
    w = net.get_weights()
    w["W0"][DEAD] = np.float32(1.0)
    w["b0"][DEAD] = np.float32(5.0)                            # active for every sample
    net.set_weights(w)
    panel.show_snapshot(ctx.advance(1))
    assert _marks(panel, "z", 0) == ([], [])
    assert _marks(panel, "a", 1) == ([], [])
    assert "layer 1: 0 dead of 6" in panel.unit_caption().text()
