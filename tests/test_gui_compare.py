"""The compare window (bpviz.gui.compare_window) on the real Controller and main window."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine.compare import COMPARISON_PRESETS


def _open(qtbot, win, preset="vanishing-gradients"):
    from bpviz.gui.compare_window import open_compare_window

    cw = open_compare_window(win, preset)
    qtbot.waitUntil(lambda: cw._records[0] is not None, timeout=10_000)
    return cw


def _train(qtbot, cw, steps=30):
    cw.set_playing(True)
    qtbot.waitUntil(lambda: cw.steps_taken >= steps, timeout=20_000)
    cw.set_playing(False)


def test_menu_entry_opens_the_window(circle_window, qtbot):
    ctx, win = circle_window
    acts = [a for a in win.menuBar().actions() if a.text() == "&Training"]
    entry = [a for a in acts[0].menu().actions() if a.text() == "&Compare…"]
    assert entry
    entry[0].trigger()
    cw = win._bpviz_compare_window
    try:
        assert cw.isVisible() and cw.thread is not None and cw.thread.isRunning()
    finally:
        cw.close()
    assert cw.thread is None


def test_trains_in_lock_step_with_a_shared_scale_and_named_curves(circle_window, qtbot):
    ctx, win = circle_window
    cw = _open(qtbot, win)
    try:
        _train(qtbot, cw)
        cw.step()
        qtbot.waitUntil(lambda: not cw.thread.is_playing(), timeout=5000)
        qtbot.waitUntil(lambda: cw._records[0].step == cw.last_step, timeout=5000)
        ra, rb = cw._records
        assert ra.step == rb.step
        assert cw.names == ("sigmoid", "relu")
        # the two heatmaps of a layer share their colour scale: the larger |max|
        ha, hb = cw.heatmaps
        assert ha.levels() == hb.levels()
        big = max(np.abs(ha.matrix()).max(), np.abs(hb.matrix()).max())
        assert ha.fixed_scale() == pytest.approx(big)
        assert ha.title().startswith("A: sigmoid — δ¹") and hb.title().startswith("B: relu")
        # the loss plot: two curves named by their difference, one point per step
        names = [label.text for _, label in cw.loss_legend.items]
        assert names == ["sigmoid", "relu"]
        xa, ya = cw.loss_curves[0].getData()
        assert len(xa) == cw.steps_taken and list(xa[:3]) == [1, 2, 3]
        assert len(cw.norm_curves[0].getData()[0]) == 6      # ‖δˡ‖ of 6 layers
        # another matrix of another layer, still one scale for the pair
        cw.kind.setCurrentIndex(cw.kind.findData("dW"))
        cw.layer.setValue(3)
        assert ha.levels() == hb.levels() and ha.title().startswith("A: sigmoid — dW³")
    finally:
        cw.close()


def test_relative_change_uses_the_current_run(circle_window, qtbot):
    ctx, win = circle_window
    cw = _open(qtbot, win)
    try:
        cw.story.setCurrentIndex(cw.story.findData("relative to the current run"))
        cw.change.setCurrentIndex(cw.change.findData("lr"))
        cw.value.setCurrentText("2")
        assert cw.start()
        assert cw.names == (f"lr {ctx.config.lr:g}", "lr 2")
        assert cw.thread._comp.a.net.spec == ctx.spec
        cw.value.setCurrentText("fast")
        assert not cw.start()
        assert "learning rate 'fast' is not a number" in cw.error.text()
        assert cw.thread is not None and cw.thread.isRunning()   # the old pair goes on
    finally:
        cw.close()


def test_reset_goes_back_to_step_zero(circle_window, qtbot):
    ctx, win = circle_window
    cw = _open(qtbot, win, "symmetry")
    try:
        _train(qtbot, cw, 10)
        cw.reset()
        assert cw.steps_taken == 0
        qtbot.waitUntil(lambda: cw._records[0] is not None, timeout=5000)
        assert cw._records[0].step == 0 and cw.step_label.text() == "step 0"
        # zeros: every row of W¹ equal in A
        cw.kind.setCurrentIndex(cw.kind.findData("W"))
        assert not cw.heatmaps[0].matrix().any() and cw.heatmaps[1].matrix().any()
    finally:
        cw.close()


def test_closing_mid_training_stops_the_thread(circle_window, qtbot):
    ctx, win = circle_window
    cw = _open(qtbot, win)
    thread = cw.thread
    cw.set_playing(True)
    qtbot.waitUntil(lambda: cw.steps_taken > 5, timeout=10_000)
    assert thread.isRunning()
    cw.close()
    assert not thread.isRunning() and thread.isFinished()


def test_closing_the_main_window_closes_the_comparison(circle_window, qtbot):
    ctx, win = circle_window
    cw = _open(qtbot, win)
    thread = cw.thread
    cw.set_playing(True)
    win.close()
    assert not thread.isRunning()


@pytest.mark.parametrize("name", list(COMPARISON_PRESETS))
def test_screenshot_each_story(circle_window, qtbot, name, tmp_path):
    """Each story trains and renders at 1366×768 (the images are looked at by hand)."""
    ctx, win = circle_window
    cw = _open(qtbot, win, name)
    try:
        cw.resize(1366, 768)
        _train(qtbot, cw, 20)
        img = cw.grab()
        assert img.width() == 1366 and img.height() == 768
        assert img.save(str(tmp_path / f"{name}.png"))
    finally:
        cw.close()


def test_loss_curves_stay_bounded_in_a_long_run(circle_window, qtbot):
    """The loss curves keep at most their series' cap of points (min/max decimation),
    whatever the number of steps; the newest step is always drawn."""
    from bpviz.gui.views.series import DecimatedSeries

    ctx, win = circle_window
    cw = _open(qtbot, win)
    try:
        cw._loss = (DecimatedSeries(16), DecimatedSeries(16))
        _train(qtbot, cw, 120)
        qtbot.wait(100)
        for curve in cw.loss_curves:
            x, _y = curve.getData()
            assert len(x) <= 17 and x[-1] == cw.last_step
        assert cw.steps_taken >= 120
    finally:
        cw.close()


def test_presentation_mode_of_the_main_window_reaches_the_comparison(circle_window, qtbot):
    ctx, win = circle_window
    cw = _open(qtbot, win)
    try:
        assert not cw._presentation
        win.actions_.presentation.setChecked(True)
        assert cw._presentation
        win.actions_.presentation.setChecked(False)
        assert not cw._presentation
    finally:
        cw.close()


def test_command_line_opens_a_story_and_screenshots_it(qtbot, tmp_path, capsys):
    """``bpviz gui --compare STORY --run-for S --screenshot F``: the PNG is of the
    comparison at the asked size; an unknown story is one line and exit status 2."""
    from PIL import Image

    from bpviz.gui import app as gui_app

    out = tmp_path / "cmp.png"
    assert gui_app.run_gui(preset="circle", run_for=0.3, screenshot=str(out),
                           size=(1024, 768), compare="symmetry") == 0
    with Image.open(out) as im:
        assert im.size == (1024, 768)
    assert gui_app.run_gui(preset="circle", run_for=0.1, compare="nope") == 2
    err = capsys.readouterr().err
    assert "unknown comparison 'nope'" in err and "symmetry" in err
