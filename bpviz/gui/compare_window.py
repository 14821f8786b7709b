"""The "Compare…" window: two runs side by side (the engine's :mod:`bpviz.engine.compare`).

A small form picks a classic story (a comparison preset) or what run B changes
relative to the main window's current run (its spec, data set and settings, read
from the controller's public members). Both runs train in lock step on ONE
QThread of this window's own (:class:`~.compare_thread.CompareThread`): Play, Pause, Step and
Reset are its flags, read between mini-batches (a condition variable, no busy
wait). It publishes latest-only, at most :data:`~.compare_thread.MAX_FPS` times a second: a
mutex-protected slot and the payload-free :attr:`CompareThread.published`; the
losses of every step travel with the next publication, so the curves miss
nothing. Closing the window sets the stop flag, ``quit()`` s and ``wait()`` s;
never ``terminate()``.

The views: the same matrix (δ, dW, a or W) of a chosen layer for A and B side
by side, with one colour scale for the pair (the larger |max| of the two); the
loss curves of A and B in one plot, and ‖δˡ‖ per layer (log y) for both, with a
legend naming each run by its difference ("sigmoid" vs "relu").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import (
    QEvent,
    QObject,
    Qt,
)
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..engine.compare import (
    CHANGES,
    COMPARISON_PRESETS,
    Change,
    Comparison,
    comparison_preset,
)
from ..engine.errors import BpvizError
from ..engine.optim import OPTIMIZERS
from ..engine.records import StepRecord
from ..engine.spec import HIDDEN_ACTIVATIONS, INITS
from . import notation as nt
from .compare_thread import CompareThread
from .presentation import is_presentation
from .views.axes import LogAxis
from .views.heatmap import Heatmap
from .views.series import DecimatedSeries

#: The matrices the window can show, by notation kind.
KINDS = ("delta", "dW", "a", "W")
#: Colours of run A and run B in the plots (blue, orange: told apart by most eyes).
COLOURS = ("#1f5fbf", "#e07000")
#: Values offered for each change ("lr" and "batch_size" may be typed).
CHOICES: dict[str, tuple[str, ...]] = {
    "activation": HIDDEN_ACTIVATIONS,
    "optimizer": OPTIMIZERS,
    "lr": ("0.5", "0.1", "0.05", "0.01", "1"),
    "init": INITS,
    "batch_size": ("64", "16", "8", "128", "1"),
}
RELATIVE = "relative to the current run"


def parse_value(what: str, text: str) -> Any:
    """The value the form's text names for the change ``what``; one-line BpvizError if bad."""
    text = text.strip()
    if what == "lr":
        try:
            return float(text)
        except ValueError:
            raise BpvizError(f"learning rate {text!r} is not a number; type e.g. 0.5") from None
    if what == "batch_size":
        try:
            return int(text)
        except ValueError:
            raise BpvizError(f"batch size {text!r} is not a whole number; type e.g. 64") from None
    return text


def _font(pt: int, bold: bool = False) -> QFont:
    f = QFont()
    f.setPointSize(pt)
    f.setBold(bold)
    return f


