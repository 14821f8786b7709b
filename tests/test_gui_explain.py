"""The "Explain this number" panel: it shows the engine's value, follows the notation
(displayed indices transposed for W and dW in in×out) and the latest snapshot."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from bpviz.engine import LayerSpec, Network, NetworkSpec  # noqa: E402
from bpviz.engine.datasets import make_dataset  # noqa: E402
from bpviz.engine.explain import explain_step  # noqa: E402
from bpviz.engine.trainer import TrainConfig, Trainer  # noqa: E402
from bpviz.gui import panels as registry  # noqa: E402
from bpviz.gui.classroom.explain_view import (  # noqa: E402
    HINT,
    ExplainView,
    explanation_text,
    num,
)
from bpviz.gui.views.demo import DemoContext  # noqa: E402

TIED = NetworkSpec(2, (LayerSpec(3, "tanh"), LayerSpec(3, "tanh"),
                       LayerSpec(3, "tanh", tie_to=1), LayerSpec(1, "sigmoid")),
                   loss="binary_cross_entropy")


def make_ctx(optimizer: str = "sgd") -> DemoContext:
    net = Network(TIED, seed=2, dtype="float64")
    return DemoContext(trainer=Trainer(net, make_dataset("xor", seed=0),
                                       TrainConfig(batch_size=6, optimizer=optimizer)))


def test_registered_not_visible_by_default():
    info = registry.panel("explain")
    assert info is not None and info.title == "Explain this number"
    assert not info.visible_by_default and registry.panel_class(info) is ExplainView


def test_default_cell_shows_the_engine_value_and_the_hint(qtbot):
    ctx = make_ctx()
    view = ExplainView(ctx)
    qtbot.addWidget(view)
    assert "Waiting" in view.text()
    snap = ctx.advance()
    view.show_snapshot(snap)                          # what the window calls while shown
    view.flush()
    assert view.selection() == ("dW", 0, 0, 0)
    v = snap.step.backprop.layers[0].dW[0, 0]
    assert num(v) in view.text() and HINT in view.text()
    view.explain("delta", 1, 2, 1)                    # a hidden δ
    e = explain_step(snap.step, TIED, "delta", 1, 2, 1)
    assert num(snap.step.backprop.layers[1].delta[2, 1]) in view.text()
    assert num(e.total) in view.text() and HINT not in view.text()
    view.explain("W", 2, 0, 1)                        # a tied W: the sum of its uses
    assert "one term per use" in view.text() and "after the update" in view.text()


def test_notation_switch_transposes_the_displayed_indices(qtbot):
    ctx = make_ctx()
    snap = ctx.advance()
    view = ExplainView(ctx)
    qtbot.addWidget(view)
    view.explain("dW", 0, 1, 0)                       # engine (i, j) = (1, 0)
    e = explain_step(snap.step, TIED, "dW", 0, 1, 0)
    out_in = explanation_text(e, "out_in").splitlines()[0]
    in_out = explanation_text(e, "in_out").splitlines()[0]
    assert out_in.startswith("dW¹₂,₁ = (1/K) Σₖ δ¹ₖ,₂ a⁰ₖ,₁")   # δᵀa, row i = 2
    assert in_out.startswith("dW¹₁,₂ = (1/K) Σₖ a⁰ₖ,₁ δ¹ₖ,₂")   # aᵀδ, row j = 1
    assert "row 2 (neuron i), column 1 (input j)" in view.text()
    assert (view.row_spin.value(), view.col_spin.value()) == (2, 1)
    ctx.set_notation("in_out")
    assert "row 1 (input j), column 2 (neuron i)" in view.text()
    assert (view.row_spin.value(), view.col_spin.value()) == (1, 2)
    assert view.selection() == ("dW", 0, 1, 0)      # the same engine cell
    z = explanation_text(explain_step(snap.step, TIED, "z", 1, 0, 2), "in_out")
    assert "W²ⱼ,₃" in z                               # z = a W + b: W in×out


def test_picking_by_hand_and_following_snapshots(qtbot):
    ctx = make_ctx()
    ctx.advance()
    view = ExplainView(ctx)
    qtbot.addWidget(view)
    flashed = []
    ctx.highlightRequested.connect(lambda k, layer: flashed.append((k, layer)))
    view.kind_box.setCurrentIndex(view.kind_box.findData("z"))
    view.layer_spin.setValue(2)
    view.row_spin.setValue(3)
    view.col_spin.setValue(2)
    assert view.selection() == ("z", 1, 2, 1)
    assert ("W", 1) in flashed and ("a", 1) in flashed
    snap = ctx.advance()
    view.show_snapshot(snap)
    view.flush()
    assert num(snap.step.backprop.layers[1].z[2, 1]) in view.text()
    view.explain_neuron(1, 2, 4)
    card = view.last
    assert card.i == 2 and card.k == 4 and np.array_equal(
        card.dW_row, snap.step.backprop.layers[1].dW[2])
    view.set_presentation(True)
    assert "neuron 3 of layer 2, sample 5" in view.text()


def test_momentum_update_takes_the_state_from_the_trainer_when_paused(qtbot):
    ctx = make_ctx("momentum")
    ctx.advance()
    snap = ctx.advance()
    view = ExplainView(ctx)
    qtbot.addWidget(view)
    view.explain("W", 0, 1, 1)
    new = ctx.trainer.net.params["W0"][1, 1]
    assert abs(view.last.total - new) <= 1e-12
    assert num(new) in view.text() and snap.step.step == ctx.trainer.step
