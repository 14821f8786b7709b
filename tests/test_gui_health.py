"""The gradient-health panel's engineer's view: unit counts, update ratios, the ‖dW‖ strip.

Driven by the one stand-in controller (DemoContext) around a trainer of the
constructed network of test_unit_stats (ReLU unit 3 of the first layer dead,
tanh unit 5 of the second saturated; 0-based engine indices, shown from 1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import Qt
from test_unit_stats import DEAD, SATURATED, _constructed, _data

from bpviz.engine.trainer import TrainConfig, Trainer
from bpviz.gui.views.demo import DemoContext
from bpviz.gui.views.health import STRIP_STEPS, GradientHealthPlot


@pytest.fixture
def ctx() -> DemoContext:
    return DemoContext(trainer=Trainer(_constructed("float32"), _data(),
                                       TrainConfig(batch_size=32, lr=0.1)))


@pytest.fixture
def panel(qtbot, ctx) -> GradientHealthPlot:
    gh = GradientHealthPlot(ctx)
    qtbot.addWidget(gh)
    gh.resize(900, 520)
    gh.show()
    return gh


def _publish(ctx: DemoContext, gh: GradientHealthPlot, n: int) -> list:
    recs = []
    for _ in range(n):
        gh.show_snapshot(ctx.advance(2))
        recs.append(ctx.latest_snapshot().step)
    gh.flush()
    return recs


def test_counts_line_names_dead_and_saturated_units(panel, ctx):
    assert "shown once training publishes" in panel.counts_text()
    _publish(ctx, panel, 2)
    text = panel.counts_text()
    assert f"layer 1: 1 dead of 6 (unit {DEAD + 1})" in text      # indices read from 1
    assert f"layer 2: 0 dead of 8, 1 saturated (unit {SATURATED + 1})" in text
    assert "layer 3: 0 dead of 3" in text
    assert "layer 1: 1 dead of 6 (unit 4), " not in text           # ReLU: no saturation count
    assert "layer 3: 0 dead of 3," not in text                     # softmax: none either
    tip = panel.counts_tooltip()
    assert "|z| > 3 for more than 95% of the batch" in tip and "a ReLU never active" in tip
    assert f"layer 1: dead units {DEAD + 1}\n" in tip
    assert f"layer 2: dead units none; saturated units {SATURATED + 1}" in tip


def test_ratio_plot_has_each_layer_and_the_rule_of_thumb(panel, ctx):
    recs = _publish(ctx, panel, 3)
    for i in range(3):
        x, y = panel.curve_data("ratio", i)
        assert x[-1] == recs[-1].step
        assert y[-1] == pytest.approx(recs[-1].units.ratios[i])
        assert y[-1] == pytest.approx(recs[-1].grad_norms[f"ratio{i}"])
    plot = panel.plot_item("ratio")
    assert plot.ctrl.logYCheck.isChecked()
    line = panel.rule_line()
    assert line.value() == pytest.approx(math.log10(1e-3)) and line.angle == 0
    assert line.label.toPlainText() == "rule of thumb 1e-3"
    assert line.pen.style() == Qt.PenStyle.DashLine
    lo, hi = plot.viewRange()[1]
    assert lo < -3.6 and hi > -3            # the line in view, with room for its label below
    for i in range(3):                      # and every ratio drawn
        y = np.log10(panel.curve_data("ratio", i)[1])
        assert lo <= y.min() and y.max() <= hi


def test_strip_is_layers_by_recent_steps(panel, ctx):
    recs = _publish(ctx, panel, 5)
    steps, norms = panel.strip_data()
    assert steps.tolist() == [r.step for r in recs]
    assert norms.shape == (3, 5)
    for c, r in enumerate(recs):
        for l in range(3):
            assert norms[l, c] == pytest.approx(r.grad_norms[f"dW{l}"])
    img = panel.strip_image()
    assert img.shape == (3, 5)                                    # row = layer, column = step
    np.testing.assert_allclose(img, np.log10(norms), rtol=1e-5)
    strip = panel.plot_item("strip")
    left = [t for t, _ in [*strip.getAxis("left")._tickLevels[0]]]
    labels = [s for _, s in strip.getAxis("left")._tickLevels[0]]
    assert labels == ["1", "2", "3"] and left == [0.5, 1.5, 2.5]   # layer numbers from 1
    bottom = [s for _, s in strip.getAxis("bottom")._tickLevels[0]]
    assert bottom and all(int(s) in steps for s in bottom)


def test_strip_keeps_a_fixed_number_of_steps(panel, ctx):
    recs = _publish(ctx, panel, STRIP_STEPS + 5)
    steps, norms = panel.strip_data()
    assert steps.size == STRIP_STEPS and norms.shape == (3, STRIP_STEPS)
    assert steps[0] == recs[5].step and steps[-1] == recs[-1].step


def test_clear_presentation_and_export(panel, ctx):
    _publish(ctx, panel, 3)
    mats = panel.export_matrices()
    assert mats["dW norm strip (layer x step)"].shape == (3, 3)
    assert mats["update ratio 2"].shape == (3, 2)
    panel.set_presentation(True)
    assert not panel.grab().isNull()
    panel.set_presentation(False)
    panel.clear()
    assert panel.strip_data()[0].size == 0
    assert "shown once training publishes" in panel.counts_text()
