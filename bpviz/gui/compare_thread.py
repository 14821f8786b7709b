"""The compare window's training thread: two runs in lock step, latest-only.

:class:`CompareThread` owns a :class:`~bpviz.engine.compare.Comparison` while it
runs. It trains both runs one mini-batch at a time (paused, stepped or playing),
asks for their matrices at most :data:`MAX_FPS` times a second and hands the
newest pair to the GUI through one slot guarded by a mutex, with the losses of
every step since the last hand-over. It waits on a condition (no spinning) while
paused and is stopped and waited for, never terminated.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QMutex, QMutexLocker, QObject, QThread, QWaitCondition, Signal

from ..engine.compare import Comparison
from ..engine.errors import BpvizError
from ..engine.records import StepRecord

#: At most this many publications (frames) a second.
MAX_FPS = 20


class CompareThread(QThread):
    """Trains a :class:`Comparison` in lock step; owns it while running.

    Signals
    -------
    published() : a new slot is ready; :meth:`take` it on the GUI thread.
    failed(str) : a one-line error (a diverged run); training pauses.
    """

    published = Signal()
    failed = Signal(str)

    def __init__(self, comparison: Comparison, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._comp = comparison
        self._mutex = QMutex()
        self._cond = QWaitCondition()
        self._playing = False
        self._steps = 0
        self._stop = False
        self._reset = False
        self._generation = 0
        self._slot: tuple[int, StepRecord, StepRecord] | None = None
        self._losses: list[tuple[int, float, float]] = []
        self._last = 0.0

    # ------------------------------------------------------------ GUI side
    @property
    def names(self) -> tuple[str, str]:
        return self._comp.names

    @property
    def generation(self) -> int:
        """Counts resets: a slot of an older generation belongs to the run before."""
        return self._generation

    def set_playing(self, on: bool) -> None:
        with QMutexLocker(self._mutex):
            self._playing = bool(on)
            self._cond.wakeAll()

    def is_playing(self) -> bool:
        return self._playing

    def request_step(self, n: int = 1) -> None:
        with QMutexLocker(self._mutex):
            self._steps += n
            self._cond.wakeAll()

    def request_reset(self) -> None:
        with QMutexLocker(self._mutex):
            self._reset, self._playing, self._steps = True, False, 0
            self._generation += 1
            self._slot, self._losses = None, []
            self._cond.wakeAll()

    def stop(self) -> None:
        """Stop after the current mini-batch and wait for the thread (never terminate)."""
        with QMutexLocker(self._mutex):
            self._stop = True
            self._cond.wakeAll()
        self.quit()
        self.wait()

    def take(self) -> tuple[int, StepRecord | None, StepRecord | None,
                            list[tuple[int, float, float]]]:
        """``(generation, record A, record B, [(step, loss A, loss B), ...])`` published
        since the last take (records None when nothing new)."""
        with QMutexLocker(self._mutex):
            slot, losses = self._slot, self._losses
            self._slot, self._losses = None, []
            gen = self._generation
        if slot is None:
            return gen, None, None, losses
        return slot[0], slot[1], slot[2], losses

    # ------------------------------------------------------------ the thread
    def _publish(self, gen: int, ra: StepRecord, rb: StepRecord) -> None:
        with QMutexLocker(self._mutex):
            if gen != self._generation:
                return
            self._slot = (gen, ra, rb)
        self._last = time.perf_counter()
        self.published.emit()

    def run(self) -> None:  # noqa: D102 (QThread API)
        comp = self._comp
        self._publish(self._generation, *comp.current_records())
        while True:
            self._mutex.lock()
            while not (self._stop or self._reset or self._playing or self._steps):
                self._cond.wait(self._mutex)
            stop, reset, gen = self._stop, self._reset, self._generation
            self._reset = False
            if not stop and not reset and not self._playing:
                self._steps -= 1
            last = not self._playing and self._steps == 0
            self._mutex.unlock()
            if stop:
                return
            if reset:
                comp.reset()
                self._publish(gen, *comp.current_records())
                continue
            due = last or time.perf_counter() - self._last >= 1.0 / MAX_FPS
            try:
                ra, rb = comp.step(1, matrices=due)
            except BpvizError as exc:
                self.set_playing(False)
                self.failed.emit(str(exc))
                continue
            with QMutexLocker(self._mutex):
                if gen == self._generation:
                    self._losses.append((ra.step, ra.loss, rb.loss))
            if due or comp.diverged:
                self._publish(gen, ra, rb)
            if comp.diverged:
                self.set_playing(False)
                self.failed.emit(f"run {comp.diverged} diverged at step {ra.step}; "
                                 "press Reset (or lower the learning rate)")
            elif not due:
                self.msleep(1)   # a few hundred steps a second: watchable, and the GUI breathes
