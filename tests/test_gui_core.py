"""The main window, the layer editor, the settings panel, sessions and ``bpviz gui``.

Everything runs offscreen with the real controller and training thread.
Waits are on conditions (qtbot.waitUntil), never on wall-clock speeds.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtGui import QImage, QKeySequence  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from bpviz.engine.spec import MAX_UNITS  # noqa: E402
from bpviz.gui import panels as registry  # noqa: E402
from bpviz.gui.controller import Controller  # noqa: E402
from bpviz.gui.main_window import MainWindow  # noqa: E402

T = 20_000  # ms: generous limit for conditions on a loaded machine


@pytest.fixture
def make_window(qtbot, tmp_path):
    made = []

    def make(preset: str = "circle", settings: QSettings | None = None, restore: bool = False):
        ctx = Controller(preset)
        s = settings or QSettings(str(tmp_path / "bpviz.ini"), QSettings.Format.IniFormat)
        win = MainWindow(ctx, settings=s, restore_layout=restore, save_layout=restore)
        win.errors = []
        win.error_dialog = lambda title, text: win.errors.append(text)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        made.append((ctx, win))
        return ctx, win

    yield make
    for ctx, win in made:
        win.close()
        ctx.shutdown()
        assert not ctx.worker.isRunning()


def wait_snap(qtbot, ctx, pred, timeout=T):
    qtbot.waitUntil(lambda: ctx.latest_snapshot() is not None and pred(ctx.latest_snapshot()),
                    timeout=timeout)
    return ctx.latest_snapshot()


def trainer_spec(ctx):
    return ctx.call_on_trainer(lambda tr: tr.net.spec)


# ---------------------------------------------------------------- window
def test_window_builds_with_every_panel(make_window):
    ctx, win = make_window()
    assert set(registry.panel_names()) <= set(win.docks)
    for name, dock in win.docks.items():
        assert dock.objectName() == name
        panel = win.panels[name]   # (built now if its dock was not shown yet)
        # inside its scroll-area shield
        assert dock.widget().widget().layout().itemAt(0).widget() is panel
    assert "circle" in win.windowTitle()
    assert win.actions_.play.isEnabled() and not ctx.is_playing
    assert win.actions_.play.shortcut() == QKeySequence("Space")
    assert win.actions_.step.shortcut() == QKeySequence("Right")
    assert win.actions_.reset.shortcut() == QKeySequence("R")
    assert win.actions_.save.shortcut() == QKeySequence("Ctrl+S")
    assert win.actions_.open.shortcut() == QKeySequence("Ctrl+O")
    assert win.actions_.fullscreen.shortcut() == QKeySequence("F11")


def test_panels_out_of_sight_are_built_when_first_shown(make_window, qtbot):
    """The default layout's panels are built at start-up; the others (eight of them)
    when their dock is first shown, with the step every other view shows."""
    ctx, win = make_window()
    for info in registry.PANELS:
        if info.visible_by_default:
            assert win.panels.is_built(info.name), info.name
    assert not win.panels.is_built("graph") and not win.panels.is_built("explain")
    snap = wait_snap(qtbot, ctx, lambda s: s.step.backprop is not None)
    win.raise_view("graph")
    qtbot.waitUntil(lambda: win.panels.is_built("graph"), timeout=T)
    graph = win.panels["graph"]
    qtbot.waitUntil(lambda: graph._snap is not None, timeout=T)
    assert graph._snap.step.step == snap.step.step
    assert win.docks["graph"].widget().widget().layout().itemAt(0).widget() is graph
    # asked for by code: built then, once
    assert win.panels["explain"] is win.panels["explain"]
    assert set(win.panels) == set(registry.panel_names())


def test_a_panel_built_in_presentation_mode_is_presented(make_window, qtbot):
    ctx, win = make_window()
    win.actions_.presentation.trigger()
    try:
        assert not win.panels.is_built("graph")
        win.raise_view("graph")
        qtbot.waitUntil(lambda: win.panels.is_built("graph"), timeout=T)
        assert win.panels["graph"]._presentation
    finally:
        win.actions_.presentation.trigger()
    assert not win.panels["graph"]._presentation


def test_panels_that_draw_missed_records_are_built_at_start():
    """A hidden panel gets the records it missed when shown again (MainWindow._missed);
    one built only later would never have had them: such a panel must be one of the
    default layout's (registry.PanelSet)."""
    for info in registry.PANELS:
        if registry.panel_class(info).draws_history:
            assert info.visible_by_default, info.name


