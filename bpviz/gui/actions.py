"""Menus, toolbar and keyboard shortcuts of the main window.

:func:`install_actions` creates every QAction once (so a key and its menu
entry and toolbar button are the same object) and returns them by name;
:data:`SHORTCUTS` is the table the Help ▸ Keyboard shortcuts dialog lists.

Keys that always work: a shortcut bound to a widget is swallowed by whatever
has focus (Space in a line edit types a space, Space on a combo box opens it).
So the window's plain keys (no Ctrl/Alt: Space, →, R, F5, F11, +, − ...) are
dispatched by :class:`WindowKeys`, one event filter that follows the focus: anywhere
in the window they trigger their action, except that a field being typed in
keeps the keys that edit text (→, R, +, −); Space never types into a field (no
field of the window takes free text) and F-keys are always the window's. An
edit field gives the focus back after Enter (:func:`focus_back_on_enter`), so
that every key works again at once.
"""

from __future__ import annotations

import weakref
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QStyle,
    QTextEdit,
    QToolBar,
    QWidget,
)

from ..engine.backend import cupy_status
from ..engine.presets import list_presets

if TYPE_CHECKING:
    from .main_window import MainWindow

#: (key, what it does): what Help ▸ Keyboard shortcuts shows.
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Space", "Play / pause training"),
    ("Right", "Step: train one mini-batch"),
    ("R", "Reset (same start): the same initial weights and batch order, step 0"),
    ("L", "Switch loop / vectorized backprop"),
    ("Alt+Left", "Timeline: the kept step before (training pauses)"),
    ("Alt+Right", "Timeline: the kept step after (past the last: the newest)"),
    ("Home", "Timeline: the oldest kept step (training pauses)"),
    ("End", "Timeline: back to the newest step"),
    ("F5", "Presentation mode (large fonts, thick lines)"),
    ("F6", "Show the current panel alone, full window (again: back)"),
    ("F11", "Full screen"),
    ("+", "Faster: the next Speed choice up"),
    ("−", "Slower: the next Speed choice down"),
    ("Ctrl+N", "New (the default preset)"),
    ("Ctrl+O", "Open a session"),
    ("Ctrl+S", "Save the session"),
    ("Ctrl+Shift+S", "Save the session as…"),
    ("Ctrl+I", "Import a CSV file as the data set"),
    ("Ctrl+E", "Export the window as PNG"),
    ("Ctrl+Z", "Undo the last edit (network, data, settings, weight, Reset)"),
    ("Ctrl+Shift+Z", "Redo the edit undone"),
    ("F1", "This list"),
    ("Ctrl+Q", "Quit"),
)

#: Speed choices of the toolbar: (label, steps per second or None for full speed).
SPEEDS: tuple[tuple[str, float | None], ...] = (
    ("Full speed", None), ("300 steps/s", 300.0), ("100 steps/s", 100.0),
    ("30 steps/s", 30.0), ("10 steps/s", 10.0), ("3 steps/s", 3.0), ("1 step/s", 1.0),
)


#: Modifiers that make a key a command key (Ctrl+Z ...), left to Qt's shortcuts.
_COMMAND_MODS = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                 | Qt.KeyboardModifier.MetaModifier)
#: Keys a field being typed in keeps (they edit its text); Space is not one of them.
_TEXT_KEYS = frozenset({Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down,
                        Qt.Key.Key_Home, Qt.Key.Key_End, Qt.Key.Key_Backspace,
                        Qt.Key.Key_Delete, Qt.Key.Key_Plus, Qt.Key.Key_Minus,
                        Qt.Key.Key_Equal, Qt.Key.Key_Period, Qt.Key.Key_Comma})


def takes_typing(widget: QWidget | None) -> bool:
    """Whether ``widget`` is a field being typed in (a line edit, spin box, editable
    combo box or text editor that is not read-only)."""
    if isinstance(widget, QLineEdit):
        return not widget.isReadOnly()
    if isinstance(widget, QAbstractSpinBox):
        return not widget.isReadOnly()
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    if isinstance(widget, (QTextEdit, QPlainTextEdit)):
        return not widget.isReadOnly()
    return False


