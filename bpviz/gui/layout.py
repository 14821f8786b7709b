"""The default arrangement of the main window's docks, and resizing its columns.

Three columns, all built in the left and right dock areas (Qt resizes docks
reliably only there when there is no central widget):

* left column: the registry's LEFT panels, stacked (network, settings);
* centre column: the TOP panels (matrices and the views tabbed with it) over
  the BOTTOM panels (loop vs vectorized, health, ...), split off the left
  column with ``splitDockWidget``;
* right column: the RIGHT panels, stacked (data, loss, lesson).

``PanelInfo.tab_with`` puts a panel in a tab group; the first panel of each
group ends up in front.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from . import panels as registry

if TYPE_CHECKING:
    from .main_window import MainWindow

H, V = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
#: Default column widths (fractions of the window) and row heights.
COLUMNS = (0.2, 0.55, 0.25)
CENTRE_ROWS = (0.72, 0.24)
LEFT_ROWS = (0.5, 0.45)
RIGHT_ROWS = (0.55, 0.4)


def _leaders(win: MainWindow, area: Qt.DockWidgetArea) -> list[QDockWidget]:
    """The docks of ``area`` that head a tab group (or stand alone), in registry order."""
    out = []
    for info in registry.PANELS:
        dock = win.docks.get(info.name)
        if dock is not None and info.area == area and not (
                info.tab_with and info.tab_with in win.docks):
            out.append(dock)
    return out


def apply_default_layout(win: MainWindow) -> None:
    """Put every dock where the registry says; visibility and sizes as on first start."""
    L, R = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
    for dock in win.docks.values():
        dock.setFloating(False)
        win.removeDockWidget(dock)
    left, top = _leaders(win, registry.LEFT), _leaders(win, registry.TOP)
    bottom, right = _leaders(win, registry.BOTTOM), _leaders(win, registry.RIGHT)
    anchor = left[0] if left else None
    centre = top + bottom
    if anchor is not None:
        win.addDockWidget(L, anchor, V)
    if centre:
        if anchor is not None:
            win.splitDockWidget(anchor, centre[0], H)  # the centre column, right of the left one
        else:
            win.addDockWidget(L, centre[0], V)
        for prev, d in zip(centre, centre[1:], strict=False):
            win.splitDockWidget(prev, d, V)
    for prev, d in zip(left, left[1:], strict=False):  # the rest of the left column
        win.splitDockWidget(prev, d, V)
    for d in right:
        win.addDockWidget(R, d, V)
    for info in registry.PANELS:
        dock = win.docks.get(info.name)
        if dock is None:
            continue
        if info.tab_with and info.tab_with in win.docks:
            win.tabifyDockWidget(win.docks[info.tab_with], dock)
        dock.setVisible(info.visible_by_default)
    for info in registry.PANELS:  # the first of each tab group in front
        if info.tab_with and info.tab_with in win.docks:
            win.docks[info.tab_with].raise_()
    size_columns(win, *COLUMNS)
    size_rows(win)


def first_visible(win: MainWindow, area: Qt.DockWidgetArea) -> QDockWidget | None:
    """The first visible, docked panel whose registry area is ``area``."""
    for info in registry.PANELS:
        d = win.docks.get(info.name)
        if d is not None and info.area == area and not d.isHidden() and not d.isFloating():
            return d
    return None


def size_columns(win: MainWindow, left: float, centre: float, right: float) -> None:
    """Make the three columns these fractions of the window's width."""
    w = max(win.width(), 1000)
    docks, sizes = [], []
    for area, frac in ((registry.LEFT, left), (registry.TOP, centre), (registry.RIGHT, right)):
        d = first_visible(win, area) or (first_visible(win, registry.BOTTOM)
                                         if area == registry.TOP else None)
        if d is not None and frac > 0:
            docks.append(d)
            sizes.append(int(w * frac))
    if docks:
        win.resizeDocks(docks, sizes, H)


def size_rows(win: MainWindow) -> None:
    h = max(win.height(), 700)
    for a, b, rows in ((registry.TOP, registry.BOTTOM, CENTRE_ROWS),):
        da, db = first_visible(win, a), first_visible(win, b)
        if da is not None and db is not None:
            win.resizeDocks([da, db], [int(h * rows[0]), int(h * rows[1])], V)
    for area, rows in ((registry.LEFT, LEFT_ROWS), (registry.RIGHT, RIGHT_ROWS)):
        docks = [d for d in _leaders(win, area) if not d.isHidden()][:2]
        if len(docks) == 2:
            win.resizeDocks(docks, [int(h * rows[0]), int(h * rows[1])], V)


def give_room(win: MainWindow, name: str) -> None:
    """Size the centre column's rows for the view asked for by name (``--view``, a
    preset): one in the short bottom row gets half of the column so its content
    reads; one in the top row gets the default, large top row back."""
    info = next((i for i in registry.PANELS if i.name == name), None)
    top, bottom = first_visible(win, registry.TOP), first_visible(win, registry.BOTTOM)
    if info is None or top is None or bottom is None:
        return
    h = max(win.height(), 700)
    if info.area == registry.BOTTOM:
        win.resizeDocks([top, win.docks[name]], [int(h * 0.48), int(h * 0.48)], V)
    elif info.area == registry.TOP:
        win.resizeDocks([top, bottom], [int(h * CENTRE_ROWS[0]), int(h * CENTRE_ROWS[1])], V)