def test_no_python_override_wraps_the_heatmaps_paint(make_window):
    """Qt paints the matrix heatmaps without the GIL only if no Python ``event`` or
    ``paintEvent`` sits between the window and them (a Python ``event()`` on the main
    window once held the GIL through every paint of every dock, and training ran at a
    third of its speed)."""
    from PySide6.QtWidgets import QWidget

    from bpviz.gui.views.heatmap import Heatmap

    ctx, win = make_window()
    maps = win.panels["matrices"].findChildren(Heatmap)
    assert maps
    w = maps[0].graphics_view()
    chain = []
    while w is not None:
        chain.append(w)
        w = w.parentWidget()
    assert chain[-1] is win
    for widget in chain:
        for cls in type(widget).__mro__:
            if cls.__module__.startswith(("PySide6", "shiboken6")) or cls is object:
                break
            assert "event" not in cls.__dict__ and "paintEvent" not in cls.__dict__, cls
    assert isinstance(chain[0], QWidget)


def test_cupy_item_disabled_with_reason_without_gpu(make_window):
    from bpviz.engine.backend import cupy_status

    _ctx, win = make_window()
    combo = win.actions_.backend_combo
    item = combo.model().item(combo.findData("cupy"))
    if cupy_status()[0] is None:
        assert not item.isEnabled()
        assert "CuPy is not available" in item.toolTip()
    else:
        assert item.isEnabled()


def test_first_frame_and_status_bar(qtbot, make_window):
    ctx, win = make_window()
    qtbot.waitUntil(lambda: win.frames > 0, timeout=T)
    assert win.status_labels["step"].text() == "step 0"
    assert "loss" in win.status_labels["loss"].text()
    assert win.status_labels["backend"].text() == "numpy"


def test_play_pause_step_reset(qtbot, make_window):
    ctx, win = make_window()
    win.actions_.step.trigger()
    snap = wait_snap(qtbot, ctx, lambda s: s.step.step == 1)
    assert snap.step.backprop is not None
    win.actions_.play.trigger()
    assert ctx.is_playing and win.actions_.play.text() == "Pause"
    wait_snap(qtbot, ctx, lambda s: s.step.step > 30)
    win.actions_.play.trigger()
    qtbot.waitUntil(lambda: not ctx.is_playing, timeout=T)
    qtbot.wait(100)
    n = ctx.worker.total_steps
    qtbot.wait(200)
    assert ctx.worker.total_steps == n  # paused means no step
    win.actions_.reset.trigger()
    wait_snap(qtbot, ctx, lambda s: s.step.step == 0)
    assert win.frames > 1


def test_keyboard_space_and_right(qtbot, make_window):
    ctx, win = make_window()
    win.activateWindow()
    assert QTest.qWaitForWindowActive(win, 5000)
    qtbot.keyClick(win, Qt.Key.Key_Right)
    wait_snap(qtbot, ctx, lambda s: s.step.step == 1)
    qtbot.keyClick(win, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: ctx.is_playing, timeout=T)
    qtbot.keyClick(win, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not ctx.is_playing, timeout=T)


def test_loop_vectorized_toggle_while_training(qtbot, make_window):
    ctx, win = make_window()
    win.actions_.play.trigger()
    win.actions_.loop.trigger()
    snap = wait_snap(qtbot, ctx, lambda s: s.step.method == "loop")
    assert ctx.is_playing and ctx.config.method == "loop"
    snap = wait_snap(qtbot, ctx, lambda s: s.comparison is not None)
    assert snap.comparison.max_abs_diff < 1e-4
    win.actions_.loop.trigger()
    wait_snap(qtbot, ctx, lambda s: s.step.method == "vectorized")
    assert ctx.is_playing


