"""The live views with real engine snapshots and a stand-in controller (DemoContext)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bpviz.engine import LayerSpec, Network, NetworkSpec  # noqa: E402
from bpviz.engine.records import StepRecord  # noqa: E402
from bpviz.engine.trainer import TrainConfig, Trainer  # noqa: E402
from bpviz.gui.snapshot import Snapshot  # noqa: E402
from bpviz.gui.views.compare import ComparePanel, fmt_diff, fmt_ms, fmt_speedup  # noqa: E402
from bpviz.gui.views.data_view import DataView, boundary_rgb, class_probabilities  # noqa: E402
from bpviz.gui.views.demo import DemoContext, demo_run  # noqa: E402
from bpviz.gui.views.health import GradientHealthPlot  # noqa: E402
from bpviz.gui.views.loss_plot import TEST_EVAL, TRAIN_BATCH, LossPlot  # noqa: E402
from bpviz.gui.views.matrices import ALL_LAYERS, MatrixPanel  # noqa: E402
from bpviz.gui.views.series import DecimatedSeries  # noqa: E402

F32 = np.float32


@pytest.fixture(scope="module")
def digits():
    return demo_run("digits", steps=12, frames=2, compare=True)


@pytest.fixture(scope="module")
def xor():
    return demo_run("xor", steps=12, frames=2, compare=False)


def _fresh_ctx(run) -> DemoContext:
    ctx = DemoContext(run.ctx.spec, run.ctx.dataset, run.ctx.config)
    ctx._snap = run.snapshots[-1]
    return ctx


@pytest.fixture
def panel(qtbot, digits):
    p = MatrixPanel(_fresh_ctx(digits))
    qtbot.addWidget(p)
    p.resize(1400, 800)
    p.show()
    qtbot.waitExposed(p)
    p.show_snapshot(digits.snapshots[-1])
    return p


# ------------------------------------------------------------------ matrices panel
def test_heatmaps_equal_the_engine_record(panel, digits):
    step = digits.snapshots[-1].step
    bp, W = step.backprop, step.weights
    assert panel.layer() == ALL_LAYERS and len(panel.shown()) == 2 * 5
    for i, ly in enumerate(bp.layers):
        expect = {"a": ly.a_prev, "delta": ly.delta, "dW": ly.dW, "W": W[f"W{ly.owner}"],
                  "db": ly.db.reshape(1, -1)}
        for kind, M in expect.items():
            hm = panel.heatmap(kind, i)
            assert hm.matrix().dtype == F32
            np.testing.assert_array_equal(hm.matrix(), M.astype(F32), err_msg=f"{kind}{i}")


def test_titles_and_labels_with_live_shapes(panel, digits):
    K = digits.snapshots[-1].step.batch_size
    assert panel.heatmap("delta", 0).title() == f"δ¹ — {K}×32"
    assert panel.heatmap("a", 0).title() == f"a⁰ = X — {K}×64"
    assert panel.heatmap("a", 1).title() == f"a¹ — {K}×32"
    assert panel.heatmap("dW", 1).title() == "dW² = δᵀa/K — 10×32"
    assert panel.heatmap("W", 1).title() == "W² (out×in) — 10×32"
    assert panel.heatmap("db", 1).title() == "db² — 1×10"
    assert panel.heatmap("a", 0).labels() == ("sample k", "input j")
    assert panel.heatmap("delta", 1).labels() == ("sample k", "neuron i")
    assert panel.heatmap("dW", 0).labels() == ("neuron i", "input j")


def test_notation_in_out_transposes_w_and_dw_only(panel, digits):
    step = digits.snapshots[-1].step
    ly = step.backprop.layers[0]
    panel._ctx.set_notation("in_out")  # the panel follows the context's signal itself
    np.testing.assert_array_equal(panel.heatmap("W", 0).matrix(), step.weights["W0"].T)
    np.testing.assert_array_equal(panel.heatmap("dW", 0).matrix(), ly.dW.T)
    np.testing.assert_array_equal(panel.heatmap("a", 0).matrix(), ly.a_prev)
    np.testing.assert_array_equal(panel.heatmap("delta", 0).matrix(), ly.delta)
    assert panel.heatmap("W", 0).title() == "W¹ (in×out) — 64×32"
    assert panel.heatmap("dW", 0).title() == "dW¹ = aᵀδ/K — 64×32"
    assert panel.heatmap("dW", 0).labels() == ("input j", "neuron i")
    panel._ctx.set_notation("out_in")  # through the controller's signal
    assert panel.notation() == "out_in"
    assert panel.heatmap("W", 0).title() == "W¹ (out×in) — 32×64"
    np.testing.assert_array_equal(panel.heatmap("W", 0).matrix(), step.weights["W0"])


def test_titles_follow_a_spec_change(panel, digits):
    ctx = panel._ctx
    K = digits.snapshots[-1].step.batch_size
    new = NetworkSpec(64, (LayerSpec(16, "relu"), LayerSpec(12, "tanh"), LayerSpec(10, "softmax")),
                      loss="cross_entropy")
    ctx.set_spec(new)
    assert [panel._layer_box.itemText(i) for i in range(panel._layer_box.count())][-1] \
        == "All layers"
    assert panel._layer_box.count() == 4
    assert panel.heatmap("delta", 0).title() == f"δ¹ — {K}×16"
    assert panel.heatmap("W", 1).title() == "W² (out×in) — 12×16"
    assert panel.heatmap("db", 2).title() == "db³ — 1×10"
    tr = Trainer(Network(new, seed=1), digits.ctx.dataset, TrainConfig(batch_size=20))
    tr.request_matrices()
    snap = Snapshot(tr.train_step())
    panel.show_snapshot(snap)
    assert panel.heatmap("delta", 1).title() == "δ² — 20×12"
    assert panel.heatmap("a", 2).matrix().shape == (20, 12)


def test_one_layer_mode_and_kind_checkboxes(panel):
    panel.set_layer(1)
    assert panel.shown() == [(k, 1) for k in ("a", "delta", "dW", "W", "db")]
    panel._checks["z"].setChecked(True)
    panel._checks["W"].setChecked(False)
    assert panel.shown() == [(k, 1) for k in ("a", "delta", "z", "dW", "db")]
    assert panel.heatmap("z", 1).title().startswith("z² — ")
    panel.set_layer(ALL_LAYERS)
    assert len(panel.shown()) == 10


def test_scale_mode_applies_to_every_heatmap(panel):
    panel._scale_box.setCurrentIndex(panel._scale_box.findData("locked"))
    assert all(panel.heatmap(*k).scale_mode() == "locked" for k in panel.shown())
    assert panel._relock_btn.isEnabled()
    panel.set_scale_mode("smooth")
    assert all(panel.heatmap(*k).scale_mode() == "smooth" for k in panel.shown())


def test_row_hover_maps_to_dataset_index(panel, digits, qtbot):
    bi = digits.snapshots[-1].step.batch_index
    hm = panel.heatmap("delta", 1)
    with qtbot.waitSignal(panel.sampleHovered) as sig:
        hm.hover_cell(5, 2)
    assert sig.args == [int(bi[5])]
    # the same row is outlined in every a/δ heatmap
    other = panel.heatmap("a", 0)
    assert [it for it in other.graphics_view()._outlines if it.isVisible()]
    with qtbot.waitSignal(panel.sampleHovered) as sig:
        hm.hover_cell(-1, -1)
    assert sig.args == [-1]


def test_hover_readouts_count_from_1(panel, digits, qtbot):
    """Row k = 6 of δ² reads "sample k = 6"; the data view names that sample 1-based."""
    dv = DataView(panel._ctx)
    qtbot.addWidget(dv)
    panel.sampleHovered.connect(dv.highlight_sample)     # as the main window links them
    bi = digits.snapshots[-1].step.batch_index
    text = panel.heatmap("delta", 1).hover_cell(5, 2)
    assert text.startswith("k = 6, i = 3:")
    assert dv.highlighted() == int(bi[5])
    assert dv._sample_text.text().startswith(f"training sample #{int(bi[5]) + 1}\n")
    text = panel.heatmap("dW", 1).hover_cell(0, 0)
    assert text.startswith("i = 1, j = 1:")


def test_highlight_request_flashes_heatmap(panel, qtbot):
    panel.set_layer(0)
    panel._ctx.request_highlight("dW", 1)  # as the equations view does
    assert panel.layer() == 1
    assert panel.heatmap("dW", 1).is_highlighted()
    qtbot.waitUntil(lambda: not panel.heatmap("dW", 1).is_highlighted(), timeout=4000)
    panel.highlight("z", 0)
    assert "z" in panel.kinds() and panel.heatmap("z", 0).is_highlighted()
    panel.highlight("a", 99)  # out of range: ignored


def test_hidden_panel_draws_on_show(qtbot, digits):
    p = MatrixPanel(_fresh_ctx(digits))
    qtbot.addWidget(p)
    snap = digits.snapshots[-1]
    p.show_snapshot(snap)  # hidden: kept, not drawn
    assert p.heatmap("a", 0).matrix().shape == (1, 1)
    p.show()
    qtbot.waitUntil(lambda: p.heatmap("a", 0).matrix().shape == snap.step.backprop.layers[0]
                    .a_prev.shape, timeout=2000)


def test_tied_layer_shows_owner_weights(qtbot):
    run = demo_run("tied", steps=3, frames=1, compare=False)
    p = MatrixPanel(_fresh_ctx(run))
    qtbot.addWidget(p)
    p.show()
    p.set_layer(1)  # the tied preset: layer 1 reuses layer 0's W
    p.show_snapshot(run.snapshots[-1])
    step = run.snapshots[-1].step
    assert step.backprop.layers[1].owner == 0
    np.testing.assert_array_equal(p.heatmap("W", 1).matrix(), step.weights["W0"])
    assert p.heatmap("W", 1).title() == "W² = W¹ (tied) — 2×2"


def test_matrix_titles_and_axes_come_from_the_notation_module(panel, digits):
    K = digits.snapshots[-1].step.batch_size
    assert panel.heatmap("a", 0).title() == f"a⁰ = X — {K}×64"
    assert panel.heatmap("a", 1).title() == f"a¹ — {K}×32"          # layer 2's input
    assert panel.heatmap("delta", 1).title() == f"δ² — {K}×10"
    assert panel.heatmap("dW", 0).title() == "dW¹ = δᵀa/K — 32×64"
    assert panel.heatmap("W", 0).title() == "W¹ (out×in) — 32×64"
    assert panel.heatmap("db", 1).title() == "db² — 1×10"
    panel._ctx.set_notation("in_out")                    # the panel follows the signal itself
    assert panel.notation() == "in_out"
    assert panel.heatmap("dW", 0).title() == "dW¹ = aᵀδ/K — 64×32"
    assert panel.heatmap("W", 0).title() == "W¹ (in×out) — 64×32"
    np.testing.assert_array_equal(panel.heatmap("W", 0).matrix(),
                                  digits.snapshots[-1].step.weights["W0"].T)


# ------------------------------------------------------------------ loss plot
def _rec(step: int, loss: float, **kw) -> StepRecord:
    return StepRecord(step, 0, loss, None, 0.1, "vectorized", 8, 0.1, **kw)


def test_loss_plot_downsampling_bounded(qtbot):
    lp = LossPlot(DemoContext(), cap=1024)
    qtbot.addWidget(lp)
    n = 100_000
    recs = [_rec(s, 1.0 / s, test_loss=(1.0 / s if s % 50 == 0 else None))
            for s in range(1, n + 1)]
    lp.add_records(recs)
    lp.flush()
    x, y = lp.curve_data(TRAIN_BATCH)
    assert len(x) <= 1025 and x[-1] == n
    assert lp.series(TRAIN_BATCH).total == n
    shown_x, _ = lp.plot_item().listDataItems()[0].getData()
    assert len(shown_x) <= 1025
    tx, _ = lp.curve_data(TEST_EVAL)
    assert len(tx) <= 1025 and tx[-1] == n
    assert np.all(np.diff(x) > 0)


def test_evaluation_points_are_marked_only_while_few(qtbot):
    """A short run marks each evaluation step; thousands of them are drawn as a line
    (markers would only thicken it, and a scatter plot per redraw costs frames)."""
    from bpviz.gui.views.loss_plot import MARKERS_UP_TO

    lp = LossPlot(DemoContext())
    qtbot.addWidget(lp)
    test_curve = lp._curves[TEST_EVAL]
    few = MARKERS_UP_TO * 10
    lp.add_records([_rec(s, 1.0, test_loss=0.5 if s % 10 == 0 else None)
                    for s in range(1, few + 1)])
    lp.flush()
    assert len(lp.curve_data(TEST_EVAL)[0]) == MARKERS_UP_TO
    assert test_curve.opts["symbol"] == "o"
    assert lp._curves[TRAIN_BATCH].opts["symbol"] is None   # every step: never marked
    lp.add_records([_rec(few + 10, 1.0, test_loss=0.5)])
    lp.flush()
    assert test_curve.opts["symbol"] is None
    assert len(test_curve.getData()[0]) == MARKERS_UP_TO + 1
    lp.show_snapshot(Snapshot(_rec(1, 1.0, test_loss=0.5)))  # step 1 again: a reset
    lp.flush()
    assert test_curve.opts["symbol"] == "o"


def test_loss_plot_from_snapshots_dedupes_and_resets(qtbot, digits):
    lp = LossPlot(DemoContext())
    qtbot.addWidget(lp)
    for s in digits.snapshots:
        lp.show_snapshot(s)
        lp.show_snapshot(s)  # the same records twice are drawn once
    lp.flush()
    x, y = lp.curve_data(TRAIN_BATCH)
    assert list(x) == list(range(1, digits.snapshots[-1].step.step + 1))
    assert y[-1] == pytest.approx(digits.snapshots[-1].step.loss)
    assert "step" in lp.status_text()
    lp.set_log_y(True)
    assert lp.plot_item().ctrl.logYCheck.isChecked()
    early = dataclasses.replace(digits.snapshots[0],
                                step=dataclasses.replace(digits.snapshots[0].step, step=1),
                                history=())
    lp.show_snapshot(early)  # step went backwards: a reset
    lp.flush()
    assert len(lp.curve_data(TRAIN_BATCH)[0]) == 1


def test_decimated_series_keeps_means_and_latest():
    s = DecimatedSeries(cap=8)
    for k in range(1, 101):
        s.append(k, float(k))
    x, y = s.data()
    assert len(x) <= 9 and x[-1] == 100 and y[-1] <= 100
    assert s.stride >= 8
    s.append(101, float("nan"))
    assert s.total == 100
    with pytest.raises(ValueError):
        DecimatedSeries(cap=5)


# ------------------------------------------------------------------ data view
def test_data_view_digits_grid(qtbot, digits):
    dv = DataView(_fresh_ctx(digits))
    qtbot.addWidget(dv)
    dv.resize(700, 500)
    dv.show()
    snap = digits.snapshots[-1]
    dv.show_snapshot(snap)
    grid = dv.digit_grid()
    assert dv.mode() == "images" and grid.visible_count() > 20
    pred = snap.test_output.argmax(axis=1)
    y = digits.ctx.dataset.y_test
    for k in range(grid.visible_count()):
        text, wrong = grid.label(k)
        assert text == f"{pred[k]}/{y[k]}" and wrong == (pred[k] != y[k])
    acc = 100 * np.mean(pred == y)
    assert f"test acc. {acc:.1f}%" in dv.header_text()
    img = grid.grab().toImage()
    assert not img.isNull() and img.pixelColor(img.width() // 8, img.height() // 8).isValid()
    i = int(snap.step.batch_index[0])
    dv.highlight_sample(i)
    assert dv.highlighted() == i and f"#{i + 1}\n" in dv._sample_text.text()   # 1-based
    dv.highlight_sample(-1)
    assert dv.highlighted() == -1


def test_data_view_2d_boundary_and_highlight(qtbot, xor):
    dv = DataView(_fresh_ctx(xor))
    qtbot.addWidget(dv)
    dv.show()
    snap = xor.snapshots[-1]
    dv.show_snapshot(snap)
    assert dv.mode() == "classify2d"
    img = np.asarray(dv.image_item().image)
    G = snap.boundary.shape[0]
    assert img.shape == (G, G, 3) and img.dtype == np.uint8
    ds = xor.ctx.dataset
    dv.highlight_sample(7)
    x, y = dv._ring.getData()
    assert (x[0], y[0]) == tuple(ds.X_train[7])
    dv.highlight_sample(len(ds.X_train) + 5)  # out of range: cleared
    assert dv.highlighted() == -1


def test_class_probabilities_and_colours():
    P = class_probabilities(np.array([[0.0], [1.0], [0.25]]))
    np.testing.assert_allclose(P, [[1, 0], [0, 1], [0.75, 0.25]])
    P = class_probabilities(np.array([[0.2, 0.8, 0.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(P[1], [1 / 3] * 3)
    rgb = boundary_rgb(np.array([[[1.0, 0.0]], [[0.0, 1.0]]]), 2)
    assert rgb.shape == (2, 1, 3) and not np.array_equal(rgb[0, 0], rgb[1, 0])


def test_data_view_regression_and_many_features(qtbot):
    run = demo_run("reg_gauss", steps=3, frames=1, compare=False)
    dv = DataView(_fresh_ctx(run))
    qtbot.addWidget(dv)
    dv.show_snapshot(run.snapshots[-1])
    assert dv.mode() == "regress2d"
    assert np.asarray(dv.image_item().image).shape[-1] == 4  # RGBA from map_signed
    from bpviz.engine.datasets import Dataset

    X = np.zeros((10, 5))
    ds = Dataset("csv", X, np.zeros(10, dtype=np.int64) % 2, X, np.zeros(10, dtype=np.int64), 2)
    dv.set_dataset(ds)
    assert dv.mode() == "none"


# ------------------------------------------------------------------ health, compare
def test_gradient_health_lines_per_layer(qtbot, digits):
    gh = GradientHealthPlot(_fresh_ctx(digits))
    qtbot.addWidget(gh)
    for s in digits.snapshots:
        gh.show_snapshot(s)
    gh.flush()
    assert gh.n_layers() == 2
    last = digits.snapshots[-1].step
    for q in ("dW", "delta"):
        for i in range(2):
            x, y = gh.curve_data(q, i)
            assert x[-1] == last.step and y[-1] == pytest.approx(last.grad_norms[f"{q}{i}"])
    assert gh.plot_item("dW").ctrl.logYCheck.isChecked()


def test_compare_panel_numbers(qtbot, digits):
    cp = ComparePanel(DemoContext())
    qtbot.addWidget(cp)
    snap = digits.snapshots[-1]
    cp.show_snapshot(snap)
    c = snap.comparison
    t = cp.texts()
    assert t["loop"] == fmt_ms(c.loop_ms) and t["vectorized"] == fmt_ms(c.vectorized_ms)
    assert t["speedup"] == fmt_speedup(c.speedup) and t["speedup"].endswith("×")
    assert t["diff"] == fmt_diff(c.max_abs_diff)
    assert "vectorized" in t["method"] and "per backprop" in t["live"]
    cp.clear()
    assert cp.texts()["loop"] == "—"
    assert fmt_ms(0.0123) == "12 µs" and fmt_ms(3.456) == "3.46 ms" and fmt_ms(None) == "—"
    assert fmt_diff(0.0) == "0" and fmt_diff(3.2e-8) == "3.2e−8"


def test_every_view_presentation_and_clear(qtbot, digits):
    ctx = _fresh_ctx(digits)
    views = [MatrixPanel(ctx), LossPlot(ctx), DataView(ctx), GradientHealthPlot(ctx),
             ComparePanel(ctx)]
    for v in views:
        qtbot.addWidget(v)
        v.show()
        v.show_snapshot(digits.snapshots[-1])
        v.set_presentation(True)
        v.show_snapshot(digits.snapshots[-1])
        v.set_presentation(False)
        if hasattr(v, "clear"):
            v.clear()
        assert not v.grab().isNull()


def test_panel_menus_export_picture_and_data(qtbot, digits, tmp_path):
    from bpviz.gui.views import export

    ctx = _fresh_ctx(digits)
    mp, lp, gh = MatrixPanel(ctx), LossPlot(ctx), GradientHealthPlot(ctx)
    views = [mp, lp, gh, DataView(ctx), ComparePanel(ctx)]
    for v in views:
        qtbot.addWidget(v)
        v.show()
        v.show_snapshot(digits.snapshots[-1])
        getattr(v, "flush", lambda: None)()
    for v in views:
        mats = v.export_matrices() if hasattr(v, "export_matrices") else None
        menu = export.panel_menu(v, "p", (lambda m=mats: m) if mats else None)
        texts = [a.text() for a in menu.actions()]
        assert texts[0].startswith("Export panel as picture")
        path = export.export_widget(v, tmp_path / f"{type(v).__name__}.png")
        assert path.stat().st_size > 1000
    mats = mp.export_matrices()
    step = digits.snapshots[-1].step
    np.testing.assert_array_equal(mats["δ²"], step.backprop.layers[1].delta)
    loss = lp.export_matrices()[f"loss {TRAIN_BATCH}"]
    assert loss.shape[1] == 2 and loss[-1, 0] == step.step
    norms = gh.export_matrices()["dW1 norm"]
    assert norms[-1, 1] == pytest.approx(step.grad_norms["dW0"])


# ------------------------------------------------------------------ the panel contract
def _protocol_members(proto: type) -> dict[str, str]:
    """``name -> "signal" | "attribute" | "property" | "method"`` of a Protocol."""
    out = {}
    for name, ann in proto.__annotations__.items():
        out[name] = "signal" if "SignalInstance" in str(ann) else "attribute"
    for name, value in vars(proto).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            out[name] = "property"
        elif callable(value):
            out[name] = "method"
    return out


def _check_context(ctx) -> list[str]:
    """Every member of PanelContext on ``ctx``, with the right kind; the problems found."""
    import inspect

    from PySide6.QtCore import Signal, SignalInstance

    from bpviz.gui.contract import PanelContext

    problems = []
    members = _protocol_members(PanelContext)
    assert {"specChanged", "spec", "is_playing", "run_on_trainer", "set_step_handler",
            "publish_step_record"} <= set(members)
    for name, kind in members.items():
        if not hasattr(ctx, name):
            problems.append(f"{name}: missing")
            continue
        value = getattr(ctx, name)
        if kind == "signal":
            if not (isinstance(getattr(type(ctx), name, None), Signal)
                    and isinstance(value, SignalInstance)):
                problems.append(f"{name}: not a Qt signal")
        elif kind in ("attribute", "property"):
            if callable(value) and not isinstance(value, type):
                problems.append(f"{name}: callable, expected a value")
        else:
            if not callable(value):
                problems.append(f"{name}: not a method")
                continue
            want = list(inspect.signature(getattr(PanelContext, name)).parameters)[1:]
            have = inspect.signature(value).parameters
            for p in want:
                if p not in have and not any(
                        q.kind is inspect.Parameter.VAR_KEYWORD for q in have.values()):
                    problems.append(f"{name}: no parameter {p!r}")
    return problems


def test_the_controller_satisfies_the_panel_contract(qtbot):
    """Every signal, attribute and method of PanelContext exists on the real Controller.

    (``set_step_handler`` and ``publish_step_record`` come with the controller's phase
    stepping; until then this test names them.)"""
    from bpviz.gui.controller import Controller

    ctx = Controller("xor", start=False)
    try:
        assert _check_context(ctx) == []
    finally:
        ctx.shutdown()


def test_the_demo_context_satisfies_the_panel_contract(digits):
    assert _check_context(digits.ctx) == []
    broken = DemoContext()
    broken.set_notation = None                     # a member of the wrong kind is caught
    assert _check_context(broken) == ["set_notation: not a method"]


def test_every_registered_panel_is_a_panel():
    from bpviz.gui import panels as registry
    from bpviz.gui.contract import Panel, PanelMixin

    for info in registry.PANELS:
        cls = registry.panel_class(info)
        assert issubclass(cls, PanelMixin), info.name
        for name in ("show_snapshot", "clear", "set_presentation", "isVisible"):
            assert callable(getattr(cls, name)), (info.name, name)
        draws = cls.show_snapshot is not PanelMixin.show_snapshot
        assert cls.draws_snapshots == draws, info.name
    assert {"show_snapshot", "clear", "set_presentation"} <= set(_protocol_members(Panel))


def test_one_spec_change_runs_each_set_spec_once(qtbot, monkeypatch, tmp_path):
    """The panels connect to specChanged themselves; the window does not forward it again."""
    from collections import Counter

    from PySide6.QtCore import QSettings

    from bpviz.gui import panels as registry
    from bpviz.gui.controller import Controller
    from bpviz.gui.main_window import MainWindow

    calls: Counter[str] = Counter()

    def counting(orig, name):
        def set_spec(self, spec):
            calls[name] += 1
            return orig(self, spec)
        return set_spec

    with_set_spec = []
    for info in registry.PANELS:
        cls = registry.panel_class(info)
        if "set_spec" in vars(cls):
            monkeypatch.setattr(cls, "set_spec", counting(cls.set_spec, info.name))
            with_set_spec.append(info.name)
    assert len(with_set_spec) >= 7
    ctx = Controller("xor", start=False)
    win = MainWindow(ctx, settings=QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat),
                     restore_layout=False, save_layout=False)
    qtbot.addWidget(win)
    try:
        list(win.panels.values())   # every panel built (those out of sight are built lazily)
        calls.clear()
        layers = list(ctx.spec.layers)
        layers[0] = dataclasses.replace(layers[0], units=layers[0].units + 3)
        assert ctx.set_spec(dataclasses.replace(ctx.spec, layers=tuple(layers)))
        assert dict(calls) == {name: 1 for name in with_set_spec}
    finally:
        win.close()
        ctx.shutdown()
