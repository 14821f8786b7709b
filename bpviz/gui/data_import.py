"""Loading a data file off the GUI thread: a cancellable thread and its progress dialog.

:class:`DataLoadThread` runs :meth:`DataChoice.load
<bpviz.engine.presets.DataChoice.load>` on its own QThread with the engine's
progress callback (``progress(fraction) -> bool``): it emits
:attr:`~DataLoadThread.progressed` and stops at the next block once
:meth:`~DataLoadThread.cancel` is called. The controller owns the thread
(``Controller.start_import``), installs the data set when it is done, and
stops and waits for it on shutdown. :class:`ImportProgress` is the window's
``QProgressDialog`` with Cancel; the event loop keeps running throughout, and
a cancelled or failed import leaves the previous data set as it was.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from ..engine.errors import BpvizError
from ..engine.loaders import ImportCancelled
from ..engine.presets import DataChoice

__all__ = ["DataLoadThread", "ImportProgress"]


class DataLoadThread(QThread):
    """Reads one :class:`DataChoice` on its own thread.

    After ``finished``: :attr:`dataset` (a Dataset) or :attr:`error` (one
    line), and :attr:`cancelled` if the user cancelled.
    """

    progressed = Signal(float)   # fraction 0..1 of the file read

    def __init__(self, choice: DataChoice, parent: Any = None) -> None:
        super().__init__(parent)
        self.choice = choice
        self.dataset: Any = None
        self.error = ""
        self.cancelled = False
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Ask the load to stop at its next progress report (thread-safe)."""
        self._cancel.set()

    def _progress(self, fraction: float) -> bool:
        self.progressed.emit(float(fraction))
        return not self._cancel.is_set()

    def run(self) -> None:  # the load thread
        try:
            self.dataset = self.choice.load(self._progress)
        except ImportCancelled as exc:
            self.cancelled, self.error = True, str(exc)
        except MemoryError:
            self.error = (f"{self.choice.describe()}: not enough memory to load it; "
                          "use a sample of the rows")
        except (BpvizError, OSError) as exc:
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - reported in one line, never a crash
            self.error = f"{self.choice.describe()}: {type(exc).__name__}: {exc}"
        if self._cancel.is_set() and self.dataset is not None:
            self.dataset, self.cancelled = None, True
            self.error = str(ImportCancelled())


class ImportProgress(QProgressDialog):
    """The window's progress dialog for one import, with Cancel.

    Use as a context manager around ``ctx.import_csv(...)``: it follows the
    controller's ``importProgress`` signal and cancels through
    ``ctx.cancel_import()``. It appears only if the load takes a while.
    """

    def __init__(self, parent: QWidget, ctx: Any, name: str) -> None:
        super().__init__(f"Reading {name}…", "Cancel", 0, 1000, parent)
        self.setWindowTitle("Import data")
        self.setMinimumDuration(300)
        self.setAutoReset(False)
        self.setAutoClose(False)
        self.setValue(0)
        self._ctx = ctx
        ctx.importProgress.connect(self._show)
        self.canceled.connect(ctx.cancel_import)

    def _show(self, fraction: float) -> None:
        if self.wasCanceled():   # cancel() called without the button
            self._ctx.cancel_import()
            return
        self.setValue(int(round(1000 * fraction)))

    def __enter__(self) -> ImportProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        try:  # closing a QProgressDialog emits canceled: disconnect first
            self._ctx.importProgress.disconnect(self._show)
            self.canceled.disconnect(self._ctx.cancel_import)
        except (RuntimeError, TypeError):  # pragma: no cover - already gone
            pass
        self.close()
        self.deleteLater()