def test_change_data_set_while_training(qtbot, make_window):
    ctx, win = make_window()
    panel = win.panels["settings"]
    win.actions_.play.trigger()
    wait_snap(qtbot, ctx, lambda s: s.step.step > 5)
    i = panel.dataset.findData("digits")
    panel.dataset.setCurrentIndex(i)
    panel.dataset.activated.emit(i)
    snap = wait_snap(qtbot, ctx, lambda s: s.step.backprop.layers[0].a_prev.shape[1] == 64
                     and s.step.step > 3)
    assert ctx.is_playing
    assert ctx.spec.inputs == 64 and ctx.spec.outputs == 10
    assert ctx.spec.loss == "cross_entropy"
    assert snap.step.backprop.output.shape[1] == 10
    assert panel.batch.maximum() == len(ctx.dataset.X_train) > 30
    i = panel.dataset.findData("moons")
    panel.dataset.setCurrentIndex(i)
    panel.dataset.activated.emit(i)
    wait_snap(qtbot, ctx, lambda s: s.step.backprop.layers[0].a_prev.shape[1] == 2)
    assert ctx.is_playing


def test_heatmaps_show_the_engine_record(qtbot, make_window):
    """What the matrix panel draws is exactly the engine's record of that step."""
    ctx, win = make_window("spiral")
    mp = win.panels["matrices"]
    mp.set_layer(-1)  # every layer
    for _ in range(3):
        win.actions_.step.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot is not None and win.last_snapshot.step.step == 3,
                    timeout=T)
    snap = win.last_snapshot
    compared = 0
    for l, ly in enumerate(snap.step.backprop.layers):
        expect = {"a": ly.a_prev, "delta": ly.delta, "dW": ly.dW, "db": ly.db,
                  "W": snap.step.weights[f"W{ly.owner}"]}
        for kind, M in expect.items():
            hm = mp.heatmap(kind, l)
            if hm is None or (kind, l) not in mp.shown():
                continue
            shown = hm.matrix()
            np.testing.assert_array_equal(shown.reshape(M.shape), M.astype(np.float32))
            compared += 1
    assert compared >= 4 * len(snap.step.backprop.layers)


def test_closing_while_training_stops_the_thread(qtbot, make_window, qtlog):
    ctx, win = make_window()
    win.actions_.play.trigger()
    wait_snap(qtbot, ctx, lambda s: s.step.step > 10)
    win.close()
    assert not ctx.worker.isRunning() and ctx.worker.isFinished()
    assert not any("Destroyed while thread" in m.message for m in qtlog.records)


def test_200_rapid_play_pause_cycles(qtbot, make_window):
    ctx, win = make_window()
    for i in range(200):
        win.actions_.play.trigger()
        if i % 10 == 0:
            qtbot.wait(1)
    assert not ctx.is_playing  # an even number of toggles
    assert ctx.worker.isRunning()
    qtbot.waitUntil(lambda: not ctx.worker.playing, timeout=T)
    # after the storm the thread still answers, is paused, and still steps on request
    step = ctx.call_on_trainer(lambda tr: tr.step)
    qtbot.wait(100)
    assert ctx.call_on_trainer(lambda tr: tr.step) == step  # paused: no step ran
    win.actions_.step.trigger()
    wait_snap(qtbot, ctx, lambda s: s.step.step == step + 1)
    assert ctx.call_on_trainer(lambda tr: tr.step) == step + 1


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_window_stays_responsive_while_training(qtbot, make_window):
    """A tiny network trains at thousands of steps a second in pure Python; the GUI
    thread must still get the interpreter (before GuiShare it got no timer tick for
    a minute). Generous limits: this checks liveness, not speed."""
    from PySide6.QtCore import QTimer

    ctx, win = make_window("tied")
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    win.actions_.play.trigger()
    qtbot.waitUntil(lambda: len(ticks) >= 30 and win.frames >= 10, timeout=T)
    timer.stop()
    assert ctx.is_playing and ctx.worker.total_steps > 0


