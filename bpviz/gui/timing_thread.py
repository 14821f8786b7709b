"""The Timing Lab's worker thread: one sweep off the GUI thread, in a child process.

:class:`SweepThread` starts :func:`bpviz.engine.sweep.sweep_worker` in a
spawned process and relays its messages as signals, so the GUI thread's Python
work never holds the GIL in the middle of a timed call. Cancel sets a flag the
sweep checks between points and repeats. :func:`stop_all_sweeps` (connected
to ``aboutToQuit``) cancels and waits for every running sweep: stop flag,
``quit()``, ``wait()``, never ``terminate()``.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from typing import Any

from PySide6.QtCore import QThread, Signal

from ..engine.errors import BpvizError
from ..engine.sweep import SweepResult, sweep, sweep_worker


class SweepThread(QThread):
    """Runs one :func:`sweep`; ``result``/``error`` are read when ``finished`` fires.

    With ``isolate`` (the default) the sweep runs in a child process and this
    thread only relays its messages: the GUI thread's Python work (repaints,
    the training worker's snapshots) then cannot hold the GIL in the middle of
    a timed call. If no process can be started it runs here instead.
    """

    rowReady = Signal(object)
    progressed = Signal(int, int)

    def __init__(self, kwargs: dict[str, Any], isolate: bool = True) -> None:
        super().__init__()
        self.kwargs = kwargs
        self.isolate = isolate
        self.cancel = threading.Event()
        self.result: SweepResult | None = None
        self.error: str | None = None

    def run(self) -> None:
        if self.isolate:
            try:
                proc, q, ev = self._start_child()
            except Exception:  # no processes here (embedded, sandboxed): measure in-thread
                pass
            else:
                self._relay(proc, q, ev)
                return
        try:
            self.result = sweep(**self.kwargs, progress=self.progressed.emit,
                                on_row=self.rowReady.emit, cancel=self.cancel)
        except BpvizError as exc:
            self.error = str(exc)
        except Exception as exc:  # never let a sweep take the window down
            self.error = f"the sweep failed: {type(exc).__name__}: {exc}"

    def _start_child(self) -> tuple[Any, Any, Any]:
        mp = multiprocessing.get_context("spawn")  # never fork a process that runs Qt
        q, ev = mp.Queue(), mp.Event()
        proc = mp.Process(target=sweep_worker, args=(self.kwargs, q, ev), daemon=True,
                          name="bpviz-timing")
        proc.start()
        return proc, q, ev

    def _relay(self, proc: Any, q: Any, ev: Any) -> None:
        grace = 0
        while True:
            if self.cancel.is_set():
                ev.set()
            try:
                msg = q.get(timeout=0.05)
            except queue.Empty:
                if proc.is_alive():
                    continue
                grace += 1
                if grace < 20:  # let the last messages arrive
                    continue
                self.error = f"the timing process stopped (exit code {proc.exitcode})"
                break
            if msg[0] == "progress":
                self.progressed.emit(msg[1], msg[2])
            elif msg[0] == "row":
                self.rowReady.emit(msg[1])
            else:
                self.result, self.error = (msg[1], None) if msg[0] == "done" else (None, msg[1])
                break
        proc.join(10)
        if proc.is_alive():  # pragma: no cover - a child that ignores its cancel flag
            proc.kill()
            proc.join()


_RUNNING: set[SweepThread] = set()


def stop_all_sweeps() -> None:
    """Cancel every running sweep and wait for its thread (on application quit)."""
    for t in list(_RUNNING):
        t.cancel.set()
        t.quit()
        t.wait()
    _RUNNING.clear()
