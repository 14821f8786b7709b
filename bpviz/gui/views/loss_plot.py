"""The loss curves: mini-batch loss per step, and train/test loss at evaluation steps.

Each curve is a :class:`~.series.DecimatedSeries` (at most 4096 points, however
long the run), drawn with ``setData`` on items made once. Records are taken
from ``snap.history`` (and ``snap.step``) by step number, so a record seen
twice is drawn once; a step number going backwards means training was reset.

The legend sits above the plot area, in one row when the panel is wide enough
(else two or three), never over the curves.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout, QWidget

from ..contract import PanelContext, PanelMixin
from ..history import is_recorded
from . import export
from .axes import LogAxis
from .colormaps import CLASS_COLORS
from .fitlabel import FitLabel
from .series import DEFAULT_CAP, DecimatedSeries
from .throttle import Throttle

REDRAW_S = 0.2  # the curves are redrawn at most 5 times a second
TRAIN_BATCH = "train (mini-batch)"
TRAIN_EVAL = "train (whole set)"
TEST_EVAL = "test"
#: The legend's names in a narrow panel (one row rather than three).
_SHORT = {TRAIN_BATCH: "mini-batch", TRAIN_EVAL: "train set", TEST_EVAL: "test"}
_COLORS = {TRAIN_BATCH: (150, 170, 200), TRAIN_EVAL: CLASS_COLORS[0], TEST_EVAL: CLASS_COLORS[1]}


def new_records(snap, last_step: int) -> list:
    """The records of ``snap`` (history, then step) with a step number above ``last_step``."""
    recs = list(snap.history)
    if not recs or recs[-1].step != snap.step.step:
        recs.append(snap.step)
    out, seen = [], last_step
    for r in recs:
        if r.step > seen:
            out.append(r)
            seen = r.step
    return out


def clear_curves(series: dict, curves: dict) -> None:
    """Empty every series and every curve drawn from them."""
    for s in series.values():
        s.clear()
    for c in curves.values():
        c.setData([], [])


#: A curve made with :func:`marked_curve` marks its points while it has at most this
#: many: the evaluation steps of a short run read one by one; thousands of markers
#: would only thicken the line (and cost a scatter plot's setup on every redraw).
MARKERS_UP_TO = 200


def marked_curve(plot_item, name: str, color, width: float, symbol: str = "o"):
    """A curve of ``plot_item`` whose points are marked with ``symbol`` while there are
    at most :data:`MARKERS_UP_TO` of them (:func:`redraw_curves` keeps it so)."""
    curve = plot_item.plot([], [], name=name, pen=pg.mkPen(color, width=width), symbol=symbol,
                           symbolSize=5, symbolBrush=color, symbolPen=None)
    curve.bpviz_symbol = symbol
    curve.bpviz_own_pen = True   # LossPlot.set_presentation sizes it (presentation.py)
    return curve


def redraw_curves(series: dict, curves: dict, drawn: dict) -> None:
    """``setData`` on the curves whose series got values since the last draw.

    ``drawn`` maps a key to the series' ``total`` when last drawn; it is updated."""
    for key, curve in curves.items():
        s = series[key]
        if drawn.get(key) != s.total:  # only curves with new values
            drawn[key] = s.total
            x, y = s.data()
            symbol = getattr(curve, "bpviz_symbol", None)
            if symbol is not None:
                want = symbol if len(x) <= MARKERS_UP_TO else None
                if curve.opts["symbol"] != want:
                    curve.setSymbol(want)
            curve.setData(x, y)


def series_arrays(series: dict, name) -> dict[str, np.ndarray]:
    """Each non-empty series as an (N, 2) array of (x, y) rows, under ``name(key)``."""
    out = {}
    for key, s in series.items():
        x, y = s.data()
        if len(x):
            out[name(key)] = np.column_stack([x, y])
    return out


