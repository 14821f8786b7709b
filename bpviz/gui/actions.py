"""Menus, toolbar and keyboard shortcuts of the main window.

:func:`install_actions` creates every QAction once (so a key and its menu
entry and toolbar button are the same object) and returns them by name;
:data:`SHORTCUTS` is the table the Help ▸ Keyboard shortcuts dialog lists.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QLabel, QStyle, QToolBar

from ..engine.backend import cupy_status
from ..engine.presets import list_presets

if TYPE_CHECKING:
    from .main_window import MainWindow

#: (key, what it does): what Help ▸ Keyboard shortcuts shows.
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Space", "Play / pause training"),
    ("Right", "Step: train one mini-batch"),
    ("R", "Reset: fresh weights, step 0"),
    ("L", "Switch loop / vectorized backprop"),
    ("F5", "Presentation mode (large fonts, thick lines)"),
    ("F6", "Show the current panel alone, full window (again: back)"),
    ("F11", "Full screen"),
    ("Ctrl+N", "New (the default preset)"),
    ("Ctrl+O", "Open a session"),
    ("Ctrl+S", "Save the session"),
    ("Ctrl+Shift+S", "Save the session as…"),
    ("Ctrl+I", "Import a CSV file as the data set"),
    ("Ctrl+E", "Export the window as PNG"),
    ("Ctrl+Z", "Undo the last weight edit"),
    ("Ctrl+Shift+Z", "Redo the weight edit undone"),
    ("F1", "This list"),
    ("Ctrl+Q", "Quit"),
)

#: Speed choices of the toolbar: (label, steps per second or None for full speed).
SPEEDS: tuple[tuple[str, float | None], ...] = (
    ("Full speed", None), ("300 steps/s", 300.0), ("100 steps/s", 100.0),
    ("30 steps/s", 30.0), ("10 steps/s", 10.0), ("3 steps/s", 3.0), ("1 step/s", 1.0),
)


def _action(w: MainWindow, text: str, slot: Any, key: str | None = None,
            icon: QStyle.StandardPixmap | None = None, tip: str | None = None,
            checkable: bool = False) -> QAction:
    a = QAction(text, w)
    if key:
        a.setShortcut(QKeySequence(key))
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
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
    a.play = _action(w, "Play", ctx.toggle_play, "Space", SP.SP_MediaPlay,
                     "Play / pause training")
    a.step = _action(w, "Step", ctx.step, "Right", SP.SP_MediaSkipForward,
                     "Train one mini-batch")
    a.reset = _action(w, "Reset", ctx.reset, "R", SP.SP_BrowserReload,
                      "Fresh weights, step 0")
    a.loop = _action(w, "Loop", lambda on: ctx.set_method("loop" if on else "vectorized"),
                     "L", None, "Per-sample loop (checked) or vectorized backprop",
                     checkable=True)
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
    for act in (a.new, a.open, a.save, a.save_as, None, a.import_csv, a.export, None, a.quit):
        m.addSeparator() if act is None else m.addAction(act)
    m = mb.addMenu("&Edit")
    m.addAction(a.undo)
    m.addAction(a.redo)
    m = mb.addMenu("&Training")
    for act in (a.play, a.step, a.reset, None, a.loop):
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
    a.speed_combo = QComboBox()
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
    return a
