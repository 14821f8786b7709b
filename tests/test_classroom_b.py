"""Classroom views B: gradient check, tied weights, lesson panel, presentation mode, export,
the classroom presets and the panel registry."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json  # noqa: E402

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QApplication, QMainWindow, QVBoxLayout, QWidget  # noqa: E402

from bpviz.engine import LayerSpec, Network, NetworkSpec  # noqa: E402
from bpviz.engine.datasets import make_dataset  # noqa: E402
from bpviz.engine.presets import VIEWS, load_preset, preset_names, presets_dir  # noqa: E402
from bpviz.engine.trainer import TrainConfig, Trainer  # noqa: E402
from bpviz.gui import panels as registry  # noqa: E402
from bpviz.gui import presentation  # noqa: E402
from bpviz.gui.classroom.error_map import log_error  # noqa: E402
from bpviz.gui.classroom.gradcheck_view import GradCheckView, fmt_err, verdict  # noqa: E402
from bpviz.gui.classroom.lesson import LessonPanel, lesson_html, pretty_math  # noqa: E402
from bpviz.gui.classroom.tied_view import TiedView, tied_groups  # noqa: E402
from bpviz.gui.views import export  # noqa: E402
from bpviz.gui.views.demo import DemoContext  # noqa: E402

NEW_PRESETS = ("broken-gradient", "notation", "phases", "timing")


def make_ctx(spec: NetworkSpec, data: str = "xor", dtype: str = "float64", batch: int = 8,
             preset=None) -> DemoContext:
    """The stand-in controller over a real trainer; jobs run inline."""
    net = Network(spec, seed=3, dtype=dtype)
    return DemoContext(trainer=Trainer(net, make_dataset(data, seed=0),
                                       TrainConfig(batch_size=batch)), preset=preset)


SMALL = NetworkSpec(2, (LayerSpec(5, "tanh"), LayerSpec(4, "tanh"), LayerSpec(1, "sigmoid")),
                    loss="binary_cross_entropy")
TIED = NetworkSpec(2, (LayerSpec(2, "tanh"), LayerSpec(2, "tanh", tie_to=0),
                       LayerSpec(1, "sigmoid")), loss="binary_cross_entropy")


# ---------------------------------------------------------------- gradient check
def test_gradcheck_passes_and_the_broken_gradient_fails(qtbot):
    ctx = make_ctx(SMALL)
    ctx.advance()
    view = GradCheckView(ctx)
    qtbot.addWidget(view)
    view.run_check()
    ok = view.result()
    assert ok is not None and ok.worst < 1e-6
    assert "agrees to" in view.badge_text()
    view.set_broken(True)                       # the toggle re-runs the check
    bad = view.result()
    assert bad is not ok and bad.worst > 1e-2
    assert view.badge_text().startswith("✗ FAILS")
    errs = bad.max_rel_error
    assert errs["W2"] < 1e-6 and errs["b2"] < 1e-6        # δ of the output needs no f'(z)
    assert errs["W0"] > 1e-2 and errs["W1"] > 1e-2        # every layer below is wrong
    assert "W³" in view.summary.text() and "✗" in view.summary.text()
    view.set_broken(False)
    assert view.result().worst < 1e-6 and ctx.jobs == 3


def test_gradcheck_checks_the_snapshots_mini_batch_and_shows_its_errors(qtbot):
    ctx = make_ctx(SMALL, batch=6)
    snap = ctx.advance(3)
    view = GradCheckView(ctx)
    qtbot.addWidget(view)
    view.run_check()
    idx = snap.step.batch_index
    data = ctx.trainer.data
    expect = ctx.trainer.net.backprop(data.X_train[idx], data.y_train[idx])
    res = view.result()
    for key, g in expect.grads.items():
        np.testing.assert_allclose(res.analytic[key], g, rtol=1e-10, atol=1e-14)
    assert view._run.batch_size == 6
    # the map shows log10 of layer 1's W errors, m×n; in_out shows the transpose
    np.testing.assert_array_equal(view.map.matrix(), log_error(res.rel_error["W0"]))
    assert view.map.matrix().shape == (5, 2)
    view.set_notation("in_out")
    assert view.map.matrix().shape == (2, 5)
    view.layer_box.setCurrentIndex(1)
    assert view.map.matrix().shape == (5, 4)


def test_gradcheck_errors_and_reset_do_not_crash(qtbot):
    ctx = make_ctx(SMALL)
    view = GradCheckView(ctx)
    qtbot.addWidget(view)
    view.ctx.run_on_trainer = lambda job, done, error=None: error("no trainer")
    view.run_check()
    assert "could not run" in view.badge_text() and view.run_button.isEnabled()
    view.clear()
    assert view.result() is None


def test_gradcheck_runs_on_the_real_worker_thread(qtbot):
    from bpviz.gui.controller import Controller

    ctx = Controller("gradcheck")
    try:
        view = GradCheckView(ctx)
        qtbot.addWidget(view)
        view.run_check()
        assert not view.run_button.isEnabled()          # running, the GUI thread is free
        qtbot.waitUntil(lambda: view.result() is not None, timeout=20_000)
        assert view.result().passed() and view.run_button.isEnabled()
    finally:
        ctx.shutdown()


def test_big_layers_are_sampled_to_fit_the_time_budget(qtbot):
    from bpviz.gui.classroom.gradcheck_view import MIN_ENTRIES, gradcheck_job

    big = NetworkSpec(2, (LayerSpec(64, "tanh"), LayerSpec(64, "tanh"), LayerSpec(1, "sigmoid")),
                      loss="binary_cross_entropy")
    ctx = make_ctx(big)
    run = gradcheck_job(ctx.trainer, None, False, budget_s=0.02)
    n = int(run.check.checked["W1"].sum())
    assert MIN_ENTRIES <= n < 64 * 64 and run.check.passed()
    view = GradCheckView(ctx)
    qtbot.addWidget(view)
    view._on_done(run)
    view.layer_box.setCurrentIndex(1)
    assert "grey = not checked" in view.info.text()


def test_verdict_and_formatting():
    assert verdict(3e-9) == "pass" and verdict(5e-4) == "warn" and verdict(0.87) == "fail"
    assert fmt_err(3e-9) == "3e-9" and fmt_err(4.2e-5) == "4.2e-5" and fmt_err(0.87) == "0.87"
    np.testing.assert_array_equal(log_error(np.array([0.0, 1e-6, 50.0])), [-12.0, -6.0, 0.0])


# ---------------------------------------------------------------- tied weights
def test_tied_view_shows_each_use_and_their_sum(qtbot):
    ctx = make_ctx(TIED, data="moons", dtype="float32")
    view = TiedView(ctx)
    qtbot.addWidget(view)
    view.resize(900, 500)            # cells big enough for their numbers
    view.show()
    qtbot.waitExposed(view)
    snap = ctx.advance(5)
    view.show_snapshot(snap)
    rec = snap.step.backprop
    (g,) = tied_groups(rec)
    assert g.owner == 0 and g.users == (0, 1)
    assert view.stack.currentIndex() == 1
    uses = [hm.matrix() for hm in view.heatmaps]
    np.testing.assert_array_equal(uses[0], rec.layers[0].dW)
    np.testing.assert_array_equal(uses[1], rec.layers[1].dW)
    np.testing.assert_array_equal(view.sum_map.matrix(), rec.grads["W0"])
    np.testing.assert_allclose(uses[0] + uses[1], view.sum_map.matrix(), rtol=1e-5, atol=1e-7)
    assert g.check() < 1e-6
    assert [hm.title() for hm in view.heatmaps] == ["use 1: dW from layer 1",
                                                     "use 2: dW from layer 2"]
    assert view.sum_map.title() == "sum = what the update uses"
    assert "max |sum − Σ uses|" in view.check_label.text()
    assert "δ¹ᵀ a⁰" in view.equation.text() and "δ²ᵀ a¹" in view.equation.text()
    # each 2×2 matrix carries its numbers (value / 10^k, one k for all), one per cell
    qtbot.waitUntil(lambda: all(hm.numbers_shown() for hm in (*view.heatmaps, view.sum_map)))
    texts = [hm.graphics_view().cell_texts() for hm in (*view.heatmaps, view.sum_map)]
    assert all(len(t) == 4 for t in texts)
    nums = [np.array([float(x.replace("−", "-")) for x in t]).reshape(2, 2) for t in texts]
    np.testing.assert_allclose(nums[0] + nums[1], nums[2], atol=0.1)  # 2-3 digits each
    # one power of ten for all, in every title and on the colour bar alike
    e = view.sum_map.power_of_ten()
    assert {hm.power_of_ten() for hm in view.heatmaps} == {e}
    np.testing.assert_allclose(nums[2] * 10.0 ** e, view.sum_map.matrix(),
                               atol=0.051 * 10.0 ** e)
    view.param_b.setChecked(True)                        # the biases
    np.testing.assert_array_equal(view.sum_map.matrix(), rec.grads["b0"][None, :])
    np.testing.assert_allclose(view.heatmaps[0].matrix() + view.heatmaps[1].matrix(),
                               view.sum_map.matrix(), rtol=1e-5, atol=1e-7)
    view.param_W.setChecked(True)
    view.set_notation("in_out")                          # W and dW shown transposed
    np.testing.assert_array_equal(view.heatmaps[1].matrix(), rec.layers[1].dW.T)
    assert "a¹ᵀ δ²" in view.equation.text()


def test_tied_view_says_how_to_get_tied_layers(qtbot):
    ctx = make_ctx(SMALL)
    view = TiedView(ctx)
    qtbot.addWidget(view)
    view.show_snapshot(ctx.advance())
    assert view.stack.currentIndex() == 0
    text = view.message.text()
    assert "no tied layers" in text and "tied” preset" in text and "tie to" in text
    view.set_spec(TIED)
    assert view.stack.currentIndex() == 1


# ---------------------------------------------------------------- lesson
def test_lesson_panel_shows_and_follows_the_preset(qtbot):
    tied = load_preset("tied")
    ctx = make_ctx(SMALL, preset=tied)
    panel = LessonPanel(ctx)
    qtbot.addWidget(panel)
    assert tied.title in panel.text() and "What to watch" in panel.text()
    assert "the gradient of reused weights is the sum" in " ".join(panel.text().split())
    gc = load_preset("gradcheck")
    ctx.presetChanged.emit(gc)
    assert panel.preset() is gc and gc.title in panel.text()
    ctx.presetChanged.emit(None)
    assert "No lesson loaded" in panel.text()


def test_lesson_markup():
    html = lesson_html("Intro line\nsecond line.\n\nWhat to watch\n- one\n  more\n- *two*")
    assert "<h3>What to watch</h3>" in html
    assert "<li>one more</li>" in html and "<li><i>two</i></li>" in html
    assert "<p>Intro line second line.</p>" in html
    assert pretty_math("dW1 is 8x2: delta1^T a0") == "dW¹ is 8×2: δ¹ᵀ a⁰"
    assert pretty_math("m x K, delta_k^T a_k, tie_to = 0") == "m × K, δₖᵀ aₖ, tie_to = 0"
    assert "&lt;b&gt;" in lesson_html("<b>")             # text, never markup


# ---------------------------------------------------------------- presentation mode
def test_presentation_mode_enlarges_and_restores(qtbot):
    app = QApplication.instance()
    font0 = app.font()
    win = QMainWindow()
    central = QWidget()
    lay = QVBoxLayout(central)
    plot = pg.PlotWidget()
    plot.setLabel("left", "loss")
    curve = plot.plot([0, 1, 2], [2, 1, 0.5], pen=pg.mkPen("b", width=1))
    ctx = make_ctx(SMALL)
    view = GradCheckView(ctx)
    lay.addWidget(plot)
    lay.addWidget(view)
    win.setCentralWidget(central)
    qtbot.addWidget(win)
    axis = plot.getPlotItem().getAxis("left")
    tick0 = axis.style.get("tickFont")
    badge0 = view.badge.font().pointSizeF()
    try:
        presentation.apply_presentation(win, True)
        assert presentation.is_presentation(win)
        assert app.font().pointSizeF() == pytest.approx(font0.pointSizeF() * 1.8)
        assert axis.style["tickFont"].pointSize() == presentation.TICK_PT
        assert f"{presentation.LABEL_PT}pt" in axis.labelStyle["font-size"]
        assert curve.opts["pen"].widthF() >= 3
        assert view.badge.font().pointSizeF() > 1.5 * badge0
        assert view.auto_box.isHidden() and view._presentation
        presentation.apply_presentation(win, True)      # twice: nothing more
        assert app.font().pointSizeF() == pytest.approx(font0.pointSizeF() * 1.8)
    finally:
        presentation.apply_presentation(win, False)
    assert not presentation.is_presentation(win)
    assert app.font() == font0
    assert axis.style.get("tickFont") == tick0
    assert curve.opts["pen"].widthF() == 1
    assert view.badge.font().pointSizeF() == pytest.approx(badge0)
    assert not view.auto_box.isHidden() and not view._presentation


# ---------------------------------------------------------------- export
def _non_blank(path) -> bool:
    img = QImage(str(path))
    if img.isNull():
        return False
    colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
    return len(colours) > 10


def test_export_panels_and_matrices(qtbot, tmp_path):
    ctx = make_ctx(TIED, data="moons", dtype="float32")
    gc, tied = GradCheckView(ctx), TiedView(ctx)
    for w in (gc, tied):
        qtbot.addWidget(w)
        w.resize(900, 500)
        w.show()
    tied.show_snapshot(ctx.advance(3))
    gc.run_check()
    for w, name in ((gc, "gradcheck"), (tied, "tied")):
        png = export.export_widget(w, tmp_path / f"{name}.png")
        assert png.stat().st_size > 1000 and _non_blank(png)
        mats = w.export_matrices()
        assert mats
        for i, M in enumerate(mats.values()):
            for ext in ("csv", "npy"):
                back = export.load_matrix(export.save_matrix(M, tmp_path / f"{name}{i}.{ext}"))
                np.testing.assert_allclose(back, np.atleast_2d(M) if ext == "csv" else M,
                                           rtol=1e-8, atol=0)
        texts = [a.text() for a in w.panel_menu().actions()]
        assert any("PNG/SVG" in t for t in texts)
    assert tied.export_matrices()["sum = what the update uses"] is tied.sum_map.matrix()
    text = export.copy_matrix(tied.sum_map.matrix())
    assert QApplication.clipboard().text() == text


def test_panels_export_as_svg(qtbot, tmp_path):
    ctx = make_ctx(SMALL)
    view = GradCheckView(ctx)
    qtbot.addWidget(view)
    view.resize(800, 500)
    view.run_check()
    svg = export.export_widget(view, tmp_path / "gradcheck.svg")
    text = svg.read_text(encoding="utf-8")
    assert "<svg" in text[:2000] and ("<image" in text or "<path" in text)


# ---------------------------------------------------------------- presets and registry
@pytest.mark.parametrize("name", preset_names())
def test_every_preset_file_loads(name):
    p = load_preset(name)
    assert p.lesson.strip() and p.title and set(p.views) <= set(VIEWS)
    assert (presets_dir() / f"{name}.json").is_file()


@pytest.mark.parametrize("name", NEW_PRESETS)
def test_new_presets_train(name):
    p = load_preset(name)
    ds = p.data.load()
    tr = Trainer(Network(p.spec, seed=p.train.seed), ds, p.train)
    w0 = tr.net.get_weights()
    recs = list(tr.run(steps=5))
    assert len(recs) == 5 and all(np.isfinite(r.loss) and not r.diverged for r in recs)
    assert any(not np.array_equal(w0[k], v) for k, v in tr.net.get_weights().items())


def test_every_classroom_view_has_a_preset_and_presets_json_lists_tied(capsys):
    from bpviz.cli import main

    views = {v for n in preset_names() for v in load_preset(n).views}
    assert {"outer-product", "equations", "gradcheck", "tied", "timing"} <= views
    assert main(["presets", "--json"]) == 0
    listed = [p["name"] for p in json.loads(capsys.readouterr().out)]
    assert len(listed) >= 6 and "tied" in listed and set(NEW_PRESETS) <= set(listed)


def test_panels_are_registered(qtbot):
    names = registry.panel_names()
    assert {"gradcheck", "tied", "lesson"} <= set(names)
    ctx = make_ctx(SMALL, preset=load_preset("xor"))
    for name, cls in (("gradcheck", GradCheckView), ("tied", TiedView), ("lesson", LessonPanel)):
        w = registry.panel(name).factory(ctx)
        qtbot.addWidget(w)
        assert isinstance(w, cls)