def test_gui_share_frame_rules(qtbot):
    from bpviz.gui.gui_share import GuiShare

    class W(GuiShare):
        def __init__(self):
            import threading
            self._cond, self._stop, self._jobs, self._last_publish = (
                threading.Condition(), False, [], 0.0)
            self._init_gui_share()

    w = W()
    assert w._frame_ready(1e9)  # no GUI attached: publish freely
    w.attach_gui()
    w._frame_pending = True
    assert not w._frame_ready(1e9)  # a frame is being drawn
    w.frame_done(0.0)
    assert w._frame_ready(1e9)
    w.frame_done(10.0)  # a slow frame: train at least as long before the next one
    assert not w._frame_ready(w._frame_done_at + 1.0)
    w._yield_budget = 0.0
    w._gui_beat = -1e9  # starved, but no budget left: training goes on
    w._yield_to_gui()
    w._earn(0.01)
    assert 0 < w._yield_budget <= 0.25


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_pauses_and_says_so(qtbot, make_window):
    ctx, win = make_window("regression")
    assert ctx.update_config(lr=900.0, optimizer="sgd")
    with qtbot.waitSignal(ctx.diverged, timeout=T):
        win.actions_.play.trigger()
    qtbot.waitUntil(lambda: not ctx.is_playing, timeout=T)
    assert "paused" in win.statusBar().currentMessage()
    w = ctx.call_on_trainer(lambda tr: tr.net.get_weights())
    assert all(np.all(np.isfinite(v)) for v in w.values())


def test_layout_saved_restored_and_reset(qtbot, make_window, tmp_path):
    s = QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)
    ctx, win = make_window(settings=s, restore=True)
    win.docks["health"].hide()
    win.close()
    assert s.value("window/state") is not None
    ctx2, win2 = make_window(settings=s, restore=True)
    assert win2.docks["health"].isHidden()
    win2.reset_layout()
    qtbot.waitUntil(lambda: not win2.docks["loss"].isHidden(), timeout=T)
    assert win2.raise_view("matrices") and not win2.raise_view("no-such-view")


def test_presentation_mode_toggles(qtbot, make_window):
    ctx, win = make_window()
    win.actions_.presentation.trigger()
    assert win.actions_.presentation.isChecked()
    assert win.docks["network"].isHidden() and win.docks["settings"].isHidden()
    assert not win.docks["matrices"].isHidden()
    win.actions_.presentation.trigger()
    assert not win.actions_.presentation.isChecked()
    assert not win.docks["network"].isHidden() and not win.docks["settings"].isHidden()


def test_presentation_thickens_each_curve_once(qtbot, make_window):
    """Presentation mode thickens the curves of plots that do not size their own pens
    (presentation._enlarge_scene); the loss and health curves are sized by their panel's
    set_presentation, and were once thickened a second time (15 px bands on a projector)."""
    ctx, win = make_window()
    loss, health = win.panels["loss"], win.panels["health"]
    widths = lambda: ({k: c.opts["pen"].widthF() for k, c in loss._curves.items()},  # noqa: E731
                      {k: c.opts["pen"].widthF() for k, c in health._curves.items()})
    normal = widths()
    win.actions_.presentation.trigger()
    try:
        big_loss, big_health = widths()
        for k, w in normal[0].items():
            assert big_loss[k] == 2 * w, k          # LossPlot.set_presentation: twice as wide
        assert big_health and set(big_health.values()) == {5.0}
    finally:
        win.actions_.presentation.trigger()
    assert widths() == normal


# ---------------------------------------------------------------- layer editor
BAD_UNITS = [("0", "units"), ("-3", "units"), (str(MAX_UNITS + 1), "units"),
             ("abc", "not a whole number"), ("", "empty"), ("2.5", "not a whole number")]


def assert_blocked(ctx, win, editor, spec0):
    assert not editor.is_valid()
    assert not win.actions_.play.isEnabled() and not win.actions_.step.isEnabled()
    assert not ctx.play() and not ctx.is_playing
    assert not editor.apply_button.isEnabled() and not editor.apply()
    assert ctx.spec == spec0 and trainer_spec(ctx) == spec0


