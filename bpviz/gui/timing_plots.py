"""The Timing Lab's results view: time and speed-up plots against K, and the table.

:class:`TimingPlots` grows one point at a time (:meth:`TimingPlots.add_row`)
while a sweep runs: milliseconds per backprop on log-log axes (one line per
method × backend), the speed-up loop ÷ vectorized, and a table with both
times, the speed-up and ``max |dW_loop − dW_vec|`` for every point.
:func:`caption_html` says why the matrix form wins and what the numbers show.
"""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHeaderView,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..engine.sweep import SweepResult, TimingRow, format_speedup

METHOD_COLOUR = {"loop": "#d95f02", "vectorized": "#1b63b0"}
BACKEND_STYLE = {"numpy": (Qt.PenStyle.SolidLine, "o"), "cupy": (Qt.PenStyle.DashLine, "t")}
BACKEND_LABEL = {"numpy": "NumPy", "cupy": "CuPy"}
COLUMNS = ("Backend", "K", "Width", "Loop ms (min)", "Loop ms (median)", "Vectorized ms (min)",
           "Vectorized ms (median)", "Speed-up", "max |dW_loop − dW_vec|")
WHY = ("<b>Why the matrix form wins:</b> dW = (1/K)&nbsp;δ<sup>T</sup>a is <b>one matrix "
       "product</b> for the whole mini-batch; the loop adds up <b>K outer products</b> "
       "δ<sub>k</sub><sup>T</sup>a<sub>k</sub>, one sample at a time, with K trips through "
       "the Python interpreter.")


class PlainLogAxis(pg.AxisItem):
    """A log axis labelled 0.1, 1, 10, 100 rather than 10⁻¹, 10⁰, 10¹, 10²."""

    def logTickStrings(self, values: Any, scale: float, spacing: float) -> list[str]:  # noqa: N802
        return [f"{10 ** v * scale:.3g}" for v in values]


def _ms(v: float) -> str:
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


