"""Keys that always work: Space, →, R, F5, +, − from anywhere in the window, with
real key events (QTest) into the real fields of the settings panel and the layer
editor; Enter hands the focus back; Space never types into a field."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bpviz.gui.actions import SHORTCUTS  # noqa: E402

T = 20_000


@pytest.fixture
def win(circle_window):
    return circle_window[1]


def focus(qtbot, widget):
    widget.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget, timeout=T)


def key(widget, k, mods=Qt.KeyboardModifier.NoModifier):
    """A real key press on what has focus (or ``widget``), as a user's would arrive."""
    QTest.keyClick(QApplication.focusWidget() or widget, k, mods)


def fields(win):
    sp, le = win.panels["settings"], win.panels["network"]
    return {"learning rate": sp.lr_edit, "L1": sp.l1, "L2": sp.l2, "batch size": sp.batch,
            "noise": sp.noise, "test fraction": sp.test_fraction,
            "units": le.row(0).units}


def test_typed_learning_rate_then_enter_then_space_plays(qtbot, win):
    """The reported defect: after typing a learning rate and Enter, Space typed a space
    into the field (red border) instead of playing."""
    ctx, lr = win.ctx, win.panels["settings"].lr_edit
    focus(qtbot, lr)
    lr.selectAll()
    QTest.keyClicks(lr, "0.03")
    QTest.keyClick(lr, Qt.Key.Key_Return)
    assert ctx.config.lr == 0.03
    assert QApplication.focusWidget() is not lr          # Enter handed the focus back
    key(win, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: ctx.is_playing, timeout=T)
    assert lr.text() == "0.03" and lr.styleSheet() == ""
    key(win, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not ctx.is_playing, timeout=T)


def test_space_plays_with_nothing_focused_and_the_window_is_not_watched_otherwise(qtbot, win):
    """With no focus widget the window gets the keys (and is watched for them); with a
    focus widget only that one is: the window's own events (a repaint on every frame)
    do not each call into Python."""
    ctx, keys = win.ctx, win.actions_.keys
    focus(qtbot, win.panels["settings"].lr_edit)
    assert keys.watched() is win.panels["settings"].lr_edit
    QApplication.focusWidget().clearFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is None, timeout=T)
    assert keys.watched() is win
    QTest.keyClick(win, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: ctx.is_playing, timeout=T)
    QTest.keyClick(win, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not ctx.is_playing, timeout=T)


@pytest.mark.parametrize("name", ["learning rate", "L1", "L2", "batch size", "noise",
                                  "test fraction", "units"])
def test_space_in_a_field_plays_and_never_types(qtbot, win, name):
    ctx = win.ctx
    field = fields(win)[name]
    focus(qtbot, field)
    text = field.text()
    key(win, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: ctx.is_playing, timeout=T)
    assert field.text() == text, f"Space typed into the {name} field"
    key(win, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not ctx.is_playing, timeout=T)
    assert field.text() == text


@pytest.mark.parametrize("name", ["optimizer", "method", "dataset"])
def test_space_on_a_combo_box_plays_and_does_not_open_it(qtbot, win, name):
    ctx, combo = win.ctx, getattr(win.panels["settings"], name)
    focus(qtbot, combo)
    key(win, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: ctx.is_playing, timeout=T)
    assert not combo.view().isVisible()
    ctx.pause()


def test_step_reset_presentation_and_speed_keys_from_a_combo_box(qtbot, win):
    ctx, a = win.ctx, win.actions_
    focus(qtbot, win.panels["settings"].optimizer)
    before = ctx.worker.total_steps
    key(win, Qt.Key.Key_Right)                              # → : one step
    qtbot.waitUntil(lambda: ctx.worker.total_steps == before + 1, timeout=T)
    qtbot.waitUntil(lambda: ctx.trained_steps() >= 1, timeout=T)
    key(win, Qt.Key.Key_R)                                  # R : reset (prompt stubbed: Discard)
    qtbot.waitUntil(lambda: ctx.trained_steps() == 0, timeout=T)
    a.speed_combo.setCurrentIndex(2)
    key(win, Qt.Key.Key_Minus)                              # − : one choice slower
    assert a.speed_combo.currentIndex() == 3 and ctx.speed == a.speed_combo.itemData(3)
    key(win, Qt.Key.Key_Plus, Qt.KeyboardModifier.ShiftModifier)   # + (Shift+=): faster
    key(win, Qt.Key.Key_Equal)                              # = (the + key unshifted)
    assert a.speed_combo.currentIndex() == 1 and ctx.speed == a.speed_combo.itemData(1)
    for _ in range(5):
        key(win, Qt.Key.Key_Plus, Qt.KeyboardModifier.KeypadModifier)
    assert a.speed_combo.currentIndex() == 0 and ctx.speed is None   # stops at full speed
    key(win, Qt.Key.Key_F5)
    assert a.presentation.isChecked()
    key(win, Qt.Key.Key_F5)
    assert not a.presentation.isChecked()


def test_a_field_being_typed_in_keeps_the_keys_that_edit_it(qtbot, win):
    """−, → and letters edit a field while it is typed in (a learning rate 1e-3 needs
    the minus); F5 is still the window's."""
    ctx, a, lr = win.ctx, win.actions_, win.panels["settings"].lr_edit
    a.speed_combo.setCurrentIndex(2)
    focus(qtbot, lr)
    lr.clear()
    QTest.keyClicks(lr, "1e")
    key(win, Qt.Key.Key_Minus)
    QTest.keyClicks(lr, "3")
    key(win, Qt.Key.Key_Left)
    key(win, Qt.Key.Key_Right)
    assert lr.text() == "1e-3" and lr.cursorPosition() == 4
    assert a.speed_combo.currentIndex() == 2            # − did not slow down
    steps = ctx.worker.total_steps
    key(win, Qt.Key.Key_F5)
    assert a.presentation.isChecked()
    a.presentation.trigger()
    QTest.keyClick(lr, Qt.Key.Key_Return)
    assert ctx.config.lr == 1e-3
    assert ctx.worker.total_steps == steps               # → moved the cursor, no step


def test_keys_of_a_dialog_are_its_own(qtbot, win):
    """A dialog over the window (another window) keeps its keys: Space there does not play."""
    from PySide6.QtWidgets import QDialog, QLineEdit, QVBoxLayout

    dlg = QDialog(win)
    edit = QLineEdit(dlg)
    QVBoxLayout(dlg).addWidget(edit)
    dlg.show()
    dlg.activateWindow()
    focus(qtbot, edit)
    QTest.keyClick(edit, Qt.Key.Key_Space)
    assert edit.text() == " " and not win.ctx.is_playing
    dlg.close()


def test_help_lists_every_plain_key_of_the_window():
    keys = {k for k, _ in SHORTCUTS}
    for k in ("Space", "Right", "R", "F5", "F11", "+", "−", "Ctrl+Z", "Ctrl+Shift+Z"):
        assert k in keys, k


def test_help_lists_every_action_key(win):
    """Every key bound in the window is in Help ▸ Keyboard shortcuts."""
    listed = {k.replace("−", "-") for k, _ in SHORTCUTS}
    for act in win.actions():
        for seq in act.shortcuts()[:1]:
            text = seq.toString()
            if text:
                assert text in listed, f"{act.text()}: {text} is not in the shortcut list"
