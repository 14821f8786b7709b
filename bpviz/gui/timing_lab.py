"""The Timing Lab panel: loop against vectorized backprop, measured while the class watches.

Run takes the current network (spec, weights) and data set from the training
worker with ``ctx.run_on_trainer`` and sweeps the batch size K (or a hidden
width) on a :class:`~bpviz.gui.timing_thread.SweepThread` of its own (the sweep
itself runs in a child process), not on the training worker; rows arrive one by
one and the plots grow (:mod:`bpviz.gui.timing_plots`). Cancel stops within one
point; closing the panel cancels, ``quit()``s and ``wait()``s (never
``terminate()``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..engine.backend import cupy_status
from ..engine.sweep import SweepResult, default_batches
from .contract import PanelContext, PanelMixin
from .timing_plots import BACKEND_LABEL, WHY, TimingPlots, caption_html
from .timing_thread import _RUNNING, SweepThread, stop_all_sweeps

IDLE_TEXT = "no sweep yet: press Run"


def points_text(n: int) -> str:
    """``"1 point"``, ``"11 points"``."""
    return f"{n:,} point" + ("" if n == 1 else "s")


class TimingLab(PanelMixin, QWidget):
    """Loop vs vectorized backprop over K (or width) on every backend; see module doc."""

    sweepFinished = Signal(object)  # SweepResult (also after Cancel) — for tests and tools
    #: measure in a child process (clean timings); False: on the sweep thread itself
    isolate = True

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.result: SweepResult | None = None
        self._mode = "batch"
        self._thread: SweepThread | None = None
        self._waiting = False  # asked the trainer for the model, answer not back yet
        self._presentation = False
        self._build()
        ctx.specChanged.connect(self._model_changed)
        ctx.datasetChanged.connect(self._model_changed)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
            if app.property("bpvizTimingHook") is None:  # once per app: also for deleted panels
                app.setProperty("bpvizTimingHook", True)
                app.aboutToQuit.connect(stop_all_sweeps)

    # ------------------------------------------------------------ layout
    def _build(self) -> None:
        self.mode_box = QComboBox()
        self.mode_box.addItem("batch size K", "batch")
        self.mode_box.addItem("hidden width", "width")
        self.mode_box.setToolTip("Sweep the mini-batch size K, or the width of every hidden "
                                 "layer at a fixed K")
        self.max_k = QSpinBox(minimum=1, maximum=1024, value=1024)
        self.max_k.setToolTip("Largest K: the sweep runs K = 1, 2, 4, … up to this "
                              "(or the training-set size)")
        self.fixed_k = QSpinBox(minimum=1, maximum=1024, value=64)
        self.fixed_k.setToolTip("The batch size used at every width")
        self.max_width = QSpinBox(minimum=8, maximum=4096, value=1024)
        self.max_width.setToolTip("Widths 8, 16, 32, … up to this")
        self.repeats = QSpinBox(minimum=1, maximum=50, value=5)
        self.repeats.setToolTip("Timed runs of each method per point; the table shows the "
                                "fastest (min) and the median")
        self.use_numpy = QCheckBox("NumPy")
        self.use_numpy.setChecked(True)
        cp, why = cupy_status()
        self.use_cupy = QCheckBox("CuPy (GPU)" if cp is not None else "CuPy (no GPU)")
        self.use_cupy.setEnabled(cp is not None)
        self.use_cupy.setChecked(cp is not None)
        self.use_cupy.setToolTip(why)
        self.run_btn = QPushButton("Run")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        self.csv_btn = QPushButton("Table → CSV…")
        self.png_btn = QPushButton("Plots → PNG…")
        for b in (self.csv_btn, self.png_btn):
            b.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)           # not "0 / 100": no sweep has a size yet
        self.progress.setValue(0)
        self.progress.setFormat(IDLE_TEXT)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setVisible(False)
        self.caption = QLabel(WHY + " Press <b>Run</b> to measure this network.")
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.caption.setWordWrap(True)

        self._k_label = QLabel("up to K")
        self._w_label = QLabel("widths up to")
        self._fk_label = QLabel("at K")
        row1 = QHBoxLayout()
        for w in (QLabel("Sweep"), self.mode_box, self._k_label, self.max_k, self._w_label,
                  self.max_width, self._fk_label, self.fixed_k, QLabel("repeats"), self.repeats,
                  self.use_numpy, self.use_cupy):
            row1.addWidget(w)
        row1.addStretch(1)
        row2 = QHBoxLayout()
        for w in (self.run_btn, self.cancel_btn):
            row2.addWidget(w)
        row2.addWidget(self.progress, 1)
        for w in (self.csv_btn, self.png_btn):
            row2.addWidget(w)

        self.view = TimingPlots()
        self.plots, self.table = self.view.plots, self.view.table
        self.time_plot, self.speed_plot = self.view.time_plot, self.view.speed_plot

        lay = QVBoxLayout(self)
        lay.addLayout(row1)
        lay.addLayout(row2)
        lay.addWidget(self.status)
        lay.addWidget(self.caption)
        lay.addWidget(self.view, 1)

        self.mode_box.currentIndexChanged.connect(self._mode_changed)
        self.run_btn.clicked.connect(self.run_sweep)
        self.cancel_btn.clicked.connect(self.cancel_sweep)
        self.csv_btn.clicked.connect(self._csv_dialog)
        self.png_btn.clicked.connect(self._png_dialog)
        self._mode_changed()
        self._apply_fonts()

    def _mode_changed(self, *_: Any) -> None:
        width = self.mode_box.currentData() == "width"
        for w in (self._w_label, self.max_width, self._fk_label, self.fixed_k):
            w.setVisible(width)
        for w in (self._k_label, self.max_k):
            w.setVisible(not width)

    # ------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        return self._waiting or self._thread is not None

    def run_sweep(self) -> None:
        """Ask the trainer for the model; the sweep starts when it answers."""
        if self.running:
            return
        if not (self.use_numpy.isChecked() or self.use_cupy.isChecked()):
            self._say("Tick NumPy or CuPy first.")
            return
        self._waiting = True
        self._set_running(True)
        self._say("Taking the network from the trainer…")
        self.ctx.run_on_trainer(lambda tr: (tr.net.spec, tr.net.get_weights(), tr.data),
                                self._got_model, self._model_error)

    def _model_error(self, msg: str) -> None:
        self._waiting = False
        self._set_running(False)
        self._say(f"Cannot time the network: {msg}")

    def _got_model(self, model: tuple[Any, dict[str, Any], Any]) -> None:
        if not self._waiting:  # cancelled or closed meanwhile
            return
        self._waiting = False
        spec, weights, data = model
        n = len(data.X_train)
        backends = [b for b, box in (("numpy", self.use_numpy), ("cupy", self.use_cupy))
                    if box.isChecked()]
        self._mode = self.mode_box.currentData()
        kw: dict[str, Any] = {"spec": spec, "weights": weights, "backends": backends,
                              "repeats": self.repeats.value()}
        if self._mode == "width":
            top = self.max_width.value()
            kw.update(mode="width", batch=min(self.fixed_k.value(), n),
                      widths=[w for w in (1 << i for i in range(3, 13)) if w <= top])
            k_max = kw["batch"]
        else:
            kw["batches"] = default_batches(n, self.max_k.value())
            k_max = kw["batches"][-1]
        # the sweep needs at most k_max rows: a random subset, not the whole data set
        idx = np.sort(np.random.default_rng(0).permutation(n)[:k_max])
        kw["data"] = (np.asarray(data.X_train)[idx], np.asarray(data.y_train)[idx])
        self.view.clear()
        self.view.set_mode(self._mode)
        self.progress.setRange(0, 0)           # busy until the sweep says its size
        self.progress.setValue(0)
        for b in (self.csv_btn, self.png_btn):
            b.setEnabled(False)
        self.result = None
        self._thread = t = SweepThread(kw, isolate=self.isolate)
        t.rowReady.connect(self.view.add_row)
        t.progressed.connect(self._progressed)
        t.finished.connect(self._thread_done)
        self._say("Training is running and competes for the CPU: pause it for steadier "
                  "timings." if self.ctx.is_playing else "")
        self.progress.setFormat(f"timing {spec.describe().split(' (')[0]} on "
                                f"{', '.join(BACKEND_LABEL.get(b, b) for b in backends)}: "
                                "%v / %m points")
        _RUNNING.add(t)  # a running QThread must never be garbage-collected
        t.start()

    def cancel_sweep(self) -> None:
        if self._waiting:
            self._waiting = False
            self._set_running(False)
            self._say("Cancelled.")
        elif self._thread is not None:
            self._thread.cancel.set()
            self.cancel_btn.setEnabled(False)
            self._say("Cancelling after the current point…")

    def _set_running(self, on: bool) -> None:
        self.run_btn.setEnabled(not on)
        self.cancel_btn.setEnabled(on)
        for w in (self.mode_box, self.max_k, self.max_width, self.fixed_k, self.repeats):
            w.setEnabled(not on)

    def _say(self, text: str) -> None:
        """A note under the buttons (errors, skipped backends, exports); hidden when empty."""
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def _progressed(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _thread_done(self) -> None:
        t, self._thread = self._thread, None
        if t is None:
            return
        t.wait()
        _RUNNING.discard(t)
        self._set_running(False)
        if t.error is not None:
            self._say(f"<span style='color:#b00020'>{t.error}</span>")
            return
        res = t.result
        assert res is not None
        self.result = res
        notes = [f"{BACKEND_LABEL.get(b, b)} skipped: {why}" for b, why in res.skipped.items()]
        if res.cancelled:
            notes.insert(0, f"Cancelled after {points_text(len(res.rows))}.")
        self._say(" ".join(notes))
        n = len(res.rows)
        self.progress.setRange(0, max(n, 1))
        self.progress.setValue(n)
        self.progress.setFormat(f"done: {points_text(n)}, {res.meta.get('repeats')} repeats "
                                "each" if not res.cancelled
                                else f"cancelled after {points_text(n)}")
        self.caption.setText(caption_html(res))
        self.csv_btn.setEnabled(bool(res.rows))
        self.png_btn.setEnabled(bool(res.rows))
        self.sweepFinished.emit(res)

    def _model_changed(self, *_: Any) -> None:
        if self.result is not None and not self.running:
            self._say("The network or data changed since this sweep; press Run to "
                                "measure it.")

    # ------------------------------------------------------------ export
    def export_csv(self, path: str | Path) -> Path:
        if self.result is None:
            raise ValueError("nothing to export yet; run a sweep first")
        path = Path(path)
        path.write_text(self.result.to_csv(), encoding="utf-8")
        return path

    def export_png(self, path: str | Path) -> Path:
        self.view.export_png(str(path))
        return Path(path)

    def _csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export timing table", "timing.csv",
                                              "CSV table (*.csv)")
        self._export(self.export_csv, path)

    def _png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export timing plots", "timing.png",
                                              "PNG image (*.png)")
        self._export(self.export_png, path)

    def _export(self, fn: Any, path: str) -> None:
        if not path:
            return
        try:
            fn(path)
            self._say(f"Saved {path}")
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Export failed", str(exc))

    # ------------------------------------------------------------ contract hooks
    def set_presentation(self, on: bool) -> None:
        """Big fonts and thick lines for a lecture hall."""
        self._presentation = bool(on)
        self._apply_fonts()
        self.view.set_presentation(on)

    def _apply_fonts(self) -> None:
        f = QFont(self.font())
        f.setPointSize(16 if self._presentation else 10)
        self.setFont(f)

    # ------------------------------------------------------------ closing
    def shutdown(self) -> None:
        """Cancel a running sweep and wait for its thread (stop flag, quit, wait)."""
        self._waiting = False
        t = self._thread
        if t is not None:
            t.cancel.set()
            t.quit()
            t.wait()
            self._thread_done()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        self.shutdown()
        super().closeEvent(event)