def percent(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


class LossPlot(PanelMixin, QWidget):
    """Train loss per step and train/test loss at evaluation steps, log-y optional."""

    draws_snapshots = True
    draws_history = True   # its curves need every record, also those missed hidden

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None,
                 cap: int = DEFAULT_CAP) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._last_step = -1
        self._presentation = False
        self._series = {k: DecimatedSeries(cap) for k in _COLORS}
        self._latest: dict[str, float | None] = {}
        self._drawn: dict[str, int] = {}
        self._throttle = Throttle(self._redraw, REDRAW_S, self)

        self._plot = pg.PlotWidget(background="w", axisItems={"left": LogAxis("left")})
        self._plot.setMenuEnabled(False)
        pi = self._plot.getPlotItem()
        # above the plot area (the title's row of the plot's layout), not over the curves
        self._legend = pg.LegendItem(size=(1, 1), labelTextColor="k", colCount=3, frame=False)
        self._legend.bpviz_own_size = True   # presentation mode: its size is set here
        pi.legend = self._legend             # plot(name=...) adds its entry
        pi.layout.removeItem(pi.titleLabel)
        pi.layout.addItem(self._legend, 0, 1)
        self._curves = {}
        for key, color in _COLORS.items():
            if key == TRAIN_BATCH:   # every step: a thin line
                self._curves[key] = pi.plot([], [], name=key, pen=pg.mkPen(color, width=1))
                self._curves[key].bpviz_own_pen = True   # (set_presentation sizes it)
            else:                    # evaluation steps: marked while few
                self._curves[key] = marked_curve(pi, key, color, 2.5)
        #: the vertical line at the step the timeline shows (hidden at the newest)
        self._cursor = pg.InfiniteLine(angle=90, movable=False,
                                       pen=pg.mkPen((200, 30, 30), width=1.5,
                                                    style=Qt.PenStyle.DashLine))
        self._cursor.setZValue(10)
        self._cursor.hide()
        pi.addItem(self._cursor, ignoreBounds=True)
        for name in ("left", "bottom"):
            pi.getAxis(name).setPen("k")
            pi.getAxis(name).setTextPen("k")
            pi.getAxis(name).enableAutoSIPrefix(False)
        self._status = FitLabel(align=Qt.AlignmentFlag.AlignLeft, text="no training yet")
        self._log = QCheckBox("log y")
        self._log.setToolTip("Logarithmic loss axis: equal steps mean equal factors")
        self._log.toggled.connect(self.set_log_y)
        top = QHBoxLayout()
        top.setContentsMargins(4, 2, 4, 2)
        top.addWidget(self._status, 1)
        top.addWidget(self._log)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self._plot, 1)
        self._apply_fonts()
        export.install_panel_menu(self, "loss", self.export_matrices, (self._plot,))
        ctx.specChanged.connect(lambda _s: self.clear())
        ctx.datasetChanged.connect(lambda _d: self.clear())

    # ------------------------------------------------------------ API
    def plot_item(self) -> pg.PlotItem:
        return self._plot.getPlotItem()

    def curve_data(self, key: str = TRAIN_BATCH):
        """``(x, y)`` of a curve: :data:`TRAIN_BATCH`, :data:`TRAIN_EVAL` or :data:`TEST_EVAL`."""
        return self._series[key].data()

    def series(self, key: str = TRAIN_BATCH) -> DecimatedSeries:
        return self._series[key]

    def export_matrices(self) -> dict[str, np.ndarray]:
        """Each curve as an (N, 2) array of (step, loss) rows, for the panel menu."""
        return series_arrays(self._series, lambda key: f"loss {key}")

    def set_cursor(self, step: int | None) -> None:
        """Draw a vertical line at ``step`` (a kept step the timeline shows); None hides it."""
        if step is None:
            self._cursor.hide()
            return
        self._cursor.setValue(float(step))
        self._cursor.show()

    def cursor(self) -> int | None:
        """The step the cursor marks, or None."""
        return int(self._cursor.value()) if self._cursor.isVisible() else None

    def status_text(self) -> str:
        return self._status.plain_text()

    def clear(self) -> None:
        self.set_cursor(None)
        self._last_step = -1
        self._latest = {}
        clear_curves(self._series, self._curves)
        self._drawn = {}
        self._throttle.cancel()
        self._status.set_text("no training yet")

    def set_log_y(self, on: bool) -> None:
        if self._log.isChecked() != bool(on):
            self._log.setChecked(bool(on))
            return
        self._plot.getPlotItem().setLogMode(y=bool(on))
        self._drawn = {}
        self._redraw()

    def add_records(self, records) -> None:
        """Append step records (oldest first), without drawing; in bulk (a frame at
        full speed brings hundreds)."""
        recs = [r for r in records if not r.diverged]
        if not recs:
            return
        S, pos = self._series, self._positive_all
        S[TRAIN_BATCH].extend([r.step for r in recs], pos([r.loss for r in recs]))
        ev = [r for r in recs if r.train_eval_loss is not None]
        if ev:
            S[TRAIN_EVAL].extend([r.step for r in ev], pos([r.train_eval_loss for r in ev]))
        te = [r for r in recs if r.test_loss is not None]
        if te:
            S[TEST_EVAL].extend([r.step for r in te], pos([r.test_loss for r in te]))
            self._latest["test_loss"] = te[-1].test_loss
            self._latest["test_acc"] = te[-1].test_accuracy
            self._latest["eval_step"] = te[-1].step
        last = recs[-1]
        self._latest["loss"] = last.loss
        self._latest["acc"] = last.accuracy
        self._latest["epoch"] = last.epoch
        self._last_step = last.step

    def show_snapshot(self, snap) -> None:
        if snap is None:
            return
        if is_recorded(snap):   # a kept step shown again: a cursor, the curves stay
            self.set_cursor(snap.step.step)
            r = snap.step
            self._status.set_text(f"viewing step {r.step:,} · batch loss {r.loss:.3g}")
            return
        if self._cursor.isVisible():
            self.set_cursor(None)
            self._redraw()
        if snap.step.step < self._last_step:  # training was reset
            self.clear()
        recs = new_records(snap, self._last_step)
        if not recs:
            return
        self.add_records(recs)
        self._show_caption()         # every frame: the same step as the other views
        self._throttle.request()     # the curves: a few redraws a second

    def set_presentation(self, on: bool) -> None:
        self._presentation = bool(on)
        self._apply_fonts()
        for key, curve in self._curves.items():
            base = 1 if key == TRAIN_BATCH else 2.5
            curve.setPen(pg.mkPen(_COLORS[key], width=base * (2 if on else 1)))
            curve.setSymbolSize(10 if on else 5)

    # ------------------------------------------------------------ internals
    @staticmethod
    def _positive_all(values: list[float]) -> np.ndarray:
        """Losses are >= 0; exact zeros stay drawable on a log axis (1e-12)."""
        v = np.asarray(values, dtype=np.float64)
        return np.where(np.isfinite(v), np.maximum(v, 1e-12), v)

    def flush(self) -> None:
        """Draw pending data now (tests, screenshots)."""
        self._throttle.flush()

    def _redraw(self) -> None:
        redraw_curves(self._series, self._curves, self._drawn)
        self._show_caption()

    def _show_caption(self) -> None:
        L = self._latest
        parts = [f"step {self._last_step:,}"]
        short = list(parts)          # what a narrow panel shows: step, losses, accuracy
        if "epoch" in L:
            parts.append(f"epoch {L['epoch']:,}")
        if L.get("loss") is not None:
            parts.append(f"batch loss {L['loss']:.3g}")
            short.append(f"loss {L['loss']:.3g}")
        test = [f"loss {L['test_loss']:.3g}"] if L.get("test_loss") is not None else []
        if L.get("test_acc") is not None:
            test.append(f"acc. {percent(L['test_acc'])}")
        if test:                     # evaluated every few steps: say at which one
            at = L.get("eval_step")
            at = f" (step {at:,})" if at is not None and at != self._last_step else ""
            parts.append(f"test{at}: " + ", ".join(test))
            short.append("test " + ", ".join(test))
        self._status.set_text(" · ".join(parts), shorter=(" · ".join(short),))

    def _apply_fonts(self) -> None:
        big = self._presentation
        pi = self._plot.getPlotItem()
        tick = QFont()
        tick.setPointSize(15 if big else 9)
        style = {"color": "#000", "font-size": f"{17 if big else 10}pt"}
        for name in ("left", "bottom"):
            pi.getAxis(name).setStyle(tickFont=tick)
        pi.setLabel("left", "loss", **style)
        pi.setLabel("bottom", "step", **style)
        self._status.set_point_size(16 if big else 10)
        font = QFont(self._log.font())
        font.setPointSize(16 if big else 10)
        self._log.setFont(font)
        self._legend.setLabelTextSize(f"{15 if big else 9}pt")
        for _, label in self._legend.items:
            label.setText(label.text, size=f"{16 if big else 9}pt", color="k")
        self._place_legend()

    def _place_legend(self) -> None:
        """The legend in as few rows as the plot's width allows; its row that high."""
        lg, pi = self._legend, self._plot.getPlotItem()
        room = self._plot.width() - 10
        size = f"{16 if self._presentation else 9}pt"
        for names, cols in ((None, 3), (_SHORT, 3), (_SHORT, 2), (_SHORT, 1)):
            for key, (_, label) in zip(_COLORS, lg.items, strict=True):
                text = key if names is None else names[key]
                if label.text != text:
                    label.setText(text, size=size, color="k")
            entries = [30 + label.item.boundingRect().width() + 10 for _, label in lg.items]
            rows = [entries[i:i + cols] for i in range(0, len(entries), cols)]
            if max(sum(r) for r in rows) <= room:
                break
        height = max((label.item.boundingRect().height() for _, label in lg.items),
                     default=20)
        if lg.columnCount != cols:
            lg.setColumnCount(cols)
        pi.layout.setRowFixedHeight(0, height * len(rows) + 4)
        lg.setMaximumHeight(height * len(rows) + 4)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._place_legend()