@pytest.mark.parametrize("text, why", BAD_UNITS)
def test_invalid_units_are_marked_and_block_play(make_window, text, why):
    ctx, win = make_window()
    editor = win.panels["network"]
    spec0 = ctx.spec
    editor.set_units(0, text)
    row = editor.row(0)
    assert not row.error.isHidden() and why in row.error.text()
    assert "border" in row.units.styleSheet()
    assert_blocked(ctx, win, editor, spec0)
    editor.set_units(0, "5")
    assert editor.is_valid() and win.actions_.play.isEnabled()
    assert row.error.isHidden() and row.units.styleSheet() == ""
    assert ctx.spec == spec0  # still not applied
    assert editor.apply() and ctx.spec.layers[0].units == 5


def test_tie_between_different_shapes_is_rejected(make_window):
    ctx, win = make_window()
    editor = win.panels["network"]
    spec0 = ctx.spec
    editor.add_layer(8, "tanh")  # W is 8×8 here, 8×2 in layer 1
    editor.row(1).tie.setCurrentIndex(editor.row(1).tie.findData(0))
    assert "cannot reuse" in editor.row(1).error.text()
    assert "border" in editor.row(1).tie.styleSheet()
    assert_blocked(ctx, win, editor, spec0)
    editor.row(1).tie.setCurrentIndex(0)
    assert editor.is_valid()


def test_softmax_without_cross_entropy_is_rejected(make_window):
    ctx, win = make_window()  # circle: binary cross-entropy, sigmoid output
    editor = win.panels["network"]
    spec0 = ctx.spec
    out = len(spec0.layers) - 1
    editor.row(out).activation.setCurrentText("softmax")
    assert "cross_entropy" in editor.row(out).error.text()
    assert_blocked(ctx, win, editor, spec0)
    editor.row(out).activation.setCurrentText("sigmoid")
    editor.row(0).activation.setCurrentText("softmax")  # softmax on a hidden layer
    assert "output layer only" in editor.row(0).error.text()
    assert_blocked(ctx, win, editor, spec0)
    editor.revert()
    assert editor.is_valid() and win.actions_.play.isEnabled()


def test_loss_sets_output_size_and_shapes_are_live(make_window):
    ctx, win = make_window()
    editor = win.panels["network"]
    out = len(ctx.spec.layers) - 1
    assert editor.row(out).units.text() == "1" and editor.row(out).units.isReadOnly()
    editor.loss.setCurrentText("cross_entropy")
    assert editor.row(out).units.text() == "2"  # two classes, one-hot
    assert not editor.is_valid()  # sigmoid output with cross-entropy
    editor.row(out).activation.setCurrentText("softmax")
    assert editor.is_valid()
    K = ctx.effective_batch_size()
    assert editor.row(0).shapes.text().startswith("W¹ 8×2")
    assert f"a⁰ {K}×2" in editor.row(0).shapes.text() and f"δ¹ {K}×8" in \
        editor.row(0).shapes.text()
    editor.set_units(0, "12")
    assert "W² 2×12" in editor.row(1).shapes.text()


def test_add_remove_move_layers(make_window):
    ctx, win = make_window()
    editor = win.panels["network"]
    editor.add_layer(5, "relu")
    editor.add_layer(7, "tanh")
    units = [d.units for d in editor._draft]
    assert units[:3] == ["8", "5", "7"]
    editor.move_layer(2, -1)
    assert [d.units for d in editor._draft][:3] == ["8", "7", "5"]
    editor.remove_layer(0)
    assert [d.units for d in editor._draft][:2] == ["7", "5"]
    assert editor.is_valid() and editor.apply()
    assert [ly.units for ly in ctx.spec.layers] == [7, 5, 1]