class TimingPlots(QWidget):
    """Two plots above a table; rows are added live, :meth:`clear` starts over."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = "batch"
        self.rows: list[TimingRow] = []
        self._presentation = False
        self._curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self.time_plot = self.plots.addPlot(row=0, col=0, axisItems={
            "left": PlainLogAxis("left"), "bottom": PlainLogAxis("bottom")})
        self.speed_plot = self.plots.addPlot(row=0, col=1, axisItems={
            "bottom": PlainLogAxis("bottom")})
        self.time_plot.setLogMode(x=True, y=True)
        self.speed_plot.setLogMode(x=True, y=False)
        legend = {"offset": (8, 8), "labelTextColor": "k", "pen": pg.mkPen("#999"),
                  "brush": pg.mkBrush(255, 255, 255, 230)}
        self.time_legend = self.time_plot.addLegend(**legend)
        self.speed_legend = self.speed_plot.addLegend(**legend)
        self._one = pg.InfiniteLine(pos=1.0, angle=0, pen=pg.mkPen("#888", width=1,
                                                                    style=Qt.PenStyle.DotLine))
        self.speed_plot.addItem(self._one)
        for p in (self.time_plot, self.speed_plot):
            p.showGrid(x=True, y=True, alpha=0.25)
            p.setMenuEnabled(False)
            p.hideButtons()
            for name in ("left", "bottom"):
                p.getAxis(name).setPen("k")
                p.getAxis(name).setTextPen("k")
            p.getViewBox().setDefaultPadding(0.06)  # room for the last label ("1024")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.plots.setMinimumSize(360, 170)
        self.table.setMinimumSize(200, 90)
        self.split = split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.plots)
        split.addWidget(self.table)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([560, 300])

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)
        self._apply_fonts()

    def _label_axes(self) -> None:
        x = "hidden width (units)" if self.mode == "width" else "batch size K"
        pt = self._points()
        style = {"color": "k", "font-size": f"{pt}pt"}
        self.time_plot.setTitle("Time per backprop (log–log)", color="k", size=f"{pt + 1}pt")
        self.time_plot.setLabel("left", "milliseconds", **style)
        self.time_plot.setLabel("bottom", x, **style)
        self.speed_plot.setTitle("Speed-up (loop ÷ vectorized)", color="k",
                                 size=f"{pt + 1}pt")
        self.speed_plot.setLabel("left", "× faster", **style)
        self.speed_plot.setLabel("bottom", x, **style)
        self.table.setColumnHidden(2, self.mode != "width")

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        """Table under the plots, or beside them when the panel is wide and short (a dock)."""
        super().resizeEvent(event)
        wide = self.width() > 2.2 * max(self.height(), 1)
        want = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.split.orientation() != want:
            self.split.setOrientation(want)
            total = self.width() if wide else self.height()
            self.split.setSizes([int(total * (0.66 if wide else 0.6)),
                                 int(total * (0.34 if wide else 0.4))])

    def set_mode(self, mode: str) -> None:
        """``"batch"`` (x = K) or ``"width"`` (x = hidden width; the Width column shows)."""
        self.mode = mode
        self._label_axes()

    def clear(self) -> None:
        self.rows = []
        self.table.setRowCount(0)
        for p, leg in ((self.time_plot, self.time_legend), (self.speed_plot, self.speed_legend)):
            for item in p.listDataItems():
                p.removeItem(item)
            leg.clear()
            p.getAxis("bottom").setTicks(None)
        self._curves.clear()

    def _x(self, r: TimingRow) -> int:
        return int(r.width) if self.mode == "width" and r.width is not None else r.batch

    def _curve(self, plot: Any, backend: str, what: str) -> pg.PlotDataItem:
        key = (backend, what)
        if key not in self._curves:
            style, symbol = BACKEND_STYLE.get(backend, (Qt.PenStyle.DotLine, "s"))
            colour = METHOD_COLOUR.get(what, "#2a7d2a")
            w = 4 if self._presentation else 2
            name = f"{what} · {BACKEND_LABEL.get(backend, backend)}" if what != "speedup" \
                else BACKEND_LABEL.get(backend, backend)
            self._curves[key] = plot.plot(
                [], [], name=name, pen=pg.mkPen(colour, width=w, style=style), symbol=symbol,
                symbolSize=9 if self._presentation else 6, symbolBrush=colour, symbolPen=None)
            self._curves[key].bpviz_own_pen = True   # (set_presentation sizes it)
        return self._curves[key]

    def add_row(self, row: TimingRow) -> None:
        """Append one measured point to the plots and the table."""
        self.rows.append(row)
        series = sorted((r for r in self.rows if r.backend == row.backend), key=self._x)
        xs = [self._x(r) for r in series]
        for what in ("loop", "vectorized"):
            self._curve(self.time_plot, row.backend, what).setData(
                xs, [getattr(r, f"{what}_ms") for r in series])
        self._curve(self.speed_plot, row.backend, "speedup").setData(
            xs, [r.speedup or 0.0 for r in series])
        self._x_ticks()
        i = self.table.rowCount()
        self.table.insertRow(i)
        cells = (BACKEND_LABEL.get(row.backend, row.backend), str(row.batch),
                 "" if row.width is None else str(row.width), _ms(row.loop_ms),
                 _ms(row.loop_median_ms), _ms(row.vectorized_ms), _ms(row.vectorized_median_ms),
                 format_speedup(row.speedup), f"{row.max_abs_diff:.1e}")
        for j, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if j:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(i, j, item)
        self.table.scrollToBottom()

    def _x_ticks(self) -> None:
        """Label the x axes with the swept values themselves (1, 4, 16, …), at most 7."""
        xs = sorted({self._x(r) for r in self.rows})
        step = max(1, math.ceil(len(xs) / 7))
        shown = xs[::-1][::step][::-1]  # every step-th value, always the largest
        ticks = [[(math.log10(x), str(x)) for x in shown], []]
        for p in (self.time_plot, self.speed_plot):
            p.getAxis("bottom").setTicks(ticks)

    def export_png(self, path: str) -> None:
        if not self.plots.grab().save(str(path), "PNG"):
            raise OSError(f"could not write {path}")

    def set_presentation(self, on: bool) -> None:
        """Big fonts, thick lines and big symbols for a lecture hall."""
        self._presentation = bool(on)
        self._apply_fonts()
        w = 4 if on else 2
        for c in self._curves.values():
            pen = c.opts["pen"]
            pen.setWidth(w)
            c.setPen(pen)
            c.setSymbolSize(9 if on else 6)

    def _points(self) -> int:
        return 16 if self._presentation else 10

    def _apply_fonts(self) -> None:
        pt = self._points()
        f = QFont(self.font())
        f.setPointSize(pt)
        self.table.setFont(f)
        tick = QFont(f)
        tick.setPointSize(pt - 1)
        for p in (self.time_plot, self.speed_plot):
            for name in ("left", "bottom"):
                p.getAxis(name).setTickFont(tick)
        for leg in (self.time_legend, self.speed_legend):
            leg.setLabelTextSize(f"{pt}pt")
        self._label_axes()



def caption_html(res: SweepResult) -> str:
    """The caption: why the matrix form wins, then what this sweep shows."""
    row = res.headline_row()
    if row is None:
        return WHY + " No point was measured; press <b>Run</b>."
    where = f"width {row.width} (K={row.batch})" if res.mode == "width" else f"K={row.batch}"
    blas = res.meta.get("blas_threads")
    threads = f", {blas} BLAS thread" + ("s" if blas != 1 else "") if blas else ""
    net = str(res.meta.get("network", "")).split(" (")[0]
    txt = (f"<br><b>This network</b> ({net}, {res.meta.get('dtype', '')}{threads}): at {where} "
           f"the vectorized form is <b>{format_speedup(row.speedup)} faster</b> on "
           f"{BACKEND_LABEL.get(row.backend, row.backend)} ({_ms(row.vectorized_ms)} ms against "
           f"{_ms(row.loop_ms)} ms), and both give the same dW to <b>{res.max_abs_diff:.0e}</b> "
           f"(largest |dW<sub>loop</sub> − dW<sub>vec</sub>| over {len(res.rows)} points).")
    if {"numpy", "cupy"} <= set(res.backends()):
        x = res.crossover()
        var = "width" if res.mode == "width" else "K"
        txt += (f" CuPy's vectorized form beats NumPy's from {var}={x} on." if x is not None
                else " NumPy stays ahead of CuPy at every point measured: these "
                     "matrices are too small to keep a GPU busy.")
    return WHY + txt