class WindowKeys(QObject):
    """The window's plain keys from anywhere in it, whatever has focus.

    An event filter on whatever has focus (it follows the application's
    ``focusChanged``, so it sees the key events of every widget without a Python
    call for every event of the application), or on the window itself while
    nothing has focus (the window then gets the keys). For a
    key event sent to the focus widget of ``window`` (or to the window itself when
    nothing has focus) whose key is the shortcut of one of the window's actions
    with no Ctrl/Alt/Meta (Shift and keypad ignored, so that ``+`` works as
    Shift+= and on the keypad), it claims the key from the focus widget (the
    shortcut-override event) and triggers the action on the key press, once.
    Exceptions: a field being typed in (:func:`takes_typing`) keeps letters,
    digits and the editing keys (→ moves its cursor, − types a minus); Space and
    the F-keys are always the window's. Dialogs, menus and popups (a combo box's
    open list) are other windows: their keys are their own.
    """

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)   # the window: self.parent(), no reference kept here
        self._watched: QWidget | None = None
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)
            self._focus_changed(None, app.focusWidget())
        else:
            self._watch(window)

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        # the focus widget gets the keys; with no focus at all, the window does. Only
        # that one is watched: every event of a watched widget is a call into Python
        # (the window alone gets hundreds a second while training: each repaint)
        if new is not None:
            self._watch(new if self._in_window(new) else None)
        else:
            self._watch(self._window)

    def _watch(self, widget: QWidget | None) -> None:
        if widget is self._watched:
            return
        if self._watched is not None:
            try:
                self._watched.removeEventFilter(self)
            except RuntimeError:   # already deleted
                pass
        self._watched = widget
        if widget is not None:
            widget.installEventFilter(self)

    def watched(self) -> QWidget | None:
        """The widget whose key events are watched now (the focus widget, else the window)."""
        return self._watched

    def detach(self) -> None:
        """Stop watching (the window is closing)."""
        app = QApplication.instance()
        if isinstance(app, QApplication):
            try:
                app.focusChanged.disconnect(self._focus_changed)
            except (RuntimeError, TypeError):
                pass
        self._watch(None)

    def action_for(self, event: QKeyEvent) -> QAction | None:
        """The window's action for this key event, or None if the key is not the window's."""
        mods = event.modifiers()
        if mods & _COMMAND_MODS:
            return None
        key = event.key()
        focus = QApplication.focusWidget()
        if focus is not None and not self._in_window(focus):
            return None
        if focus is not None and takes_typing(focus) and key != Qt.Key.Key_Space \
                and not Qt.Key.Key_F1 <= key <= Qt.Key.Key_F35 \
                and (key in _TEXT_KEYS or event.text().isprintable() and event.text()):
            return None
        for act in self._window.actions():
            if not act.isEnabled():
                continue
            for seq in act.shortcuts():
                if seq.isEmpty():
                    continue
                combo = seq[0]
                if combo.keyboardModifiers() & _COMMAND_MODS:
                    continue
                if combo.key() == key:
                    return act
        return None

    @property
    def _window(self) -> QWidget:
        win = self.parent()
        assert isinstance(win, QWidget)
        return win

    def _in_window(self, widget: QWidget) -> bool:
        top, win = widget.window(), self.parent()
        if top is win:
            return True
        # a floating dock is a window of its own, still part of this one
        return isinstance(top, QDockWidget) and top.parentWidget() is win

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        kind = event.type()
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        if not isinstance(obj, QWidget):
            return False
        focus = QApplication.focusWidget()
        if obj is not focus and not (focus is None and obj is self._window):
            return False   # the same event again, on its way up to a parent
        assert isinstance(event, QKeyEvent)
        act = self.action_for(event)
        if act is None:
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()   # the key press comes here, not to Qt's shortcut map
            return True
        if not event.isAutoRepeat() or act.autoRepeat():
            act.trigger()
        return True


def focus_back_on_enter(*fields: QWidget) -> None:
    """After Enter in any of ``fields`` (line edits, spin boxes), give the focus back to
    the window, so that its keys (Space ...) work at once and never type into the field."""
    for field in fields:
        if isinstance(field, QLineEdit):
            field.returnPressed.connect(field.clearFocus)
        elif isinstance(field, QAbstractSpinBox):
            field.editingFinished.connect(field.clearFocus)


def step_speed(combo: QComboBox, delta: int) -> float | None:
    """Move the Speed box ``delta`` choices down its list (−1: faster, +1: slower),
    stopping at either end; returns the new speed (None: full speed)."""
    i = max(0, min(combo.count() - 1, combo.currentIndex() + delta))
    combo.setCurrentIndex(i)
    return combo.itemData(i)


def _action(w: MainWindow, text: str, slot: Any, key: str | tuple[str, ...] | None = None,
            icon: QStyle.StandardPixmap | None = None, tip: str | None = None,
            checkable: bool = False) -> QAction:
    a = QAction(text, w)
    if key:
        keys = (key,) if isinstance(key, str) else key
        a.setShortcuts([QKeySequence(k) for k in keys])
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        key = keys[0]
    if icon is not None:
        a.setIcon(w.style().standardIcon(icon))
    if tip:
        a.setToolTip(f"{tip} ({key})" if key else tip)
        a.setStatusTip(tip)
    a.setCheckable(checkable)
    a.triggered.connect(slot)
    w.addAction(a)  # shortcuts work even when the toolbar is hidden
    return a


