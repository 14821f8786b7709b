"""Starting the desktop app, interactively or for a timed automated run.

:func:`run_gui` is what ``bpviz gui`` (and plain ``bpviz``) calls. With
``run_for`` it opens the window, trains for that many seconds, saves a
screenshot of the whole window, prints one JSON line of figures
(``steps_per_s``, ``fps``, ``first_frame_s``, ``peak_rss_mb``) and returns 0.

Nothing here needs a POSIX-only module: teachers run Windows and macOS, so the
peak-memory figure of ``--stats`` reads :mod:`resource` only where it exists
(and Windows' own counter otherwise), and is ``null`` where neither does.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ..engine.errors import BpvizError
from ..resources import resources_dir


def process_age_s() -> float:
    """Seconds since this process started (Linux /proc; else since bpviz.gui.app loaded)."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat, counted after "pid (comm)"
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):  # no /proc, no os.sysconf
        return time.perf_counter() - _LOADED


_LOADED = time.perf_counter()
#: The process's age when this module loaded: small when ``bpviz gui`` started it.
_AGE_AT_LOAD = process_age_s()


def launch_time() -> float:
    """``time.perf_counter()`` of the launch that a first-frame time counts from: the
    process's start when the process was started to open bpviz (this module loaded in its
    first seconds, and a moment ago), else now (an embedding program or a test run)."""
    now = time.perf_counter()
    if _AGE_AT_LOAD < 10.0 and now - _LOADED < 10.0:
        return now - process_age_s()
    return now


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process in MiB, or None where it cannot be read.

    POSIX: ``resource.getrusage`` (``ru_maxrss`` is KiB on Linux, bytes on macOS).
    Windows: the peak working set from ``GetProcessMemoryInfo``. The modules are
    imported here, inside ``try``, so that importing this module works everywhere.
    """
    try:  # by name: a POSIX-only module, absent on Windows
        resource = importlib.import_module("resource")
    except ImportError:
        return _peak_working_set_mb()
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 1024.0 / 1024.0


def _peak_working_set_mb() -> float | None:
    """Windows' peak working set in MiB; None on any other system or on failure."""
    if sys.platform != "win32":
        return None
    try:
        import ctypes
        from ctypes import wintypes

        class Counters(ctypes.Structure):
            _fields_ = [("cb", wintypes.DWORD), ("PageFaultCount", wintypes.DWORD)] + [
                (name, ctypes.c_size_t) for name in (
                    "PeakWorkingSetSize", "WorkingSetSize", "QuotaPeakPagedPoolUsage",
                    "QuotaPagedPoolUsage", "QuotaPeakNonPagedPoolUsage",
                    "QuotaNonPagedPoolUsage", "PagefileUsage", "PeakPagefileUsage")]

        counters = Counters()
        counters.cb = ctypes.sizeof(Counters)
        kernel32, psapi = ctypes.WinDLL("kernel32"), ctypes.WinDLL("psapi")
        kernel32.GetCurrentProcess.restype = wintypes.HANDLE
        psapi.GetProcessMemoryInfo.argtypes = [wintypes.HANDLE, ctypes.c_void_p, wintypes.DWORD]
        if not psapi.GetProcessMemoryInfo(kernel32.GetCurrentProcess(),
                                          ctypes.byref(counters), counters.cb):
            return None
        return counters.PeakWorkingSetSize / 2**20
    except (ImportError, AttributeError, OSError):
        return None