def test_apply_asks_before_discarding_trained_weights(qtbot, make_window):
    ctx, win = make_window()
    editor = win.panels["network"]
    for _ in range(3):
        ctx.step()
    wait_snap(qtbot, ctx, lambda s: s.step.step == 3)
    spec0 = ctx.spec
    asked = []
    editor.confirm = lambda title, text: asked.append(text) or False
    editor.set_units(0, "6")
    assert not editor.apply()
    assert asked and "3 training steps" in asked[0]
    assert ctx.spec == spec0 and trainer_spec(ctx) == spec0
    editor.confirm = lambda title, text: True
    assert editor.apply()
    snap = wait_snap(qtbot, ctx, lambda s: s.step.step == 0)
    assert snap.step.backprop.layers[0].delta.shape[1] == 6
    assert trainer_spec(ctx).layers[0].units == 6


# ---------------------------------------------------------------- settings panel
@pytest.mark.parametrize("field, text", [("lr_edit", "abc"), ("lr_edit", "-1"), ("lr_edit", "0"),
                                         ("lr_edit", "nan"), ("l1", "x"), ("l2", "-0.5")])
def test_bad_training_values_leave_state_intact(make_window, field, text):
    ctx, win = make_window()
    panel = win.panels["settings"]
    cfg0 = ctx.config
    w = getattr(panel, field)
    w.setText(text)
    w.editingFinished.emit()
    assert not panel.error.isHidden() and panel.error.text()
    assert "border" in w.styleSheet()
    assert ctx.config == cfg0


def test_lr_optimizer_regularisation_apply_live(qtbot, make_window):
    ctx, win = make_window()
    panel = win.panels["settings"]
    win.actions_.play.trigger()
    panel.lr_edit.setText("0.03")
    panel.lr_edit.editingFinished.emit()
    snap = wait_snap(qtbot, ctx, lambda s: s.step.lr == pytest.approx(0.03))
    assert ctx.is_playing and panel.error.isHidden()
    assert panel.lr_slider.value() == round(np.log10(0.03) * 20)
    panel.optimizer.setCurrentText("adam")
    panel.optimizer.activated.emit(panel.optimizer.currentIndex())
    panel.l2.setText("0.001")
    panel.l2.editingFinished.emit()
    qtbot.waitUntil(lambda: ctx.call_on_trainer(lambda tr: (tr.config.optimizer, tr.config.l2))
                    == ("adam", 0.001), timeout=T)
    assert snap.step.step > 0 and ctx.is_playing


def test_batch_size_goes_to_the_whole_training_set(qtbot, make_window):
    ctx, win = make_window()
    panel = win.panels["settings"]
    n = len(ctx.dataset.X_train)
    assert panel.batch.minimum() == 1 and panel.batch.maximum() == n > 30
    panel.batch.setValue(n)
    ctx.step()
    snap = wait_snap(qtbot, ctx, lambda s: s.step.step == 1)
    assert snap.step.backprop.layers[0].a_prev.shape[0] == n
    assert f"a⁰ {n}×2" in win.panels["network"].row(0).shapes.text()


# ---------------------------------------------------------------- files
def test_session_save_and_open_through_the_window(qtbot, make_window, tmp_path):
    ctx, win = make_window()
    for _ in range(5):
        ctx.step()
    wait_snap(qtbot, ctx, lambda s: s.step.step == 5)
    assert win.windowTitle().split(" — ")[0].endswith("*")
    path = tmp_path / "run.bpviz"
    assert win.save_session_as(str(path)) and path.is_file()
    assert win.windowTitle().startswith("run.bpviz — ")
    saved = ctx.call_on_trainer(lambda tr: tr.net.get_weights())
    win.actions_.reset.trigger()
    for _ in range(2):
        ctx.step()
    wait_snap(qtbot, ctx, lambda s: s.step.step == 2)
    assert win.open_session(str(path))
    snap = wait_snap(qtbot, ctx, lambda s: s.step.step == 5)
    for k, v in saved.items():
        np.testing.assert_array_equal(snap.step.weights[k], v)
    assert "*" not in win.windowTitle().split(" — ")[0]
    # a bad file: a dialog, and nothing changes
    bad = tmp_path / "bad.bpviz"
    bad.write_text("not a zip")
    spec, title = ctx.spec, win.windowTitle()
    assert not win.open_session(str(bad))
    assert win.errors and "bad.bpviz" in win.errors[-1]
    assert ctx.spec == spec and win.windowTitle() == title
    assert not win.save_session(str(tmp_path / "no" / "dir" / "x.bpviz"))
    assert "could not save" in win.errors[-1]