def install_actions(w: MainWindow) -> SimpleNamespace:
    """Create the actions, the menus and the toolbar of ``w``; returns the actions."""
    ctx, SP = w.ctx, QStyle.StandardPixmap
    a = SimpleNamespace()
    a.new = _action(w, "&New", w.new_document, "Ctrl+N", SP.SP_FileIcon, "Start again from "
                    "the default preset")
    a.open = _action(w, "&Open session…", w.open_session, "Ctrl+O", SP.SP_DialogOpenButton,
                     "Open a saved session")
    a.save = _action(w, "&Save", w.save_session, "Ctrl+S", SP.SP_DialogSaveButton,
                     "Save the session (network, weights, data, settings)")
    a.save_as = _action(w, "Save &as…", w.save_session_as, "Ctrl+Shift+S", None,
                        "Save the session to a new file")
    a.import_csv = _action(w, "&Import data…", w.import_csv, "Ctrl+I", None,
                           "Use a data file as the data set: CSV (a header row; the target "
                           "is the last column), NumPy .npz (arrays X and y), or the IDX "
                           "images of MNIST or Fashion-MNIST (.gz or not)")
    a.export = _action(w, "&Export window as PNG…", w.export_png, "Ctrl+E", None,
                       "Save a picture of the whole window")
    a.quit = _action(w, "&Quit", w.close, "Ctrl+Q", None, "Quit bpviz")
    a.play = _action(w, "Play", w.toggle_play, "Space", SP.SP_MediaPlay,
                     "Play / pause training")
    a.play.setAutoRepeat(False)   # a held Space toggles once
    a.step = _action(w, "Step", ctx.step, "Right", SP.SP_MediaSkipForward,
                     "Train one mini-batch")
    a.reset = _action(w, "Reset (&same start)", w.reset_training, "R", SP.SP_BrowserReload,
                      "Reset (same start): step 0 from the same initial weights and the "
                      "same batch order, so the run repeats exactly")
    a.reset.setIconText("Reset")   # the toolbar's short name; the menu says which Reset
    a.reset_new = _action(w, "Reset (&new start)", w.reset_new_start, None, None,
                          "Step 0 from new initial weights and a new batch order (the "
                          "next seed)")
    a.export_animation = _action(w, "Export &animation…", w.export_animation, None, None,
                                 "Save a panel or the whole window over the next training "
                                 "steps (or the outer-product stepping k = 1…K) as a GIF "
                                 "or MP4")
    # the timeline (bpviz.gui.timeline): Home/End are plain keys (WindowKeys), Alt+←/→ Qt's
    a.history_back = _action(w, "Timeline: step back", w.history_back, "Alt+Left", None,
                             "Show the kept step before the one on screen (training pauses)")
    a.history_forward = _action(w, "Timeline: step forward", w.history_forward, "Alt+Right",
                                None, "Show the kept step after the one on screen")
    a.history_oldest = _action(w, "Timeline: oldest step", w.history_oldest, "Home", None,
                               "Show the oldest kept step (training pauses)")
    a.history_newest = _action(w, "Timeline: newest step", w.history_newest, "End", None,
                               "Back to the newest step")
    a.speed_combo = speed = QComboBox()   # in the toolbar below
    # no closure over the window or ``a`` (a Qt connection holding them keeps them alive)
    a.faster = _action(w, "Faster", lambda: ctx.set_speed(step_speed(speed, -1)),
                       ("+", "="), None, "Train faster: the next Speed choice up")
    a.slower = _action(w, "Slower", lambda: ctx.set_speed(step_speed(speed, +1)),
                       ("-", "_"), None, "Train slower: the next Speed choice down")
    a.loop = _action(w, "Loop", lambda on: ctx.set_method("loop" if on else "vectorized"),
                     "L", None, "Per-sample loop (checked) or vectorized backprop",
                     checkable=True)
    a.compare = _action(w, "&Compare…", _compare_slot(w), None, None,
                        "Two runs side by side on the same data and seed, B differing "
                        "only in what you change (or a classic story)")
    a.presentation = _action(w, "&Presentation mode", w.set_presentation, "F5", None,
                             "Large fonts and thick lines for a lecture hall", checkable=True)
    a.focus = _action(w, "Show panel &alone", w.toggle_focus, "F6", None,
                       "The panel with the keyboard focus (else the matrices) alone, full "
                       "window; again: back to the layout", checkable=True)
    a.fullscreen = _action(w, "&Full screen", w.set_fullscreen, "F11", None,
                           "Full screen", checkable=True)
    a.reset_layout = _action(w, "&Reset layout", w.reset_layout, None, None,
                             "Put every panel back where it started")
    a.shortcuts = _action(w, "&Keyboard shortcuts", w.show_shortcuts, "F1", None,
                          "List the keyboard shortcuts")
    a.about = _action(w, "&About bpviz", w.show_about)
    # Edit: undo/redo of weight edits; Qt keeps their text ("Undo W¹ (…) = 0.5") and
    # enabled state in step with the controller's undo stack
    a.undo = ctx.undo_stack.createUndoAction(w, "&Undo")
    a.redo = ctx.undo_stack.createRedoAction(w, "&Redo")
    for act, key in ((a.undo, "Ctrl+Z"), (a.redo, "Ctrl+Shift+Z")):
        act.setShortcut(QKeySequence(key))
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        w.addAction(act)

    mb = w.menuBar()
    m = mb.addMenu("&File")
    for act in (a.new, a.open, a.save, a.save_as, None, a.import_csv, a.export,
                a.export_animation, None, a.quit):
        m.addSeparator() if act is None else m.addAction(act)
    m = mb.addMenu("&Edit")
    m.addAction(a.undo)
    m.addAction(a.redo)
    m = mb.addMenu("&Training")
    for act in (a.play, a.step, a.reset, a.reset_new, None, a.faster, a.slower, None,
                a.loop, None, a.history_back, a.history_forward, a.history_oldest,
                a.history_newest, None, a.compare):
        m.addSeparator() if act is None else m.addAction(act)
    w.view_menu = mb.addMenu("&View")
    m = mb.addMenu("&Help")
    m.addAction(a.shortcuts)
    m.addAction(a.about)

    tb = QToolBar("Training")
    tb.setObjectName("toolbar")
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    w.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
    tb.addWidget(QLabel(" Preset "))
    a.preset_combo = QComboBox()
    a.preset_combo.setObjectName("preset")
    a.preset_combo.setMinimumContentsLength(12)
    try:
        for p in list_presets():
            a.preset_combo.addItem(p.name, p.name)
            a.preset_combo.setItemData(a.preset_combo.count() - 1, p.title,
                                       Qt.ItemDataRole.ToolTipRole)
    except Exception as exc:  # a broken preset file must not stop the window
        ctx.message.emit(f"presets: {exc}")
    a.preset_combo.activated.connect(lambda _i: w.choose_preset(a.preset_combo.currentData()))
    tb.addWidget(a.preset_combo)
    tb.addSeparator()
    for act in (a.play, a.step, a.reset):
        tb.addAction(act)
    # the second toolbar starts a second row when both do not fit (layout.arrange_toolbars)
    tb2 = QToolBar("Speed and backend")
    tb2.setObjectName("toolbar2")
    tb2.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    w.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb2)
    a.toolbar, a.toolbar2 = tb, tb2
    tb = tb2
    tb.addWidget(QLabel(" Speed "))
    a.speed_combo.setObjectName("speed")
    for label, v in SPEEDS:
        a.speed_combo.addItem(label, v)
    a.speed_combo.setToolTip("full speed, or N mini-batches a second for a class to follow")
    a.speed_combo.activated.connect(lambda _i: ctx.set_speed(a.speed_combo.currentData()))
    tb.addWidget(a.speed_combo)
    tb.addSeparator()
    tb.addAction(a.loop)
    tb.addWidget(QLabel(" Backend "))
    a.backend_combo = QComboBox()
    a.backend_combo.setObjectName("backend")
    a.backend_combo.addItem("NumPy (CPU)", "numpy")
    a.backend_combo.addItem("CuPy (GPU)", "cupy")
    cp, why = cupy_status()
    if cp is None:
        model = a.backend_combo.model()
        assert isinstance(model, QStandardItemModel)
        item = model.item(1)
        item.setEnabled(False)
        item.setToolTip(f"CuPy is not available: {why}")
        a.backend_combo.setToolTip(f"CuPy (GPU) is disabled: {why}")
    else:
        a.backend_combo.setToolTip(why)
    a.backend_combo.activated.connect(lambda _i: w.choose_backend(a.backend_combo.currentData()))
    tb.addWidget(a.backend_combo)
    a.keys = WindowKeys(w)
    return a


def _compare_slot(window: Any) -> Any:
    """The "Compare…" action's slot: opens the compare window of ``window``, importing
    it only then (not at start-up), without keeping ``window`` alive."""
    ref = weakref.ref(window)

    def open_it() -> None:
        from .compare_window import open_compare_window

        open_compare_window(ref())

    return open_it