def make_app(argv: list[str] | None = None) -> Any:
    """The QApplication (created once), with bpviz's style sheet and pyqtgraph options."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else [sys.argv[0]])
        app.setApplicationName("bpviz")
        app.setOrganizationName("bpviz")
        app.setApplicationDisplayName("bpviz")
        qss = resources_dir() / "style" / "bpviz.qss"
        if qss.is_file():
            app.setStyleSheet(qss.read_text(encoding="utf-8"))
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)
    return app


#: How often the GUI thread runs the garbage collector (see collect_on_gui_thread): often
#: enough that each collection of the youngest generation stays small (0.5 s cost the
#: digits window about 5 % of its steps/s; `benchmarks/gui_fps.py`).
GC_INTERVAL_S = 0.1
_collector: list[Any] = []   # the one collector of this process, once made


def collect_on_gui_thread() -> Any:
    """Python's cyclic garbage collector runs in whichever thread happens to allocate:
    in the training worker or a file-reading thread, it would destroy the Qt objects of
    a closed window off the GUI thread, and Qt crashes (seen as segmentation faults
    "Garbage-collecting" in the worker). From here on it runs only on the GUI thread,
    on a timer (pyqtgraph's ``GarbageCollector``: automatic collection off, the same
    thresholds checked every :data:`GC_INTERVAL_S`). Needs the QApplication; once per
    process. Returns the collector (its ``check()`` collects now if due)."""
    if not _collector:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _collector.append(GarbageCollector(interval=GC_INTERVAL_S))
    return _collector[0]


def started() -> None:
    """The window is built: what exists now (modules, Qt wrappers, widgets) lives as
    long as the app, so it goes out of the garbage collector's sight, and its full
    passes (frequent in a fast run, whose step records age into its oldest generation)
    walk only what came later; and from now on the collector runs on the GUI thread
    only (:func:`collect_on_gui_thread`). ``bpviz gui`` and the benchmarks that open
    the window call it; tests do not freeze (their windows come and go)."""
    gc.freeze()
    collect_on_gui_thread()


def build(preset: str | None = None, session: str | None = None, view: str | None = None,
          backend: str = "numpy", automation: bool = False,
          size: tuple[int, int] | None = None) -> tuple[Any, Any]:
    """Controller and window; raises :class:`BpvizError` on a bad preset/session/view.

    ``size`` (width, height) opens the window at that size, with the default layout
    chosen for it (a saved layout is not restored).
    """
    from . import panels
    from .controller import Controller
    from .main_window import MainWindow

    if view is not None and view not in panels.panel_names():
        raise BpvizError(f"unknown view {view!r}; choose one of "
                         f"{', '.join(panels.panel_names())}")
    ctx = Controller(preset, backend=backend)
    try:
        if session is not None and not ctx.open_session(session):
            raise BpvizError(ctx.last_error)
        win = MainWindow(ctx, restore_layout=not automation and size is None,
                         save_layout=not automation, size=size)
        win.confirm_losing_work = not automation   # an automated run closes unasked
        if view is not None and not win.raise_view(view):
            raise BpvizError(f"the view {view!r} could not be opened")
    except BaseException:
        ctx.shutdown()
        raise
    return ctx, win


class AutoRun:
    """Trains for ``seconds`` after the first frame, then screenshots and reports."""

    def __init__(self, app: Any, ctx: Any, win: Any, seconds: float,
                 screenshot: str | None, stats: bool, launched: float | None = None,
                 shot: Any = None) -> None:
        from PySide6.QtCore import QEventLoop, QTimer

        self.app, self.ctx, self.win = app, ctx, win
        self.shot = shot if shot is not None else win   # the window the screenshot is of
        # a local loop, not app.exec()/app.exit(): exit() would make every later event
        # loop in this process return at once (tests run several apps in one process)
        self.loop = QEventLoop()
        self.seconds, self.screenshot, self.stats = max(0.0, seconds), screenshot, stats
        self.first_frame_s: float | None = None
        self.launched = time.perf_counter() if launched is None else launched
        self.rc = 0
        self._poll = QTimer()
        self._poll.setInterval(5)
        self._poll.timeout.connect(self._wait_first_frame)
        self._poll.start()

    def _wait_first_frame(self) -> None:
        from PySide6.QtCore import QTimer

        if self.win.first_frame_at is None:
            return
        self._poll.stop()
        self.first_frame_s = self.win.first_frame_at - self.launched
        self.t0 = time.perf_counter()
        self.steps0 = self.ctx.worker.total_steps
        self.frames0 = self.win.frames
        if self.seconds > 0:
            self.ctx.play()
        QTimer.singleShot(int(self.seconds * 1000), self._finish)

    def _finish(self) -> None:
        elapsed = max(time.perf_counter() - self.t0, 1e-9)
        steps = self.ctx.worker.total_steps - self.steps0
        frames = self.win.frames - self.frames0
        for _ in range(5):  # let the latest snapshot reach the screen
            self.app.processEvents()
            time.sleep(0.01)
        if self.screenshot:
            # paused first, and long enough for the readouts that change at most a few
            # times a second ("colour scale ±s") to catch up with the matrices: a
            # screenshot shows one step everywhere
            self.ctx.pause()
            if self.shot is not self.win:   # a comparison (--compare) trains on its own
                self.shot.set_playing(False)
            settle = time.perf_counter() + 0.4
            while time.perf_counter() < settle:
                self.app.processEvents()
                time.sleep(0.01)
            Path(self.screenshot).parent.mkdir(parents=True, exist_ok=True)
            if not self.shot.grab().save(str(self.screenshot)):
                print(f"bpviz gui: could not write {self.screenshot}", file=sys.stderr)
                self.rc = 1
        self.ctx.pause()
        if self.stats:
            peak = peak_rss_mb()
            print(json.dumps({
                "steps_per_s": round(steps / elapsed, 1),
                "fps": round(frames / elapsed, 1),
                "first_frame_s": round(self.first_frame_s or 0.0, 3),
                "peak_rss_mb": None if peak is None else round(peak, 1),
                "history_mb": round((self.ctx.worker.history.nbytes
                                     + self.ctx.worker.checkpoints.nbytes) / 2**20, 1),
                "steps": steps, "frames": frames, "seconds": round(elapsed, 2),
            }), flush=True)
        self.win.close()
        self.loop.exit(self.rc)

    def exec(self) -> int:
        return int(self.loop.exec())


def run_gui(preset: str | None = None, session: str | None = None, view: str | None = None,
            run_for: float | None = None, screenshot: str | None = None, stats: bool = False,
            backend: str = "numpy", presentation: bool = False,
            size: tuple[int, int] | None = None, history_mb: int | None = None,
            compare: str | None = None) -> int:
    """Open the window; with ``run_for`` (or a screenshot/stats request) run it automatically.

    ``presentation=True`` starts in presentation mode (F5 toggles it); ``size``
    (width, height) opens the window at that size (``--size WxH``); ``history_mb``
    the timeline's memory this time (``--history-mb``, not remembered); ``compare``
    a comparison story opened and played beside it (``--compare``).
    """
    launched = launch_time()
    automated = run_for is not None or screenshot is not None or stats
    app = make_app()
    try:
        if compare is not None:
            from ..engine.compare import comparison_preset

            comparison_preset(compare)   # an unknown story: one line, before any window
        ctx, win = build(preset, session, view, backend, automation=automated, size=size)
    except BpvizError as exc:
        print(f"bpviz: error: {exc}", file=sys.stderr)
        return 2
    if history_mb is not None:
        win.timeline.set_budget_mb(history_mb)
    win.show()
    started()
    if presentation:
        win.actions_.presentation.trigger()  # checks it and applies it
        # laid out anew for the large type: the preset's views (or --view) in front again
        win.show_preset_views(ctx.preset)
        if view is not None:
            win.raise_view(view)
    shot = win
    if compare is not None:
        from .compare_window import open_compare_window

        shot = open_compare_window(win, compare)
        if size is not None:
            shot.resize(*size)
        shot.set_playing(True)
    if not automated:
        from .recovery import start_recovery

        start_recovery(win)   # a crash's unsaved session offered; then saved every minute
        app.aboutToQuit.connect(ctx.shutdown)
        rc = int(app.exec())
        ctx.shutdown()
        return rc
    auto = AutoRun(app, ctx, win, run_for or 0.0, screenshot, stats, launched, shot)
    rc = auto.exec()
    ctx.shutdown()
    win.deleteLater()
    return rc or auto.rc