def test_import_csv_good_and_bad(qtbot, make_window, tmp_path):
    ctx, win = make_window()
    act = win.actions_.import_csv  # it reads CSV, .npz and IDX: named for all three
    assert act.text() == "&Import data…" and act.shortcut() == QKeySequence("Ctrl+I")
    assert all(kind in act.toolTip() for kind in ("CSV", ".npz", "IDX", "MNIST"))
    good = tmp_path / "pts.csv"
    rng = np.random.default_rng(0)
    rows = ["a,b,c,label"] + [f"{x:.3f},{y:.3f},{z:.3f},{'yes' if x > 0 else 'no'}"
                              for x, y, z in rng.normal(size=(60, 3))]
    good.write_text("\n".join(rows) + "\n")
    assert win.import_csv(str(good))
    assert ctx.dataset.n_features == 3 and ctx.spec.inputs == 3
    wait_snap(qtbot, ctx, lambda s: s.step.backprop.layers[0].a_prev.shape[1] == 3)
    assert win.panels["settings"].dataset.currentText().startswith("CSV")
    spec = ctx.spec
    assert not win.import_csv(str(tmp_path / "missing.csv"))
    assert win.errors and ctx.spec == spec


def test_export_png(make_window, tmp_path):
    ctx, win = make_window()
    out = tmp_path / "win.png"
    assert win.export_png(str(out))
    assert QImage(str(out)).width() == win.width()


# ---------------------------------------------------------------- command line
def distinct_colours(path) -> int:
    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB32)
    w, h = img.width(), img.height()
    ptr = img.constBits()
    arr = np.frombuffer(ptr, dtype=np.uint32, count=img.bytesPerLine() * h // 4)
    return len(np.unique(arr.reshape(h, -1)[:, :w][::4, ::4]))


def test_bpviz_gui_run_for_screenshot_stats(qtbot, tmp_path, capsys):
    from bpviz.cli import main

    png = tmp_path / "x.png"
    rc = main(["gui", "--preset", "xor", "--run-for", "2", "--screenshot", str(png), "--stats"])
    assert rc == 0
    line = [s for s in capsys.readouterr().out.splitlines() if s.startswith("{")][-1]
    stats = json.loads(line)
    assert stats["steps"] > 0 and stats["frames"] > 0
    assert 1.5 <= stats["seconds"] <= 10  # --run-for 2, timed from the first frame
    # the rates are the counts over the same seconds (rounded as printed)
    per_s = stats["steps"] / stats["seconds"]
    assert stats["steps_per_s"] == pytest.approx(per_s, rel=0.02, abs=0.11)
    assert stats["fps"] == pytest.approx(stats["frames"] / stats["seconds"], rel=0.02, abs=0.11)
    assert 0 < stats["first_frame_s"] < 60
    assert 10 < stats["peak_rss_mb"] < 100_000  # MiB: a Qt app holds tens of MiB at least
    assert png.is_file() and distinct_colours(png) > 50


def test_bpviz_gui_unknown_view_and_preset_exit_2(qtbot, capsys):
    from bpviz.cli import main

    assert main(["gui", "--view", "no-such-view", "--run-for", "0"]) == 2
    assert "no-such-view" in capsys.readouterr().err
    assert main(["gui", "--preset", "no-such-preset", "--run-for", "0"]) == 2


def test_bpviz_gui_view_raises_dock(qtbot, tmp_path, capsys):
    from bpviz.gui.app import build

    ctx, win = build("circle", view="loss", automation=True)
    try:
        assert not win.docks["loss"].isHidden()
    finally:
        win.close()
        ctx.shutdown()
