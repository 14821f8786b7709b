"""Gradient health: ‖dW^l‖ and ‖δ^l‖ of every layer over the steps, on a log axis.

Vanishing gradients show as the first layers' lines sinking decades below the
last layer's; exploding ones as lines shooting up. Values come from
``StepRecord.grad_norms`` (``"dW{i}"``, ``"delta{i}"`` for engine layer i,
displayed as layer i + 1), which the trainer fills on steps that carry the
matrices. Each line is a bounded :class:`~.series.DecimatedSeries`.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..contract import PanelContext, PanelMixin
from ..notation import sup
from . import export
from .axes import LogAxis
from .colormaps import LINE_COLORS
from .loss_plot import clear_curves, new_records, redraw_curves, series_arrays
from .series import DEFAULT_CAP, DecimatedSeries
from .throttle import Throttle

QUANTITIES = ("dW", "delta")
REDRAW_S = 0.2  # redrawn at most 5 times a second
_TITLES = {"dW": "‖dWˡ‖  (weight gradient, Frobenius norm)",
           "delta": "‖δˡ‖  (errors of the mini-batch)"}


class GradientHealthPlot(PanelMixin, QWidget):
    """Two log-y plots sharing the step axis: ‖dW^l‖ above, ‖δ^l‖ below, one line per layer."""

    draws_snapshots = True

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None,
                 cap: int = DEFAULT_CAP) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._cap = cap
        self._n = 0
        self._last_step = -1
        self._presentation = False
        self._series: dict[tuple[str, int], DecimatedSeries] = {}
        self._curves: dict[tuple[str, int], pg.PlotDataItem] = {}
        self._drawn: dict[tuple[str, int], int] = {}
        self._throttle = Throttle(self._redraw, REDRAW_S, self)
        self._view = pg.GraphicsLayoutWidget()
        self._view.setBackground("w")
        self._plots = {}
        self._legends = {}
        for row, q in enumerate(QUANTITIES):
            p = self._view.addPlot(row=row, col=0, axisItems={"left": LogAxis("left")})
            p.setMenuEnabled(False)
            p.setLogMode(y=True)
            for name in ("left", "bottom"):
                p.getAxis(name).setPen("k")
                p.getAxis(name).setTextPen("k")
                p.getAxis(name).enableAutoSIPrefix(False)
            self._plots[q] = p
            self._legends[q] = p.addLegend(offset=(-10, 5), labelTextColor="k",
                                           brush=(255, 255, 255, 190))
        self._plots["delta"].setXLink(self._plots["dW"])
        self._hint = QLabel("Lines far apart = some layers learn much slower (vanishing "
                            "gradients); lines shooting up = exploding.")
        self._hint.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self._view, 1)
        lay.addWidget(self._hint)
        self._apply_fonts()
        export.install_panel_menu(self, "gradient-health", self.export_matrices, (self._view,))
        ctx.specChanged.connect(self.set_spec)
        if ctx.spec is not None:
            self.set_spec(ctx.spec)

    # ------------------------------------------------------------ API
    def plot_item(self, quantity: str) -> pg.PlotItem:
        return self._plots[quantity]

    def n_layers(self) -> int:
        return self._n

    def curve_data(self, quantity: str, layer: int):
        """``(steps, norms)`` of ``quantity`` ("dW" or "delta") for engine layer ``layer``."""
        return self._series[(quantity, layer)].data()

    def export_matrices(self) -> dict[str, np.ndarray]:
        """Each line as an (N, 2) array of (step, norm) rows, for the panel menu."""
        return series_arrays(self._series,
                             lambda k: f"{'dW' if k[0] == 'dW' else 'delta'}{k[1] + 1} norm")

    def set_spec(self, spec) -> None:
        n = len(spec.layers) if spec is not None else 0
        if n != self._n:
            self._build(n)
        self.clear()

    def clear(self) -> None:
        self._last_step = -1
        clear_curves(self._series, self._curves)
        self._drawn = {}
        self._throttle.cancel()

    def flush(self) -> None:
        """Draw pending data now (tests, screenshots)."""
        self._throttle.flush()

    def show_snapshot(self, snap) -> None:
        if snap is None:
            return
        if snap.step.step < self._last_step:
            self.clear()
        recs = new_records(snap, self._last_step)
        if not recs:
            return
        for r in recs:
            self._last_step = r.step
            g = r.grad_norms
            if not g:
                continue
            if self._n == 0 or f"dW{self._n - 1}" not in g:
                n = sum(1 for k in g if k.startswith("dW"))
                if n != self._n:
                    self._build(n)
            for (q, i), s in self._series.items():
                v = g.get(f"{q}{i}")
                if v is not None:
                    s.append(r.step, max(v, 1e-30))
        self._throttle.request()

    def _redraw(self) -> None:
        redraw_curves(self._series, self._curves, self._drawn)

    def set_presentation(self, on: bool) -> None:
        self._presentation = bool(on)
        self._apply_fonts()
        for (_, i), curve in self._curves.items():
            curve.setPen(self._pen(i))

    # ------------------------------------------------------------ internals
    def _pen(self, i: int):
        return pg.mkPen(LINE_COLORS[i % len(LINE_COLORS)], width=5 if self._presentation else 2)

    def _build(self, n: int) -> None:
        for (q, _), curve in self._curves.items():
            self._plots[q].removeItem(curve)
        for legend in self._legends.values():
            legend.clear()
        self._curves.clear()
        self._series.clear()
        self._drawn = {}
        self._n = n
        for legend in self._legends.values():
            legend.setColumnCount(max(1, min(n, 4)))  # one row of entries, not a column
        for q in QUANTITIES:
            for i in range(n):
                name = ("‖dW" if q == "dW" else "‖δ") + f"{sup(i + 1)}‖"
                self._curves[(q, i)] = self._plots[q].plot([], [], pen=self._pen(i), name=name)
                self._series[(q, i)] = DecimatedSeries(self._cap)
        self._apply_fonts()

    def _apply_fonts(self) -> None:
        big = self._presentation
        tick = QFont()
        tick.setPointSize(15 if big else 9)
        style = {"color": "#000", "font-size": f"{17 if big else 10}pt"}
        for q, p in self._plots.items():
            for name in ("left", "bottom"):
                p.getAxis(name).setStyle(tickFont=tick)
            p.setTitle(_TITLES[q], size=f"{18 if big else 11}pt", color="k")
            p.setLabel("bottom", "step", **style)
            self._legends[q].setLabelTextSize(f"{15 if big else 9}pt")
            for _, label in self._legends[q].items:
                label.setText(label.text, size=f"{15 if big else 9}pt", color="k")
        font = QFont(self._hint.font())
        font.setPointSize(14 if big else 9)
        self._hint.setFont(font)
