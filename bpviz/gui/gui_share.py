"""Sharing one Python interpreter between the training thread and the GUI.

Python threads share one GIL. A busy training loop gives it up only for
microseconds at a time (inside each NumPy call), and the GUI thread, which
must take it back for every Python slot and every pyqtgraph paint, can then
starve for seconds: the window freezes. :class:`GuiShare` is the part of the
worker that prevents this (see :meth:`GuiShare.attach_gui`).
"""

from __future__ import annotations

import math
import time
from typing import Any

#: GUI sharing (see :meth:`GuiShare.attach_gui`): the GUI counts as starved when its
#: heartbeat is older than this; the worker then sleeps in YIELD_S slices (no GIL held).
GUI_STALE_S = 0.05
#: How often the window's timer calls :meth:`GuiShare.gui_alive`: each beat is a call into
#: Python that takes the GIL from training, so no more often than a starved GUI needs
#: noticing (two beats and a half per GUI_STALE_S).
HEARTBEAT_S = 0.02
YIELD_S = 0.002
#: Longest the worker waits for the GUI to finish drawing a frame before training on.
MAX_FRAME_WAIT_S = 0.25
#: Longest one yield to the GUI lasts before a step is taken anyway.
MAX_YIELD_S = 0.5


class GuiShare:
    """Mixed into :class:`~bpviz.gui.worker.TrainingWorker` (which provides ``_cond``,
    ``_stop``, ``_jobs`` and ``_last_publish``)."""

    _cond: Any
    _stop: bool
    _jobs: Any
    _last_publish: float

    def _init_gui_share(self) -> None:
        self._gui_attached = False
        self._gui_beat = 0.0
        self._frame_pending = False
        self._frame_done_at = -math.inf
        self._frame_cost = 0.0
        self.gui_share = 0.5  # at most this fraction of the time goes to drawing frames
        self._yield_budget = 0.1  # seconds the worker may still sleep for the GUI

    def attach_gui(self, on: bool = True) -> None:
        """A window draws our snapshots: share the interpreter with it fairly.

        Python threads share one GIL, and a busy training loop that releases it
        only for microseconds (each NumPy call) can starve the GUI thread for
        seconds. With a GUI attached the worker therefore (1) sleeps while the
        GUI takes a published snapshot into its views (until :meth:`frame_done`,
        at most ``MAX_FRAME_WAIT_S``; Qt then paints without the GIL, in parallel
        with training), (2) publishes the next snapshot only after training at
        least as long as taking the last one took (so training keeps
        >= 1 − ``gui_share`` of the time), and (3) sleeps whenever the
        GUI's heartbeat (:meth:`gui_alive`, from a timer) is older than
        ``GUI_STALE_S``: the window never freezes.
        """
        self._gui_attached = bool(on)
        self._gui_beat = time.perf_counter()
        self._frame_pending = False
        with self._cond:
            self._cond.notify_all()

    def gui_alive(self) -> None:
        """The GUI's event loop is running (called from a GUI timer)."""
        self._gui_beat = time.perf_counter()

    def frame_done(self, cost_s: float) -> None:
        """The GUI has taken the last snapshot into its views, in ``cost_s`` seconds."""
        self._frame_cost = max(0.0, float(cost_s))
        self._frame_done_at = time.perf_counter()
        self._frame_pending = False
        with self._cond:
            self._cond.notify_all()

    def _frame_ready(self, now: float) -> bool:
        if not self._gui_attached:
            return True
        train_for = self._frame_cost / self._ratio()
        return not self._frame_pending and now - self._frame_done_at >= train_for

    def _ratio(self) -> float:
        share = min(max(self.gui_share, 0.05), 0.95)
        return share / (1.0 - share)

    def _earn(self, trained_s: float) -> None:
        """Training time earns the GUI sleeping time (a token bucket, capped)."""
        self._yield_budget = min(self._yield_budget + trained_s * self._ratio(), MAX_FRAME_WAIT_S)

    def _yield_to_gui(self, now: float | None = None) -> float:
        """Sleep (GIL released) while the GUI draws a frame or looks starved; the time
        after (``now``, the caller's ``time.perf_counter()``, if it did not sleep).

        The sleeping is paid from a budget that training time earns, so the
        GUI gets at most ``gui_share`` of the time and training the rest. The worker
        calls it only while a frame is pending or the heartbeat is older than
        ``GUI_STALE_S``: that test, made on every training step, is its own (a call
        per step would cost the window's training about 0.2 % of its steps).
        """
        t0 = time.perf_counter() if now is None else now
        if not self._gui_attached:
            return t0
        while self._yield_budget > 0:
            now = time.perf_counter()
            starved = now - self._gui_beat > GUI_STALE_S
            drawing = self._frame_pending and now - self._last_publish < MAX_FRAME_WAIT_S
            if not (starved or drawing) or now - t0 > MAX_YIELD_S:
                break
            with self._cond:
                if self._stop or self._jobs or not self._gui_attached:
                    break
                self._cond.wait(YIELD_S)
            self._yield_budget -= time.perf_counter() - now
        return time.perf_counter()
