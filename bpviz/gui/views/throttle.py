"""Redraw at most N times a second: the history plots need no 30 frames/s.

:class:`Throttle` calls ``fn`` at once if the last call is older than
``interval_s``, else once when the interval has passed (so the final state is
always drawn); :meth:`Throttle.flush` draws now (tests, screenshots).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer


class Throttle(QObject):
    def __init__(self, fn: Callable[[], None], interval_s: float = 0.1,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self.interval_s = interval_s
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._fire)

    def request(self) -> None:
        wait = self._last + self.interval_s - time.perf_counter()
        if wait <= 0:
            self._fire()
        elif not self._timer.isActive():
            self._timer.start(int(wait * 1000) + 1)

    def flush(self) -> None:
        self._timer.stop()
        self._fire()

    def cancel(self) -> None:
        self._timer.stop()

    def pending(self) -> bool:
        return self._timer.isActive()

    def _fire(self) -> None:
        self._last = time.perf_counter()
        self._fn()
