"""The timeline: a slider over the kept training history, in a toolbar row.

Dragging the slider (or Alt+← / Alt+→, Home / End, the window's keys in
:mod:`bpviz.gui.actions`) asks the window to show a kept step
(:attr:`Timeline.scrubbed`); the window pauses training and shows that step in
every view (:meth:`bpviz.gui.main_window.MainWindow.show_recorded_step`). The
marker says "viewing step 1,240 of 5,000", or how much is kept while the newest
step is shown. Only published steps are kept (at most ~30 a second; see
:mod:`bpviz.gui.history`). The history's memory budget is the box at the end of
the row (kept in the window's settings).
"""

from __future__ import annotations

import bisect

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QToolButton, QWidget

from .history import History
from .views.throttle import Throttle
from .widgets import StatusField

#: While training, the slider and the "N steps kept" line follow at most this often
#: (a step is kept on most frames; redrawing the slider each frame repaints the
#: toolbar and the window behind it).
FOLLOW_S = 0.25

#: The budget choices of the box, in MB.
BUDGETS_MB: tuple[int, ...] = (0, 64, 128, 256, 512, 1024, 2048)
#: The settings key of the chosen budget (MB).
BUDGET_KEY = "history/budget_mb"


def budget_text(mb: int) -> str:
    if mb == 0:
        return "History off"
    return f"History {mb // 1024} GB" if mb >= 1024 else f"History {mb} MB"


def mb(nbytes: int) -> str:
    return f"{nbytes / (1 << 20):,.0f} MB" if nbytes >= 1 << 20 else f"{nbytes / 1024:,.0f} kB"


#: The longest marker text the field is first sized for.
MARKER_TEMPLATE = "viewing step 9,999,999 of 9,999,999"


