"""The default arrangement of the main window's docks, chosen for the window's size.

Up to three columns, all built in the left and right dock areas (Qt resizes
docks reliably only there when there is no central widget):

* left column: the registry's LEFT panels (network, settings), stacked, or
  tabbed when the window is short;
* centre column: the TOP panels (matrices and the views tabbed with it) over
  the BOTTOM panels (loop vs vectorized, health, ...), split off the left
  column with ``splitDockWidget``; on a short screen the BOTTOM panels are tabs
  of the TOP group instead of a sliver under it;
* right column: the RIGHT panels (data, loss, lesson); on a narrow screen they
  go under the left column instead, so that the matrices keep room for all
  five columns.

:func:`plan_for` says which, for a window size and presentation mode;
presentation mode (:func:`apply_presentation_layout`) hides the editing panels
and uses the same plans with larger type. ``PanelInfo.tab_with`` puts a panel
in a tab group; the first panel of each group ends up in front.

:func:`fits` is the check a saved layout must pass to be restored, and
:class:`DockTitleBar` the dock title with its "show alone" (focus) button.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStyle,
    QTabBar,
    QToolButton,
    QWidget,
)

from . import panels as registry

if TYPE_CHECKING:
    from .main_window import MainWindow

H, V = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
#: Default column widths (fractions of the window) and row heights (a large window).
COLUMNS = (0.2, 0.55, 0.25)
CENTRE_ROWS = (0.64, 0.34)
LEFT_ROWS = (0.5, 0.45)
RIGHT_ROWS = (0.55, 0.4)
#: A narrow window's left column (the RIGHT panels under the LEFT ones), by how many it
#: stacks: the settings over the data and the loss plot, each tall enough to read (the
#: loss plot was once squeezed to 50 px, its ticks overlapping)
IN_LEFT_ROWS = {2: (0.45, 0.55), 3: (0.26, 0.36, 0.38)}
#: The window size used where there is no real screen (offscreen, tests).
DEFAULT_SIZE = (1600, 1000)
#: Below these sizes a docked, visible panel cannot show its essential content:
#: a saved layout with a dock smaller than this is not restored.
MIN_DOCK = (200, 110)
#: Panels presentation mode leaves out on a small screen (below 1200 px) unless they are
#: in front: the diagnostics, so that the tabs of the rest read in full.
PRESENTATION_SMALL_HIDDEN = ("compare", "health")
#: The screen sizes the default layouts are made for (and tested at).
SCREENS = ((1024, 768), (1366, 768), (1600, 900), (1920, 1080))


@dataclass(frozen=True)
class Plan:
    """How the default layout arranges the docks for one window size.

    Attributes
    ----------
    columns : fractions of the window's width of the left, centre and right column
        (the right one is 0 when the RIGHT panels go under the left column).
    centre_rows : fractions of the height of the centre column's top and bottom row.
    left_tabbed : the LEFT panels as tabs of one group (a short window).
    right_in_left : the RIGHT panels under the left column (a narrow window).
    bottom_tabbed : the BOTTOM panels as tabs of the TOP group (a short window).
    all_tabbed : every panel a tab of the TOP group, full window (presentation mode
        on a narrow screen: tabs rather than slivers, and all the width for the matrices,
        so that small matrices have cells large enough for their numbers).
    hide : panels left out unless they are in front (presentation mode on a small
        screen: fewer panels, so that every tab name reads without scroll arrows).
    """

    columns: tuple[float, float, float]
    centre_rows: tuple[float, float]
    left_tabbed: bool
    right_in_left: bool
    bottom_tabbed: bool
    all_tabbed: bool = False
    hide: tuple[str, ...] = ()


def plan_for(width: int, height: int, presentation: bool = False) -> Plan:
    """The default layout's plan for a window of ``width`` × ``height`` pixels.

    Five matrix columns need about 130 px each (240 in presentation mode); the
    data and loss plots about 300 px; the lower panels (timing-lab plots,
    gradient health) about 280 px of height.
    """
    narrow = width < (1500 if presentation else 1200)
    short = height < (1200 if presentation else 900)
    if presentation:     # the editing panels are hidden: two columns, or one of tabs
        columns = (0.34, 0.66, 0.0) if narrow else (0.0, 0.68, 0.32)
    elif narrow:
        columns = (0.3, 0.7, 0.0)
    else:                # the editing panels need about 340 px
        left = max(COLUMNS[0], 340 / max(width, 1))
        columns = (left, 1.0 - left - COLUMNS[2], COLUMNS[2])
    return Plan(columns=columns, centre_rows=CENTRE_ROWS,
                left_tabbed=short or narrow, right_in_left=narrow, bottom_tabbed=short,
                all_tabbed=presentation and narrow,
                hide=PRESENTATION_SMALL_HIDDEN if presentation and width < 1200 else ())


def screen_size(win: QWidget) -> tuple[int, int] | None:
    """The available size of the screen ``win`` opens on; None without a real screen."""
    app = QApplication.instance()
    if app is None or QApplication.platformName() in ("offscreen", "minimal"):
        return None
    screen = win.screen() or QApplication.primaryScreen()
    if screen is None:
        return None
    g = screen.availableGeometry()
    return g.width(), g.height()


def initial_size(win: QWidget, size: tuple[int, int] | None = None) -> tuple[int, int]:
    """The window's first size: ``size`` if given (``--size``), else the default size
    made to fit the screen it opens on."""
    if size is not None:
        return size
    avail = screen_size(win)
    if avail is None:
        return DEFAULT_SIZE
    return min(DEFAULT_SIZE[0], avail[0]), min(DEFAULT_SIZE[1], avail[1])


def _leaders(win: MainWindow, area: Qt.DockWidgetArea) -> list[QDockWidget]:
    """The docks of ``area`` that head a tab group (or stand alone), in registry order."""
    out = []
    for info in registry.PANELS:
        dock = win.docks.get(info.name)
        if dock is not None and info.area == area and not (
                info.tab_with and info.tab_with in win.docks):
            out.append(dock)
    return out


def current_plan(win: MainWindow) -> Plan:
    from .presentation import is_presentation

    return plan_for(win.width(), win.height(), is_presentation(win))


def apply_default_layout(win: MainWindow, keep: set[str] | None = None,
                         hidden: tuple[str, ...] = ()) -> None:
    """Put every dock where the plan for the window's size says.

    Visibility as on first start, or, with ``keep``, the docks named in it shown
    (those in front of their tab group stay in front); the docks in ``hidden``
    are hidden either way (presentation mode's editing panels).
    """
    L, R = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
    plan = current_plan(win)
    front = {n for n in keep if in_front(win.docks[n])} if keep is not None else set()
    if any(set(front) & {d.objectName() for d in win.tabifiedDockWidgets(win.docks[n])}
           for n in front):    # not laid out yet: every tab claims the front
        front = set()
    for dock in win.docks.values():
        dock.setFloating(False)
        win.removeDockWidget(dock)
    left, top = _leaders(win, registry.LEFT), _leaders(win, registry.TOP)
    bottom, right = _leaders(win, registry.BOTTOM), _leaders(win, registry.RIGHT)
    tabs: list[tuple[QDockWidget, QDockWidget]] = []   # (group, joining)
    if plan.left_tabbed and left:
        tabs += [(left[0], d) for d in left[1:]]
        left = left[:1]
    if plan.bottom_tabbed and top:
        tabs += [(top[0], d) for d in bottom]
        bottom = []
    if plan.all_tabbed and top:
        tabs += [(top[0], d) for d in left + right + bottom]
        left, right, bottom = [], [], []
    if plan.right_in_left:
        left, right = left + right, []
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
    for group, d in tabs:
        win.tabifyDockWidget(group, d)
    for info in registry.PANELS:
        dock = win.docks.get(info.name)
        if dock is None:
            continue
        if info.tab_with and info.tab_with in win.docks:
            win.tabifyDockWidget(win.docks[info.tab_with], dock)
        shown = info.visible_by_default if keep is None else info.name in keep
        dock.setVisible(shown and info.name not in hidden
                        and (info.name not in plan.hide or info.name in front))
    # the first of each tab group in front (the registry's, then the plan's)
    # (before the window is first laid out nothing is in front yet: the registry's rule)
    raised = [win.docks[n] for n in front] if front else [
        *[win.docks[i.tab_with] for i in registry.PANELS if i.tab_with in win.docks],
        *[g for g, _ in tabs]]
    for dock in raised:
        dock.raise_()
    # a tab group made before the window is laid out needs it again
    QTimer.singleShot(0, win, lambda: [d.raise_() for d in raised])
    untruncated_tabs(win)
    size_docks(win)


def in_front(dock: QDockWidget) -> bool:
    """Whether ``dock`` is shown and not behind another tab of its group."""
    return not dock.isHidden() and not dock.visibleRegion().isEmpty()


def size_docks(win: MainWindow) -> None:
    """Columns and rows as the plan for the window's size says."""
    plan = current_plan(win)
    size_columns(win, *plan.columns)
    size_rows(win, plan)


def untruncated_tabs(win: QWidget) -> None:
    """Dock tab names are never cut ("Ma…"): they scroll when there are too many."""
    for bar in win.findChildren(QTabBar):
        bar.setElideMode(Qt.TextElideMode.ElideNone)
        bar.setUsesScrollButtons(True)
        bar.setExpanding(False)


def fits(win: MainWindow) -> bool:
    """Whether every visible, docked panel is at least :data:`MIN_DOCK` large and the
    window fits its screen (what a restored layout must satisfy)."""
    avail = screen_size(win)
    if avail is not None and (win.width() > avail[0] or win.height() > avail[1]):
        return False
    for dock in win.docks.values():
        if dock.isFloating() or not in_front(dock):
            continue
        if dock.width() < MIN_DOCK[0] or dock.height() < MIN_DOCK[1]:
            return False
    return True


def first_visible(win: MainWindow, area: Qt.DockWidgetArea) -> QDockWidget | None:
    """The first visible, docked panel whose registry area is ``area``."""
    for info in registry.PANELS:
        d = win.docks.get(info.name)
        if d is not None and info.area == area and not d.isHidden() and not d.isFloating():
            return d
    return None


def size_columns(win: MainWindow, left: float, centre: float, right: float) -> None:
    """Make the three columns these fractions of the window's width."""
    w = max(win.width(), 640)
    reps = [first_visible(win, registry.LEFT), first_visible(win, registry.TOP)
            or first_visible(win, registry.BOTTOM), first_visible(win, registry.RIGHT)]
    if reps[0] is None or right == 0:           # the RIGHT panels under the left column
        reps[0] = reps[0] or reps[2]
        if right == 0:
            reps[2] = None
    docks, fracs = [], []
    for d, frac in zip(reps, (left, centre, right), strict=True):
        if d is not None and frac > 0 and d not in docks:
            docks.append(d)
            fracs.append(frac)
    if docks:
        total = sum(fracs)
        win.resizeDocks(docks, [int(w * f / total) for f in fracs], H)


def size_rows(win: MainWindow, plan: Plan | None = None) -> None:
    """Row heights of each column (fractions of the window's height)."""
    h = max(win.height(), 480)
    plan = plan or current_plan(win)
    for a, b, rows in ((registry.TOP, registry.BOTTOM, plan.centre_rows),):
        da, db = first_visible(win, a), first_visible(win, b)
        if da is not None and db is not None:
            win.resizeDocks([da, db], [int(h * rows[0]), int(h * rows[1])], V)
    for area, rows in ((registry.LEFT, LEFT_ROWS), (registry.RIGHT, RIGHT_ROWS)):
        docks = [d for d in _leaders(win, area) if not d.isHidden()][:2]
        if len(docks) == 2 and docks[0] not in win.tabifiedDockWidgets(docks[1]):
            win.resizeDocks(docks, [int(h * rows[0]), int(h * rows[1])], V)
    if plan.right_in_left:        # the left column: settings (if shown) over data and loss
        left = first_visible(win, registry.LEFT)
        right = [d for d in _leaders(win, registry.RIGHT) if not d.isHidden()][:2]
        column = ([left] if left is not None else []) + right
        fracs = IN_LEFT_ROWS.get(len(column))
        if fracs is not None:
            win.resizeDocks(column, [int(h * f) for f in fracs], V)


def give_room(win: MainWindow, name: str) -> None:
    """Size the centre column's rows for the view asked for by name (``--view``, a
    preset): one in the short bottom row gets half of the column so its content
    reads; one in the top row gets the default, large top row back."""
    info = next((i for i in registry.PANELS if i.name == name), None)
    top, bottom = first_visible(win, registry.TOP), first_visible(win, registry.BOTTOM)
    if info is None or top is None or bottom is None:
        return
    h = max(win.height(), 480)
    if top in win.tabifiedDockWidgets(bottom):   # a short window: they are tabs
        return
    if info.area == registry.BOTTOM:
        win.resizeDocks([top, win.docks[name]], [int(h * 0.48), int(h * 0.48)], V)
    elif info.area == registry.TOP:
        rows = current_plan(win).centre_rows
        win.resizeDocks([top, bottom], [int(h * rows[0]), int(h * rows[1])], V)


def _toggle_focus(window: weakref.ref[MainWindow], name: str) -> None:
    win = window()
    if win is not None:
        win.toggle_focus(name)


def arrange_toolbars(win: MainWindow) -> None:
    """Toolbar controls are never in the overflow menu: when the toolbars do not fit in
    one row (a narrow window, presentation mode's large type), the second starts a
    second row."""
    first, second = win.actions_.toolbar, win.actions_.toolbar2
    need = first.sizeHint().width() + second.sizeHint().width() + 16
    broken = win.toolBarBreak(second)
    if need > win.width() and not broken:
        win.insertToolBarBreak(second)
    elif need <= win.width() and broken:
        win.removeToolBarBreak(second)


class DockTitleBar(QWidget):
    """A dock's title bar: its title, a "show alone" (focus) button, float and close.

    The focus button calls ``window.toggle_focus(name)``: the panel alone, full
    window, and (pressed again, or the focus key) everything back as it was.
    """

    def __init__(self, dock: QDockWidget, window: MainWindow) -> None:
        super().__init__(dock)
        self._dock = dock
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 1, 2, 1)
        lay.setSpacing(2)
        self.title = QLabel(dock.windowTitle())
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        dock.windowTitleChanged.connect(self.title.setText)
        lay.addWidget(self.title, 1)
        st = self.style()
        # no closure over the window or the dock: a Qt connection holding them would
        # keep a closed window alive
        self.focus_button = self._button("", "Show this panel alone, full window; press "
                                         "again (or F6) to go back",
                                         partial(_toggle_focus, weakref.ref(window),
                                                 dock.objectName()),
                                         st.standardIcon(QStyle.StandardPixmap.
                                                         SP_TitleBarMaxButton))
        self.focus_button.setObjectName("focus")
        self.float_button = self._button("", "Float / dock this panel", self._float,
                                         st.standardIcon(QStyle.StandardPixmap.
                                                         SP_TitleBarNormalButton))
        self.close_button = self._button("", "Close this panel (View menu: open it again)",
                                         dock.close, st.standardIcon(
                                             QStyle.StandardPixmap.SP_TitleBarCloseButton))
        for b in (self.focus_button, self.float_button, self.close_button):
            lay.addWidget(b)

    def _button(self, text: str, tip: str, slot, icon=None) -> QToolButton:  # noqa: ANN001
        b = QToolButton(self)
        b.setAutoRaise(True)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        if icon is not None:
            b.setIcon(icon)
        else:
            b.setText(text)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    def _float(self) -> None:
        self._dock.setFloating(not self._dock.isFloating())

    def set_focused(self, on: bool) -> None:
        """Shown alone: the focus button turns into "back" (restore), float and close go."""
        sp = QStyle.StandardPixmap
        self.focus_button.setIcon(self.style().standardIcon(
            sp.SP_TitleBarNormalButton if on else sp.SP_TitleBarMaxButton))
        self.float_button.setVisible(not on)
        self.close_button.setVisible(not on)