class CompareWindow(QMainWindow):
    """Two runs side by side, opened by Training ▸ Compare… (see the module docstring).

    Parameters
    ----------
    ctx : the controller (``spec``, ``dataset``, ``config``, ``notation`` are read).
    preset : a comparison preset to start with (else the first one).
    parent : the main window; when it closes, this window closes too.
    """

    def __init__(self, ctx: Any, preset: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Compare two runs — bpviz")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self._ctx = ctx
        self._thread: CompareThread | None = None
        self._generation = 0
        self._presentation = False
        #: the loss curves, bounded (min/max decimation past a few thousand points)
        self._loss = (DecimatedSeries(), DecimatedSeries())
        #: the steps trained so far and the newest one (0 before the first)
        self.steps_taken = 0
        self.last_step = 0
        self._records: tuple[StepRecord | None, StepRecord | None] = (None, None)
        self._build_ui()
        if parent is not None:
            parent.installEventFilter(self)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop_thread)
        name = preset or next(iter(COMPARISON_PRESETS))
        self.story.setCurrentIndex(self.story.findData(name))
        self._story_changed()
        self.start()

    # ------------------------------------------------------------ building
    def _build_ui(self) -> None:
        central = QWidget()
        lay = QVBoxLayout(central)
        form = QHBoxLayout()
        self.story = QComboBox()
        for p in COMPARISON_PRESETS.values():
            self.story.addItem(p.title, p.name)
        self.story.addItem(f"B changes one thing, {RELATIVE}", RELATIVE)
        self.story.currentIndexChanged.connect(self._story_changed)
        self.change = QComboBox()
        for key, words in CHANGES.items():
            if key != "spec":
                self.change.addItem(words, key)
        self.change.currentIndexChanged.connect(self._change_changed)
        self.value = QComboBox()
        self.value.setEditable(True)
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Build runs A and B afresh (step 0) from the choice")
        self.start_button.clicked.connect(self.start)
        for w in (QLabel("Story:"), self.story, QLabel("B changes the"), self.change,
                  QLabel("to"), self.value, self.start_button):
            form.addWidget(w)
        form.addStretch(1)
        lay.addLayout(form)

        ctl = QHBoxLayout()
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self.set_playing)
        self.step_button = QPushButton("Step")
        self.step_button.clicked.connect(self.step)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Both runs back to step 0, the same start and batches")
        self.reset_button.clicked.connect(self.reset)
        self.layer = QSpinBox()
        self.layer.setPrefix("layer ")
        self.layer.setMinimum(1)
        self.layer.valueChanged.connect(self._show_matrices)
        self.kind = QComboBox()
        for k in KINDS:
            self.kind.addItem(nt.KIND_NAMES[k], k)
        self.kind.currentIndexChanged.connect(self._show_matrices)
        self.step_label = QLabel("step 0")
        for w in (self.play_button, self.step_button, self.reset_button, QLabel("Show"),
                  self.kind, QLabel("of"), self.layer, self.step_label):
            ctl.addWidget(w)
        ctl.addStretch(1)
        lay.addLayout(ctl)
        self.watch = QLabel("")
        self.watch.setWordWrap(True)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b00000")
        self.error.setWordWrap(True)
        lay.addWidget(self.watch)
        lay.addWidget(self.error)

        split = QSplitter(Qt.Orientation.Vertical)
        maps = QWidget()
        mlay = QHBoxLayout(maps)
        mlay.setContentsMargins(0, 0, 0, 0)
        self.heatmaps = (Heatmap(), Heatmap())
        for h in self.heatmaps:
            mlay.addWidget(h, 1)
        split.addWidget(maps)
        plots = pg.GraphicsLayoutWidget()
        plots.setBackground("w")
        # the legends sit in a row of their own above the plots: never over a point
        self.loss_legend = pg.LegendItem(colCount=2, labelTextColor="k")
        self.norm_legend = pg.LegendItem(colCount=2, labelTextColor="k")
        plots.addItem(self.loss_legend, row=0, col=0)
        plots.addItem(self.norm_legend, row=0, col=1)
        self.loss_plot = plots.addPlot(row=1, col=0)
        self.norm_plot = plots.addPlot(row=1, col=1, axisItems={"left": LogAxis("left")})
        self.norm_plot.setLogMode(y=True)
        for p in (self.loss_plot, self.norm_plot):
            p.setMenuEnabled(False)
            p.showGrid(x=True, y=True, alpha=0.2)
        self.loss_curves = tuple(
            self.loss_plot.plot([], [], pen=pg.mkPen(c, width=2), name=n)
            for c, n in zip(COLOURS, "AB", strict=True))
        for c in self.loss_curves:
            c.setDownsampling(auto=True, method="peak")
            c.setClipToView(True)
        self.norm_curves = tuple(
            self.norm_plot.plot([], [], pen=pg.mkPen(c, width=2), symbol=s, symbolSize=10,
                                symbolBrush=c, symbolPen=c, name=n)
            for c, s, n in zip(COLOURS, ("o", "s"), "AB", strict=True))
        for legend, curves in ((self.loss_legend, self.loss_curves),
                               (self.norm_legend, self.norm_curves)):
            for c, n in zip(curves, "AB", strict=True):
                legend.addItem(c, n)
        self._plots_widget = plots
        split.addWidget(plots)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([400, 330])
        lay.addWidget(split, 1)
        self.setCentralWidget(central)
        self._apply_fonts()

    # ------------------------------------------------------------ the form
    def _story_changed(self) -> None:
        name = self.story.currentData()
        relative = name == RELATIVE
        if not relative:
            p = comparison_preset(name)
            self.change.setCurrentIndex(max(0, self.change.findData(p.change.what)))
            self._change_changed()
            self.value.setCurrentText(str(p.change.value))
            self.kind.setCurrentIndex(self.kind.findData(p.view))
        for w in (self.change, self.value):
            w.setEnabled(relative)

    def _change_changed(self) -> None:
        what = self.change.currentData()
        self.value.clear()
        self.value.addItems(list(CHOICES.get(what, ())))

    def build_comparison(self) -> tuple[Comparison, str]:
        """The comparison the form names, and what to watch. Raises BpvizError."""
        name = self.story.currentData()
        if name != RELATIVE:
            p = comparison_preset(name)
            return p.build(), p.watch
        what = self.change.currentData()
        change = Change(what, parse_value(what, self.value.currentText()))
        ctx = self._ctx
        comp = Comparison(ctx.spec, ctx.dataset, ctx.config, change)
        return comp, (f"B differs from A (the current run, {comp.a.net.spec.describe()}) "
                      f"only in its {CHANGES[what]}; the same data, seed and batches.")

    def start(self) -> bool:
        """Build A and B afresh from the form and start their thread (paused at step 0)."""
        try:
            comp, watch = self.build_comparison()
        except BpvizError as exc:
            self.error.setText(str(exc))
            return False
        self.error.setText("")
        self.stop_thread()
        self.watch.setText(watch)
        names = comp.names
        for item, n in zip(self.loss_curves, names, strict=True):
            self.loss_legend.getLabel(item).setText(n)
        for item, n in zip(self.norm_curves, names, strict=True):
            self.norm_legend.getLabel(item).setText(n)
        self._apply_fonts()
        n_layers = min(len(comp.a.net.spec.layers), len(comp.b.net.spec.layers))
        self.layer.setMaximum(n_layers)
        name = self.story.currentData()
        if name != RELATIVE:
            self.layer.setValue(comparison_preset(name).layer + 1)
        self._clear()
        self.play_button.setChecked(False)
        self._thread = CompareThread(comp)
        self._thread.published.connect(self._take, Qt.ConnectionType.QueuedConnection)
        self._thread.failed.connect(self._failed, Qt.ConnectionType.QueuedConnection)
        self._generation = self._thread.generation
        self._thread.start()
        return True

    # ------------------------------------------------------------ controls
    @property
    def thread(self) -> CompareThread | None:
        return self._thread

    @property
    def names(self) -> tuple[str, str]:
        return self._thread.names if self._thread else ("A", "B")

    def set_playing(self, on: bool) -> None:
        if self._thread is not None:
            self._thread.set_playing(on)
        self.play_button.setText("Pause" if on else "Play")
        if self.play_button.isChecked() != on:
            self.play_button.setChecked(on)

    def step(self) -> None:
        self.set_playing(False)
        if self._thread is not None:
            self._thread.request_step(1)

    def reset(self) -> None:
        self.set_playing(False)
        if self._thread is not None:
            self._thread.request_reset()
            self._generation = self._thread.generation
        self.error.setText("")
        self._clear()

    def stop_thread(self) -> None:
        """Stop and wait for the training thread (keeps the reference until it returned)."""
        t = self._thread
        if t is not None and shiboken6.isValid(t):
            t.published.disconnect(self._take)
            t.stop()
        self._thread = None

    def _failed(self, message: str) -> None:
        self.set_playing(False)
        self.error.setText(message)

    # ------------------------------------------------------------ drawing
    def _clear(self) -> None:
        self.steps_taken = self.last_step = 0
        for series in self._loss:
            series.clear()
        self._records = (None, None)
        for c in (*self.loss_curves, *self.norm_curves):
            c.setData([], [])
        for h in self.heatmaps:
            h.reset()
        self.step_label.setText("step 0")

    def _take(self) -> None:
        if self._thread is None:
            return
        gen, ra, rb, losses = self._thread.take()
        if gen != self._generation:
            return
        if losses:
            steps, la, lb = zip(*losses, strict=True)
            self._loss[0].extend(steps, la)
            self._loss[1].extend(steps, lb)
            self.steps_taken += len(steps)
            self.last_step = steps[-1]
            for c, series in zip(self.loss_curves, self._loss, strict=True):
                c.setData(*series.data())
        if ra is not None and rb is not None:
            if ra.backprop is not None and rb.backprop is not None:
                self._records = (ra, rb)
                self._show_matrices()
                self._show_norms()
            self.step_label.setText(f"step {ra.step:,}")

    def _show_norms(self) -> None:
        for c, r in zip(self.norm_curves, self._records, strict=True):
            if r is None or r.backprop is None:
                continue
            # the engine's ‖δˡ‖ of this record (bpviz.engine.trainer.grad_norms)
            norms = [r.grad_norms[f"delta{ly}"] for ly in range(len(r.backprop.layers))]
            x = np.arange(1, len(norms) + 1)
            c.setData(x, np.maximum(np.asarray(norms), 1e-12))
        n = max((len(r.backprop.layers) for r in self._records if r and r.backprop), default=1)
        self.norm_plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(1, n + 1)]])

    def _show_matrices(self) -> None:
        kind = self.kind.currentData()
        i = self.layer.value() - 1
        notation = getattr(self._ctx, "notation", nt.DEFAULT_NOTATION)
        mats = []
        for r in self._records:
            mats.append(None if r is None else nt.record_matrix(r, kind, i, notation))
        if any(M is None for M in mats):
            return
        s = max(float(np.max(np.abs(M))) if M.size else 0.0 for M in mats)
        rows, cols = nt.axis_labels(kind, notation)
        for h, M, name, side in zip(self.heatmaps, mats, self.names, "AB",
                                       strict=True):
            title = f"{side}: {name} — {nt.title(kind, i, M.shape, notation)}"
            h.set_fixed_scale(s)
            h.set_matrix(M, title, rows, cols)

    # ------------------------------------------------------------ fonts, closing
    def set_presentation(self, on: bool) -> None:
        """Big fonts and thick lines (presentation mode)."""
        self._presentation = bool(on)
        for h in self.heatmaps:
            h.set_presentation(on)
        self._apply_fonts()

    def _apply_fonts(self) -> None:
        big = self._presentation
        tick = _font(15 if big else 10)
        style = {"color": "#000", "font-size": f"{17 if big else 11}pt"}
        titles = {self.loss_plot: "loss of A and B (per mini-batch)",
                  self.norm_plot: "‖δˡ‖ per layer (gradient health, now)"}
        for p, text in titles.items():
            for name in ("left", "bottom"):
                p.getAxis(name).setStyle(tickFont=tick)
            p.setTitle(text, size=f"{18 if big else 13}pt", color="k")
        self.loss_plot.setLabel("bottom", "step", **style)
        self.norm_plot.setLabel("bottom", "layer l", **style)
        for legend in (self.loss_legend, self.norm_legend):
            legend.setLabelTextSize(f"{16 if big else 12}pt")
            for _, label in legend.items:
                label.setText(label.text, size=f"{16 if big else 12}pt", color="k")
        for c in (*self.loss_curves, *self.norm_curves):
            c.setPen(pg.mkPen(c.opts["pen"].color(), width=4 if big else 2))
        for w in (self.watch, self.error):
            w.setFont(_font(14 if big else 11))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        # the main window closed (a non-spontaneous hide): close with it
        if obj is self.parent() and event.type() == QEvent.Type.Hide \
                and not event.spontaneous() and not obj.isVisible():
            self.close()
        return False

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.stop_thread()
        parent = self.parent()
        if parent is not None:
            parent.removeEventFilter(self)
        super().closeEvent(event)


def open_compare_window(window: QWidget | None, preset: str | None = None) -> CompareWindow:
    """Show the compare window of the main window ``window`` (one per main window),
    starting from its controller's run; raise the one already open."""
    existing = getattr(window, "_bpviz_compare_window", None)
    if existing is not None and shiboken6.isValid(existing) and existing.isVisible():
        existing.raise_()
        existing.activateWindow()
        return existing
    ctx = getattr(window, "ctx", None)
    win = CompareWindow(ctx, preset, window)
    if window is not None:
        window._bpviz_compare_window = win
        win.set_presentation(is_presentation(window))
        acts = getattr(window, "actions_", None)
        if acts is not None:   # F5 in the main window: this one follows
            acts.presentation.toggled.connect(win.set_presentation)
    screen = (window.screen() if window is not None else None) or QApplication.primaryScreen()
    room = screen.availableGeometry() if screen is not None else None
    w, h = (1366, 768) if room is None else (min(1366, room.width()), min(768, room.height()))
    win.resize(w, h)
    win.show()
    return win


__all__ = ["CompareThread", "CompareWindow", "open_compare_window", "parse_value"]