class Timeline(QWidget):
    """Slider, marker, Newest button and budget box over a :class:`History`.

    Signals: ``scrubbed(int)`` the user picked a kept step; ``newestRequested()``
    back to the newest step.
    """

    scrubbed = Signal(int)
    newestRequested = Signal()

    def __init__(self, history: History, settings: QSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline")
        self._history = history
        self._settings = settings
        self._version: tuple | None = None   # the history's version the slider shows
        self._count = 0                      # kept steps (the slider's length)
        self._newest = 0
        self._follow = Throttle(lambda: self.refresh(self._newest), FOLLOW_S, self)
        self._viewing: int | None = None
        self._syncing = False
        self._exact = True
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("timeline_slider")
        self.slider.setMinimumWidth(240)
        self.slider.setToolTip("Drag back through the kept steps: training pauses and every "
                               "view shows that mini-batch (Alt+← / Alt+→, Home / End)")
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)   # ←/→ stay the window's keys
        self.slider.valueChanged.connect(self._moved)
        self.newest = QToolButton()
        self.newest.setObjectName("timeline_newest")
        self.newest.setText("Newest")
        self.newest.setToolTip("Back to the newest step (End)")
        self.newest.clicked.connect(self.newestRequested)
        # painted in a fixed size: a QLabel would re-lay out the whole window (every dock)
        # on each frame as its text changes width
        # on the toolbar's shaded background, and it changes a few times a second: not opaque
        self.marker = StatusField(MARKER_TEMPLATE, opaque=False)
        self.marker.setObjectName("timeline_marker")
        self.marker.setToolTip("Only the published steps are kept (up to ~30 a second): "
                               "every one of the newest 500, then every 10th, 100th …, "
                               "within the memory budget; the oldest may be kept at "
                               "display precision (float16)")
        self.budget = QComboBox()
        self.budget.setObjectName("timeline_budget")
        self.budget.setToolTip("Memory kept for the timeline (a hard bound); a smaller "
                               "budget keeps fewer old steps, or keeps them at display "
                               "precision")
        for v in BUDGETS_MB:
            self.budget.addItem(budget_text(v), v)
        self.budget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        saved = settings.value(BUDGET_KEY) if settings is not None else None
        try:
            chosen = int(saved) if saved is not None else history.max_bytes >> 20
        except (TypeError, ValueError):
            chosen = history.max_bytes >> 20
        i = self.budget.findData(chosen)
        self.budget.setCurrentIndex(i if i >= 0 else self.budget.findData(256))
        self._apply_budget()
        self.budget.activated.connect(lambda _i: self._apply_budget(save=True))
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        lay.addWidget(QLabel("Timeline"))
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.newest)
        lay.addWidget(self.marker)
        lay.addWidget(self.budget)
        self.refresh(0)

    # ------------------------------------------------------------ state
    @property
    def viewing(self) -> int | None:
        """The kept step on screen, or None while the newest is shown."""
        return self._viewing

    def marker_text(self) -> str:
        return self.marker.text()

    def follow(self, newest: int) -> None:
        """A new frame shows step ``newest``: :meth:`refresh` soon (at most every
        :data:`FOLLOW_S`; the last one always comes)."""
        self._newest = int(newest)
        self._follow.request()

    def refresh(self, newest: int) -> None:
        """The newest trained step is ``newest``: take the kept steps again (the slider
        stays at its end while the newest is shown)."""
        self._newest = int(newest)
        version = self._history.version()
        if version != self._version:
            # during training a step is kept on most frames: only the count is taken
            # then (the step numbers, History.steps, when the slider moves)
            self._version = version
            self._count = version[1]
            self._syncing = True
            self.slider.setRange(0, max(0, self._count - 1))
            if self._viewing is None:
                self.slider.setValue(self.slider.maximum())
            else:
                self.slider.setValue(self._index_of(self._viewing))
            self._syncing = False
        self.slider.setEnabled(self._count > 1)
        self._show_marker()

    def set_viewing(self, step: int | None, exact: bool = True) -> None:
        """Say which step is on screen (None: the newest)."""
        self._viewing = None if step is None else int(step)
        self._exact = exact
        if step is None:
            self.refresh(self._newest)
            return
        self._syncing = True
        self.slider.setValue(self._index_of(int(step)))
        self._syncing = False
        self._show_marker()

    def neighbour(self, delta: int) -> int | None:
        """The kept step ``delta`` places from the one on screen (the newest if none);
        None past the newest end."""
        steps = self._history.steps()
        if not steps:
            return None
        cur = self._viewing if self._viewing is not None else steps[-1]
        i = self._index_of(cur, steps) + delta
        if i >= len(steps):
            return None
        return steps[max(i, 0)]

    def oldest(self) -> int | None:
        steps = self._history.steps()
        return steps[0] if steps else None

    # ------------------------------------------------------------ internals
    def _index_of(self, step: int, steps: list[int] | None = None) -> int:
        steps = self._history.steps() if steps is None else steps
        return max(0, bisect.bisect_right(steps, step) - 1)

    def _moved(self, index: int) -> None:
        steps = self._history.steps() if not self._syncing else []
        if not steps:
            return
        index = max(0, min(index, len(steps) - 1))
        if index == len(steps) - 1 and steps[-1] >= self._newest:
            self.newestRequested.emit()
        else:
            self.scrubbed.emit(steps[index])

    def _show_marker(self) -> None:
        h = self._history
        if self._viewing is not None:
            text = f"viewing step {self._viewing:,} of {self._newest:,}"
            if not self._exact:
                text += " (display precision, float16)"
        elif h.too_big:
            text = "one step is larger than the history budget: nothing kept"
        elif h.max_bytes <= 0:
            text = "history off"
        else:
            text = f"{self._count:,} steps kept, {mb(h.nbytes)} of {mb(h.max_bytes)}"
        if len(text) > len(self.marker.template()):   # a longer kind of text: resize once
            self.marker.set_template(text)
        self.marker.setText(text)

    def set_budget_mb(self, mb: int, save: bool = False) -> None:
        """Keep ``mb`` MB for the timeline (0: history off), e.g. from ``--history-mb``;
        a size the box does not list is added to it. ``save``: remembered for the next
        launch."""
        i = self.budget.findData(int(mb))
        if i < 0:
            self.budget.addItem(budget_text(int(mb)), int(mb))
            i = self.budget.count() - 1
        self.budget.setCurrentIndex(i)
        self._apply_budget(save)

    def _apply_budget(self, save: bool = False) -> None:
        v = int(self.budget.currentData())
        self._history.set_budget(v << 20)
        if save and self._settings is not None:
            self._settings.setValue(BUDGET_KEY, v)
        self.refresh(self._newest)
