"""Classroom views A: outer products, equations, notation switch, phase stepping.

Run offscreen against the stand-in controller (:class:`DemoContext`, the panel
contract over a real trainer) whose ``run_on_trainer`` runs the job at once.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QTextCursor  # noqa: E402

from bpviz.engine import LayerSpec, Network, NetworkSpec  # noqa: E402
from bpviz.engine.datasets import make_dataset  # noqa: E402
from bpviz.engine.phases import phase_plan  # noqa: E402
from bpviz.engine.trainer import TrainConfig, Trainer  # noqa: E402
from bpviz.gui import notation as nt  # noqa: E402
from bpviz.gui.views.demo import DemoContext  # noqa: E402


def make_ctx(spec, data, batch_size=32, steps=3, seed=0) -> DemoContext:
    """The stand-in controller over a real trainer, ``steps`` mini-batches in."""
    config = TrainConfig(batch_size=batch_size, lr=0.1)
    ctx = DemoContext(trainer=Trainer(Network(spec, seed=seed), data, config))
    ctx.advance(steps)
    return ctx


DIGITS_SPEC = NetworkSpec(64, (LayerSpec(32, "tanh"), LayerSpec(10, "softmax")),
                          loss="cross_entropy")


@pytest.fixture(scope="module")
def digits():
    return make_dataset("digits", n_samples=300, seed=0)


@pytest.fixture
def ctx(digits):
    return make_ctx(DIGITS_SPEC, digits)


@pytest.fixture
def outer(qtbot, ctx):
    from bpviz.gui.classroom.outer_product import OuterProductView

    v = OuterProductView(ctx)
    qtbot.addWidget(v)
    return v


@pytest.fixture
def equations(qtbot, ctx):
    from bpviz.gui.classroom.equations import EquationsView

    v = EquationsView(ctx)
    qtbot.addWidget(v)
    v.resize(1100, 700)
    return v


def _loop_partial(delta, a_prev, k, scale):
    """The per-sample loop, written out: Σ_{j<k} scale · outer(δ_j, a_j)."""
    S = np.zeros((delta.shape[1], a_prev.shape[1]))
    for j in range(k):
        S += scale * np.outer(delta[j].astype(np.float64), a_prev[j].astype(np.float64))
    return S


# ------------------------------------------------------------------ outer product
@pytest.mark.parametrize("layer", [0, 1])
def test_running_sum_equals_loop_partial_sums_and_dW_at_K(outer, ctx, layer):
    outer.set_layer(layer)
    ly = ctx.latest_snapshot().step.backprop.layers[layer]
    K = ly.delta.shape[0]
    assert outer.K() == K == 32
    assert outer.scale() == pytest.approx(1 / K)          # the engine's mean reduction
    for k in (1, 2, 7, 31):
        outer.set_k(k)
        want = _loop_partial(ly.delta, ly.a_prev, k, 1 / K)
        np.testing.assert_allclose(outer.heatmaps["running"].matrix(), want, rtol=1e-5,
                                   atol=1e-7)
        np.testing.assert_allclose(outer.heatmaps["outer"].matrix(),
                                   np.outer(ly.delta[k - 1], ly.a_prev[k - 1]) / K,
                                   rtol=1e-5, atol=1e-8)
        assert outer.max_difference() > 1e-4             # not there yet
    outer.set_k(K)
    np.testing.assert_allclose(outer.heatmaps["running"].matrix(), ly.dW, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(outer.heatmaps["vectorized"].matrix(), ly.dW)
    assert outer.max_difference() < 1e-6 * max(1.0, float(np.abs(ly.dW).max()))
    assert np.abs(outer.heatmaps["difference"].matrix()).max() < 1e-6
    assert "≈ 0" in outer.diff_label.text()
    assert "1/K" in outer.heatmaps["vectorized"].title()


def _coloured_pixels(widget) -> int:
    """Pixels of a rendered widget that are clearly red or blue (not grey/white/black)."""
    img = widget.grab().toImage()
    return sum(abs(img.pixelColor(x, y).red() - img.pixelColor(x, y).blue()) > 60
               for y in range(0, img.height(), 3) for x in range(0, img.width(), 3))


def test_sum_vectorized_and_difference_share_one_colour_scale(outer, ctx):
    outer.set_layer(1)
    ly = ctx.latest_snapshot().step.backprop.layers[1]
    outer.set_k(5)
    big = max(np.abs(ly.dW).max(), np.abs(outer.heatmaps["running"].matrix()).max())
    outer.resize(900, 600)
    outer.show()
    for name in ("running", "vectorized"):                  # drawn: red and blue pixels
        assert _coloured_pixels(outer.heatmaps[name]) > 20, name
    bar = outer.heatmaps["difference"].colorbar()
    assert bar.scale() == pytest.approx(big, rel=1e-5)
    outer.set_k(32)                                  # difference ≈ 0: the neutral colour
    img = np.asarray(outer.heatmaps["difference"].image()[..., :3]).astype(int)
    assert np.ptp(img.reshape(-1, img.shape[-1]), axis=0).max() <= 3   # the two mid entries


def test_sum_reduction_has_no_1_over_K(qtbot, digits):
    from bpviz.gui.classroom.outer_product import OuterProductView

    spec = NetworkSpec(64, DIGITS_SPEC.layers, loss="cross_entropy", reduction="sum")
    c = make_ctx(spec, digits, batch_size=16)
    v = OuterProductView(c)
    qtbot.addWidget(v)
    ly = c.latest_snapshot().step.backprop.layers[1]
    assert v.scale() == 1.0
    v.set_k(5)
    np.testing.assert_allclose(v.heatmaps["running"].matrix(),
                               _loop_partial(ly.delta, ly.a_prev, 5, 1.0), rtol=1e-5, atol=1e-6)
    v.set_k(16)
    np.testing.assert_allclose(v.heatmaps["running"].matrix(), ly.dW, rtol=1e-5, atol=1e-6)
    assert "1/K" not in v.heatmaps["vectorized"].title()


def test_outer_product_in_out_notation_is_transposed(outer, ctx):
    outer.set_layer(1)
    ly = ctx.latest_snapshot().step.backprop.layers[1]
    ctx.set_notation("in_out")
    outer.set_k(3)
    assert outer.heatmaps["outer"].matrix().shape == (32, 10)       # n×m: a_kᵀ δ_k
    np.testing.assert_allclose(outer.heatmaps["running"].matrix(),
                               _loop_partial(ly.delta, ly.a_prev, 3, 1 / 32).T,
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(outer.heatmaps["vectorized"].matrix(), ly.dW.T)
    assert "aᵀ" in outer.heatmaps["outer"].title() or "a¹ₖᵀ" in outer.heatmaps["outer"].title()
    assert outer.heatmaps["delta"].matrix().shape == (32, 10)      # δ is not transposed


def test_freeze_keeps_the_batch_and_play_reaches_K(qtbot, outer, ctx, monkeypatch):
    import bpviz.gui.classroom.outer_product as op

    outer.set_layer(1)
    old = ctx.latest_snapshot().step.backprop.layers[1].dW
    outer.freeze_box.setChecked(True)
    outer.show_snapshot(ctx.advance())
    np.testing.assert_array_equal(outer.heatmaps["vectorized"].matrix(), old)
    outer.freeze_box.setChecked(False)                  # takes the latest batch again
    np.testing.assert_array_equal(outer.heatmaps["vectorized"].matrix(),
                                  ctx.latest_snapshot().step.backprop.layers[1].dW)
    monkeypatch.setattr(op, "SWEEP_MS", 100)
    monkeypatch.setattr(op, "MIN_FRAME_MS", 1)
    outer.set_k(1)
    outer.play()
    assert outer.freeze_box.isChecked()                 # playing freezes the batch
    qtbot.waitUntil(lambda: outer.k() == 32, timeout=5000)
    qtbot.waitUntil(lambda: not outer.timer.isActive(), timeout=2000)
    assert outer.max_difference() < 1e-6


def test_outer_product_follows_a_layer_edit(outer, ctx, digits):
    new = NetworkSpec(64, (LayerSpec(16, "relu"), LayerSpec(10, "softmax")),
                      loss="cross_entropy")
    ctx.specChanged.emit(new)
    assert outer.layer_box.count() == 2
    assert "10×16" in outer.layer_box.itemText(1)
    assert outer.K() == 0                               # the old batch no longer fits
    outer.show_snapshot(make_ctx(new, digits).latest_snapshot())
    assert outer.heatmaps["vectorized"].matrix().shape == (10, 16)


# ------------------------------------------------------------------ equations
def test_equations_show_the_live_shapes(equations):
    t = equations.text()
    assert "z² = a¹ W²ᵀ + b²  :  (32×10) = (32×32)(32×10) + (1×10)" in t
    assert "dW² = (1/K) δ²ᵀ a¹  :  (10×32) = (1/32)(10×32)(32×32)" in t
    assert "δ² = a² − y" in t                           # softmax + cross-entropy
    assert "δ¹ = (δ² W²) ⊙ tanh'(z¹)" in t
    assert "db² = (1/K) Σₖ δ²ₖ  :  (1×10) = (1/32) colsum(32×10)" in t
    html = equations.browser.toHtml()
    assert 'href="sym:delta:1"' in html and 'href="sym:dW:1"' in html
    equations.set_layer(0)
    assert "z¹ = a⁰ W¹ᵀ + b¹  :  (32×32) = (32×64)(64×32) + (1×32)" in equations.text()


def test_equations_follow_a_layer_edit(equations, ctx):
    new = NetworkSpec(64, (LayerSpec(20, "relu"), LayerSpec(12, "sigmoid"),
                           LayerSpec(10, "identity")), loss="squared_error")
    ctx.specChanged.emit(new)
    assert equations.layer_box.count() == 3
    equations.set_layer(2)
    t = equations.text()
    assert "z³ = a² W³ᵀ + b³  :  (32×10) = (32×12)(12×10) + (1×10)" in t
    assert "δ³ = a³ − y" in t                           # identity + ½Σ(a−y)²: f' = 1
    equations.set_layer(1)
    t = equations.text()
    assert "δ² = (δ³ W³) ⊙ sigmoid'(z²)  :  (32×12) = ((32×10)(10×12)) ⊙ (32×12)" in t
    sq = NetworkSpec(64, (LayerSpec(20, "tanh"), LayerSpec(10, "sigmoid")),
                     loss="squared_error", reduction="sum")
    ctx.specChanged.emit(sq)
    equations.set_layer(1)
    t = equations.text()
    assert "δ² = (a² − y) ⊙ sigmoid'(z²)" in t
    assert "dW² = δ²ᵀ a¹  :  (10×20) = (10×32)(32×20)" in t   # "sum": no 1/K


def test_notation_switch_transposes_W_and_dW(equations, ctx):
    assert nt.display_shape("W", (10, 32), "in_out") == (32, 10)
    assert nt.display_shape("dW", (10, 32), "in_out") == (32, 10)
    assert nt.display_shape("delta", (32, 10), "in_out") == (32, 10)
    assert nt.display_shape("W", (10, 32), "out_in") == (10, 32)
    M = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(nt.display_matrix("dW", M, "in_out"), M.T)
    np.testing.assert_array_equal(nt.display_matrix("a", M, "in_out"), M)
    assert nt.title("W", 1, nt.display_shape("W", (10, 32), "in_out"), "in_out") \
        == "W² (in×out) — 32×10"
    assert nt.axis_labels("dW", "in_out") == ("input j", "neuron i")
    assert nt.axis_labels("dW", "out_in") == ("neuron i", "input j")
    # the switch in the view goes through the controller and comes back
    equations.notation_buttons["in_out"].click()
    assert ctx.notation == "in_out" and equations.notation == "in_out"
    t = equations.text()
    assert "z² = a¹ W² + b²  :  (32×10) = (32×32)(32×10) + (1×10)" in t
    assert "dW² = (1/K) a¹ᵀ δ²  :  (32×10) = (1/32)(32×32)(32×10)" in t
    assert "δ¹ = (δ² W²ᵀ) ⊙ tanh'(z¹)  :  (32×32) = ((32×10)(10×32)) ⊙ (32×32)" in t
    ctx.set_notation("out_in")
    assert equations.notation_buttons["out_in"].isChecked()
    assert "dW² = (1/K) δ²ᵀ a¹" in equations.text()


def test_one_notation_module_answers_every_view():
    """Symbols, shape texts, axis labels and phase texts come from bpviz.gui.notation."""
    assert nt.shape_text((10,)) == "1×10" and nt.shape_text((32, 8)) == "32×8"
    assert nt.display_shape("db", (10,), "in_out") == (1, 10)
    assert nt.symbol("a", 0) == "a⁰" and nt.symbol("a", 2) == "a²"    # "a" = the layer's input
    assert nt.title("delta", 1, (32, 8)) == "δ² — 32×8"
    assert nt.title("dW", 0, (8, 2)) == "dW¹ = δᵀa/K — 8×2"
    assert nt.title("dW", 0, (2, 8), "in_out", reduction="sum") == "dW¹ = aᵀδ — 2×8"
    assert nt.title("W", 0, (8, 2)) == "W¹ (out×in) — 8×2"
    assert nt.title("W", 2, (8, 8), owner=1) == "W³ = W² (tied) — 8×8"
    assert nt.title("a", 0, (32, 2)) == "a⁰ = X — 32×2"
    assert nt.axis_labels("a") == ("sample k", "input j")
    assert nt.sup(10) == "¹⁰" and nt.sub("k") == "ₖ"
    assert nt.phase_chip("delta", 0) == "δ¹" and nt.phase_chip("update", -1) == "W,b ←"
    assert nt.phase_heatmap("a", 0, 2) == ("a", 1)        # a¹ is the input of layer 2
    assert nt.phase_heatmap("a", 1, 2) is None and nt.phase_heatmap("loss", 1, 2) is None
    spec = NetworkSpec(4, (LayerSpec(5, "tanh"), LayerSpec(3, "tanh"),
                           LayerSpec(2, "sigmoid")), loss="squared_error", reduction="sum")
    assert nt.phase_name("delta", 2, spec) == "output error δ³"
    assert nt.phase_name("delta", 0, spec) == "backward δ¹"
    assert nt.phase_equation("z", 1, spec) == "z² = a¹ W²ᵀ + b²"
    assert nt.phase_equation("z", 1, spec, "in_out") == "z² = a¹ W² + b²"
    assert nt.phase_equation("delta", 2, spec) == "δ³ = (a³ − y) ⊙ f'(z³)"
    assert nt.phase_equation("delta", 0, spec) == "δ¹ = (δ² W²) ⊙ f'(z¹)"
    assert nt.phase_equation("delta", 0, spec, "in_out") == "δ¹ = (δ² W²ᵀ) ⊙ f'(z¹)"
    assert nt.phase_equation("dW", 0, spec) == "dW¹ = δ¹ᵀ a⁰"          # "sum": no 1/K
    assert nt.phase_equation("dW", 0, spec, "in_out") == "dW¹ = a⁰ᵀ δ¹"
    mean = NetworkSpec(4, spec.layers[:2] + (LayerSpec(2, "softmax"),), loss="cross_entropy")
    assert nt.phase_equation("delta", 2, mean) == "δ³ = a³ − y"
    assert nt.phase_equation("dW", 2, mean) == "dW³ = (1/K) δ³ᵀ a²"
    with pytest.raises(ValueError):
        nt.symbol("x", 0)


def test_clicking_a_symbol_emits_highlightRequested(qtbot, equations, ctx):
    equations.show()
    qtbot.waitExposed(equations)
    doc = equations.browser.document()
    cur = doc.find("δ²ᵀ")                               # the δ²ᵀ of dW² = (1/K) δ²ᵀ a¹
    assert not cur.isNull()
    cur.setPosition(cur.selectionStart() + 1)
    cur.clearSelection()
    equations.browser.setTextCursor(cur)
    equations.browser.ensureCursorVisible()
    rect = equations.browser.cursorRect(QTextCursor(cur))
    with qtbot.waitSignal(ctx.highlightRequested, timeout=2000) as sig:
        qtbot.mouseClick(equations.browser.viewport(), Qt.MouseButton.LeftButton,
                         pos=rect.center())
    assert sig.args == ["delta", 1]
    with qtbot.waitSignal(ctx.highlightRequested) as sig:
        equations.activate_link("sym:W:0")
    assert sig.args == ["W", 0]


def test_presentation_mode_enlarges_the_equations(equations, outer):
    small = equations.browser.toHtml()
    equations.set_presentation(True)
    outer.set_presentation(True)
    assert "30pt" in equations.browser.toHtml() and "30pt" not in small
    assert "22pt" in outer.diff_label.text()
    equations.set_presentation(False)
    assert "16pt" in equations.browser.toHtml()


# ------------------------------------------------------------------ phase stepping
def test_phase_mode_steps_every_phase_and_marks_its_equation(equations, ctx, digits):
    twin = Trainer(Network(DIGITS_SPEC, seed=0), digits, ctx.config)
    for _ in range(3):
        twin.train_step()
    highlights = []
    ctx.highlightRequested.connect(lambda k, l: highlights.append((k, l)))
    equations.set_phase_mode(True)
    assert not equations.phases.isHidden()
    seen = []
    for _ in range(len(phase_plan(DIGITS_SPEC))):
        assert equations.step_phase()
        rec = equations.phases.last
        seen.append((rec.kind, rec.layer))
        assert equations._mark == (rec.kind, rec.layer)
        if rec.kind != "update":
            assert equations.layer() == rec.layer
            assert any(e.key == equations._mark for e in equations.equations)
        if rec.matrix is not None:
            shown = equations.phases.heatmap.matrix()
            assert shown.shape == (rec.matrix.reshape(1, -1) if rec.matrix.ndim == 1
                                   else rec.matrix).shape
    assert seen == list(phase_plan(DIGITS_SPEC))
    assert ("dW", 1) in highlights and ("delta", 0) in highlights and ("a", 1) in highlights
    states = equations.phases.phase_states()
    assert [st for _, st in states] == ["done"] * (len(states) - 1) + ["current"]
    assert states[0][0] == "forward z¹" and states[-1][0] == "update W, b"
    twin.train_step()                                   # one ordinary step on the same batch
    for k in twin.net.params:
        np.testing.assert_array_equal(ctx.trainer.net.params[k], twin.net.params[k])
    html = equations.browser.toHtml()
    assert "▶" in html                                  # the update row is marked


def test_phase_step_is_refused_while_playing(equations, ctx):
    equations.set_phase_mode(True)
    ctx.is_playing = True
    ctx.trainingStateChanged.emit(True)
    assert not equations.phases.step_button.isEnabled()
    assert not equations.step_phase()
    ctx.is_playing = False
    ctx.trainingStateChanged.emit(False)
    assert equations.phases.step_button.isEnabled()
    equations.set_phase_mode(False)
    assert not equations.step_phase()                   # not in the mode: the toolbar steps


def test_phase_mode_offers_the_toolbar_step_to_the_controller(equations, ctx):
    handlers = []
    ctx.set_step_handler = handlers.append               # the hook asked of gui-core
    equations.set_phase_mode(True)
    assert handlers[-1] == equations.step_phase
    assert handlers[-1]() and equations.phases.last.kind == "z"
    equations.set_phase_mode(False)
    assert handlers[-1] is None


def test_finish_batch_runs_to_the_update(equations, ctx):
    equations.set_phase_mode(True)
    equations.step_phase()
    equations.step_phase()
    step0 = ctx.trainer.step
    equations.phases.finish_batch()
    assert equations.phases.last.kind == "update"
    assert ctx.trainer.step == step0 + 1
    states = [st for _, st in equations.phases.phase_states()]
    assert states == ["done"] * (len(states) - 1) + ["current"]
    assert "▶&nbsp;W,b ←" in equations.phases.strip.text()


def test_phase_stepping_on_the_real_worker_thread(qtbot):
    """The real Controller: jobs run on the training thread, results come back queued."""
    from bpviz.gui.classroom.equations import EquationsView
    from bpviz.gui.controller import Controller

    ctx = Controller("phases")
    try:
        twin = Trainer(Network(ctx.spec, seed=ctx.config.seed), ctx.dataset, ctx.config)
        view = EquationsView(ctx)
        qtbot.addWidget(view)
        view.set_phase_mode(True)
        plan = list(phase_plan(ctx.spec))
        seen = []
        for _ in plan:
            assert view.step_phase()
            assert not view.phases.step_button.isEnabled()       # busy until the job is back
            qtbot.waitUntil(lambda: view.phases.can_step(), timeout=20_000)
            seen.append((view.phases.last.kind, view.phases.last.layer))
        assert seen == plan
        twin.train_step()
        weights = ctx.call_on_trainer(lambda tr: tr.net.get_weights())
        for k, W in twin.net.get_weights().items():
            np.testing.assert_array_equal(weights[k], W)
    finally:
        ctx.shutdown()
