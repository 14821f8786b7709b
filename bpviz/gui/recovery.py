"""The recovery file: unsaved training survives a crash.

While there is unsaved work (``Controller.has_unsaved_work``), the session is
saved about every minute (:data:`INTERVAL_MS`) to a recovery file in bpviz's
own application-data folder (``QStandardPaths.AppDataLocation``/recovery,
never beside the user's files), through the controller's one save path (the
trainer is read on the training thread between mini-batches). A clean exit
deletes it. So a recovery file found at startup means that the run that wrote
it did not exit cleanly: :func:`start_recovery` offers it (Restore / Discard,
``MainWindow.ask_restore``) before the window starts saving its own.

Each running window writes its own file (``recovery-<pid>.bpviz``) and holds a
lock file beside it (``QLockFile``, which knows a lock whose process is gone):
a second bpviz running at the same time does not offer the first one's file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QLockFile, QObject, QStandardPaths, QTimer

if TYPE_CHECKING:
    from .main_window import MainWindow

#: Milliseconds between two recovery saves.
INTERVAL_MS = 60_000
SUFFIX = ".bpviz"


def default_recovery_dir() -> Path:
    """``<app data>/recovery`` (e.g. ``~/.local/share/bpviz/recovery``,
    ``%APPDATA%/bpviz/recovery``)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return (Path(base) if base else Path.home() / ".bpviz") / "recovery"


def _lock(path: Path) -> QLockFile:
    lock = QLockFile(str(path) + ".lock")
    lock.setStaleLockTime(0)   # stale only when its process is gone, never by age
    return lock


def leftovers(folder: Path) -> list[Path]:
    """Recovery files in ``folder`` whose run is over (no live lock), oldest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob(f"recovery-*{SUFFIX}"):
        lock = _lock(path)
        if lock.tryLock(0):   # free, or left by a process that no longer runs
            lock.unlock()
            found.append(path)
    return sorted(found, key=lambda p: p.stat().st_mtime)


def remove(path: Path) -> None:
    """Delete a recovery file and its lock, if there."""
    for p in (path, Path(str(path) + ".lock")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


class Recovery(QObject):
    """Saves ``win``'s session to its recovery file every ``interval_ms`` while there is
    unsaved work; :meth:`close_clean` deletes it.

    Parameters
    ----------
    win : the main window (its controller saves).
    folder : where the recovery files live.
    interval_ms : time between two saves.
    """

    def __init__(self, win: MainWindow, folder: Path, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(win)
        self.ctx = win.ctx
        self.folder = Path(folder)
        self.path = self.folder / f"recovery-{os.getpid()}{SUFFIX}"
        self._lock: QLockFile | None = None
        self._saved_at: tuple[int, bool] | None = None   # (total steps, dirty) last saved
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.save_now)
        self.timer.start()

    def save_now(self) -> bool:
        """Save the recovery file now if there is unsaved work it does not hold yet;
        delete it when everything is saved. True if a file was written."""
        ctx = self.ctx
        if not ctx.has_unsaved_work():
            remove(self.path)
            self._saved_at = None
            return False
        mark = (ctx.worker.total_steps, ctx.dirty)
        if mark == self._saved_at and self.path.exists():
            return False
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            ctx.message.emit(f"recovery file: {exc}")
            return False
        if self._lock is None:
            self._lock = _lock(self.path)
            self._lock.tryLock(0)
        if not ctx.save_session(str(self.path), recovery=True):
            return False
        self._saved_at = mark
        return True

    def close_clean(self) -> None:
        """A clean exit: stop saving, delete the recovery file."""
        self.timer.stop()
        remove(self.path)
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None


def start_recovery(win: MainWindow, folder: Path | None = None,
                   interval_ms: int = INTERVAL_MS) -> Recovery:
    """Offer the newest recovery file a crash left in ``folder`` (default: the app-data
    folder), then start saving ``win``'s own; ``win.recovery`` is the result.

    Restore opens the file (then its work counts as unsaved: it is not in any
    file of the user's); Discard deletes it. Either way the files found are
    deleted once answered.
    """
    folder = Path(folder) if folder is not None else default_recovery_dir()
    found = leftovers(folder)
    if found:
        newest = found[-1]
        ctx = win.ctx
        if win.ask_restore(f"bpviz did not exit cleanly last time. Restore the unsaved "
                           f"session it kept ({newest.name})?"):
            if ctx.open_session(str(newest)):
                ctx.session_path = None      # not the user's file: Save asks where
                ctx.dirty = True
                ctx.documentChanged.emit()
                ctx.message.emit("Restored the unsaved session; save it to keep it")
            else:
                win.error_dialog("Restore", ctx.last_error)
        for path in found:
            remove(path)
    win.recovery = Recovery(win, folder, interval_ms)
    return win.recovery
