"""Gradient health: an engineer's view of every layer over the steps.

- ‖dW^l‖ and ‖δ^l‖ of every layer on log axes: vanishing gradients show as the
  first layers' lines sinking decades below the last layer's; exploding ones
  as lines shooting up;
- the update-to-weight ratio ‖ΔW^l‖/‖W^l‖ (ΔW the update the optimizer
  applied) on a log axis, with the 1e-3 rule of thumb dashed;
- a layer × step strip of ‖dW^l‖ over the last :data:`STRIP_STEPS` published
  steps (colour: log₁₀, a sequential map), layer 1 on top;
- a line counting the dead and saturated units of each layer on the latest
  published step (the rules are in ``bpviz.engine.unit_stats`` and in the
  line's tooltip).

Values come from ``StepRecord.grad_norms`` (``"dW{i}"``, ``"delta{i}"``,
``"ratio{i}"`` for engine layer i, displayed as layer i + 1) and
``StepRecord.units``, which the trainer fills on steps that carry the
matrices. Each line is a bounded :class:`~.series.DecimatedSeries`; the strip
keeps a fixed number of steps.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ...engine.unit_stats import DEAD_RULE, RULE_OF_THUMB, SATURATION_RULE, UnitStats
from ..contract import PanelContext, PanelMixin
from ..history import is_recorded
from ..notation import sup
from . import export
from .axes import LogAxis, index_ticks
from .colormaps import LINE_COLORS
from .loss_plot import clear_curves, new_records, redraw_curves, series_arrays
from .series import DEFAULT_CAP, DecimatedSeries
from .throttle import Throttle

QUANTITIES = ("dW", "delta", "ratio")
REDRAW_S = 0.2  # redrawn at most 5 times a second
STRIP_STEPS = 120  # published steps in the layer × step strip
LISTED = 6  # unit indices written out per layer in the count line (all in the tooltip, to 60)
_TITLES = {"dW": "‖dWˡ‖  (weight gradient, Frobenius norm)",
           "delta": "‖δˡ‖  (errors of the mini-batch)",
           "ratio": "update ÷ weights  ‖ΔWˡ‖ / ‖Wˡ‖",
           "strip": "log₁₀ ‖dWˡ‖ per layer, last steps"}
_PLACES = {"dW": (0, 0), "delta": (1, 0), "ratio": (0, 1)}
RATIO_TIP = ("Update-to-weight ratio of each layer: ‖ΔW‖/‖W‖, ΔW the update the optimizer "
             "applied on that step (η·dW for plain SGD; momentum, Adam and L1/L2 included). "
             "Rule of thumb: about 1e-3. Far below, the layer barely learns; far above, "
             "training is unstable.")


class GradientHealthPlot(PanelMixin, QWidget):
    """Log-y plots sharing the step axis (‖dW^l‖, ‖δ^l‖, update ratio; one line per
    layer), the layer × step strip of ‖dW^l‖ and the per-layer unit counts."""

    draws_snapshots = True
    draws_history = True   # its curves need every record, also those missed hidden

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None,
                 cap: int = DEFAULT_CAP) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._cap = cap
        self._n = 0
        self._last_step = -1
        self._presentation = False
        self._ratio_range: tuple[float, float] | None = None   # as last set
        #: the lowest and highest log10 of every ratio appended (the decimated curves keep
        #: each bucket's extremes, so these are also those of what is drawn)
        self._ratio_seen = (math.inf, -math.inf)
        self._series: dict[tuple[str, int], DecimatedSeries] = {}
        self._curves: dict[tuple[str, int], pg.PlotDataItem] = {}
        self._drawn: dict[tuple[str, int], int] = {}
        self._strip: deque[tuple[int, np.ndarray]] = deque(maxlen=STRIP_STEPS)
        self._strip_dirty = False
        self._units: UnitStats | None = None
        self._throttle = Throttle(self._redraw, REDRAW_S, self)
        self._view = pg.GraphicsLayoutWidget()
        self._view.setBackground("w")
        self._plots = {}
        self._legends = {}
        for q in QUANTITIES:
            row, col = _PLACES[q]
            p = self._view.addPlot(row=row, col=col, axisItems={"left": LogAxis("left")})
            p.setMenuEnabled(False)
            p.setLogMode(y=True)
            self._style_axes(p)
            self._plots[q] = p
            self._legends[q] = p.addLegend(offset=(-10, 5), labelTextColor="k",
                                           brush=(255, 255, 255, 190))
        self._plots["delta"].setXLink(self._plots["dW"])
        self._plots["ratio"].setXLink(self._plots["dW"])
        self._rule = pg.InfiniteLine(
            pos=math.log10(RULE_OF_THUMB), angle=0, movable=False,
            pen=pg.mkPen((90, 90, 90), width=2, style=Qt.PenStyle.DashLine),
            label="rule of thumb 1e-3",
            labelOpts={"position": 0.45, "color": "k", "anchors": [(0.5, 0), (0.5, 0)],
                       "fill": (255, 255, 255, 210)})
        self._plots["ratio"].addItem(self._rule, ignoreBounds=False)
        # the strip: rows are layers (layer 1 on top), columns the last published steps
        sp = self._view.addPlot(row=1, col=1)
        sp.setMenuEnabled(False)
        sp.setMouseEnabled(x=False, y=False)
        sp.hideButtons()
        sp.invertY(True)
        self._style_axes(sp)
        sp.getAxis("bottom").setStyle(hideOverlappingLabels=False)  # the end steps too
        self._strip_plot = sp
        self._strip_item = pg.ImageItem(axisOrder="row-major")
        sp.addItem(self._strip_item)
        self._strip_bar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"),
                                          interactive=False, width=12, colorMapMenu=False)
        self._strip_bar.setImageItem(self._strip_item, insert_in=sp)
        self._style_axes(self._strip_bar)
        self._view.ci.layout.setColumnStretchFactor(0, 1)
        self._view.ci.layout.setColumnStretchFactor(1, 1)
        self._plots["ratio"].setToolTip(RATIO_TIP)
        sp.setToolTip("‖dWˡ‖ of each layer (rows, layer 1 on top) on each of the last "
                      f"{STRIP_STEPS} published steps (columns); colour: log₁₀ of the norm.")
        self._counts = QLabel("")
        self._counts.setWordWrap(True)
        self._counts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._hint = QLabel("Lines far apart = some layers learn much slower (vanishing "
                            "gradients); lines shooting up = exploding. Update ÷ weights "
                            "near 1e-3 is healthy.")
        self._hint.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self._view, 1)
        lay.addWidget(self._counts)
        lay.addWidget(self._hint)
        self._apply_fonts()
        self._show_counts()
        export.install_panel_menu(self, "gradient-health", self.export_matrices, (self._view,))
        ctx.specChanged.connect(self.set_spec)
        if ctx.spec is not None:
            self.set_spec(ctx.spec)

    # ------------------------------------------------------------ API
    def plot_item(self, quantity: str) -> pg.PlotItem:
        """The plot of ``quantity``: "dW", "delta", "ratio" or "strip"."""
        return self._strip_plot if quantity == "strip" else self._plots[quantity]

    def rule_line(self) -> pg.InfiniteLine:
        """The dashed 1e-3 line of the ratio plot (at log₁₀ 1e-3 = −3, a log axis)."""
        return self._rule

    def n_layers(self) -> int:
        return self._n

    def curve_data(self, quantity: str, layer: int):
        """``(steps, values)`` of ``quantity`` ("dW", "delta" or "ratio") for engine layer
        ``layer``."""
        return self._series[(quantity, layer)].data()

    def strip_data(self) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, norms)``: the strip's steps (N,) and ‖dW^l‖ as an (L, N) array,
        row l = engine layer l, oldest step first."""
        if not self._strip:
            return np.empty(0, np.int64), np.empty((self._n, 0))
        steps = np.array([s for s, _ in self._strip], dtype=np.int64)
        return steps, np.stack([v for _, v in self._strip], axis=1)

    def strip_image(self) -> np.ndarray | None:
        """The image the strip draws: log₁₀ ‖dW‖, (L, N)."""
        return self._strip_item.image

    def counts_text(self) -> str:
        """The per-layer count line as shown ("layer 2: 37 dead of 512, 0 saturated")."""
        return self._counts.text()

    def counts_tooltip(self) -> str:
        return self._counts.toolTip()

    def export_matrices(self) -> dict[str, np.ndarray]:
        """Each line as an (N, 2) array of (step, value) rows, and the strip (L, N)
        with its steps, for the panel menu."""
        names = {"dW": "dW{} norm", "delta": "delta{} norm", "ratio": "update ratio {}"}
        out = series_arrays(self._series, lambda k: names[k[0]].format(k[1] + 1))
        steps, norms = self.strip_data()
        if steps.size:
            out["dW norm strip (layer x step)"] = norms
            out["dW norm strip steps"] = steps
        return out

    def set_spec(self, spec) -> None:
        n = len(spec.layers) if spec is not None else 0
        if n != self._n:
            self._build(n)
        self.clear()

    def clear(self) -> None:
        self._ratio_range = None
        self._ratio_seen = (math.inf, -math.inf)
        self._last_step = -1
        clear_curves(self._series, self._curves)
        self._drawn = {}
        self._strip.clear()
        self._strip_dirty = False
        self._strip_item.clear()
        self._units = None
        self._show_counts()
        self._throttle.cancel()

    def flush(self) -> None:
        """Draw pending data now (tests, screenshots)."""
        self._throttle.flush()

    def show_snapshot(self, snap) -> None:
        if snap is None or is_recorded(snap):   # a kept step shown again: curves stay
            return
        if snap.step.step < self._last_step:
            self.clear()
        recs = new_records(snap, self._last_step)
        if not recs:
            return
        self._last_step = recs[-1].step
        for r in recs:
            g = r.grad_norms
            if not g:   # (only the published steps carry norms)
                continue
            if self._n == 0 or f"dW{self._n - 1}" not in g:
                n = sum(1 for k in g if k.startswith("dW"))
                if n != self._n:
                    self._build(n)
            for (q, i), s in self._series.items():
                v = g.get(f"{q}{i}")
                if v is not None and math.isfinite(v):
                    v = max(v, 1e-30)
                    s.append(r.step, v)
                    if q == "ratio":
                        y, (lo, hi) = math.log10(v), self._ratio_seen
                        if not lo <= y <= hi:
                            self._ratio_seen = (min(lo, y), max(hi, y))
            self._strip.append((r.step, np.array([g.get(f"dW{i}", math.nan)
                                                  for i in range(self._n)])))
            self._strip_dirty = True
            if r.units is not None:
                self._units = r.units
        self._show_counts()
        self._throttle.request()

    def _redraw(self) -> None:
        redraw_curves(self._series, self._curves, self._drawn)
        self._fit_ratio_range()
        if self._strip_dirty:
            self._strip_dirty = False
            self._draw_strip()

    def set_presentation(self, on: bool) -> None:
        self._presentation = bool(on)
        self._apply_fonts()
        for (_, i), curve in self._curves.items():
            curve.setPen(self._pen(i))

    # ------------------------------------------------------------ internals
    def _pen(self, i: int):
        return pg.mkPen(LINE_COLORS[i % len(LINE_COLORS)], width=5 if self._presentation else 2)

    @staticmethod
    def _style_axes(item) -> None:
        axes = [item.axis] if isinstance(item, pg.ColorBarItem) else \
            [item.getAxis(name) for name in ("left", "bottom")]
        for ax in axes:
            ax.setPen("k")
            ax.setTextPen("k")
            ax.enableAutoSIPrefix(False)

    def _build(self, n: int) -> None:
        for (q, _), curve in self._curves.items():
            self._plots[q].removeItem(curve)
        for legend in self._legends.values():
            legend.clear()
        self._curves.clear()
        self._series.clear()
        self._ratio_seen = (math.inf, -math.inf)
        self._drawn = {}
        self._strip.clear()
        self._strip_item.clear()
        self._n = n
        for legend in self._legends.values():
            legend.setColumnCount(max(1, min(n, 4)))  # one row of entries, not a column
        for q in QUANTITIES:
            for i in range(n):
                if q == "ratio":
                    name = f"layer {i + 1}"
                else:
                    name = ("‖dW" if q == "dW" else "‖δ") + f"{sup(i + 1)}‖"
                self._curves[(q, i)] = self._plots[q].plot([], [], pen=self._pen(i), name=name)
                self._curves[(q, i)].bpviz_own_pen = True   # (_pen sizes it for presentation)
                self._series[(q, i)] = DecimatedSeries(self._cap)
        self._strip_ticks()
        self._apply_fonts()

    def _fit_ratio_range(self) -> None:
        """The ratio plot's y range: the lines and, always, the 1e-3 line with room for
        its label below it (autorange ignores an infinite line)."""
        rule = math.log10(RULE_OF_THUMB)
        seen_lo, seen_hi = self._ratio_seen
        lo, hi = min(rule - 0.7, seen_lo), max(rule + 0.3, seen_hi)
        if (lo, hi) != self._ratio_range:   # a new range: redraw the axis
            self._ratio_range = (lo, hi)
            self._plots["ratio"].setYRange(lo, hi, padding=0.05)

    def _draw_strip(self) -> None:
        steps, norms = self.strip_data()
        if not steps.size or not self._n:
            self._strip_item.clear()
            return
        with np.errstate(divide="ignore", invalid="ignore"):
            img = np.log10(np.maximum(norms, 1e-30))
        finite = img[np.isfinite(img)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if hi - lo < 1e-6:
            lo, hi = lo - 0.5, hi + 0.5
        img = np.where(np.isfinite(img), img, lo).astype(np.float32)
        self._strip_item.setImage(img, autoLevels=False)
        self._strip_bar.setLevels((lo, hi))
        self._strip_plot.setRange(xRange=(0, steps.size), yRange=(0, self._n), padding=0)
        self._strip_ticks(steps)

    def _strip_ticks(self, steps: np.ndarray | None = None) -> None:
        """Layer numbers 1..L on the left (row l centred at l − ½), the steps of two or
        three columns below."""
        big = self._presentation
        _, rows = index_ticks(1, max(self._n, 1), 5 if big else 8)
        left = [(r - 0.5, str(r)) for r in rows] if self._n else []
        self._strip_plot.getAxis("left").setTicks([left, []])
        bottom = []
        if steps is not None and steps.size:
            # a few columns, kept off the ends so that a long step number is not clipped
            n = steps.size
            cols = sorted({int(round(f * (n - 1))) for f in np.linspace(0.1, 0.9, 2 if big else 3)})
            bottom = [(c + 0.5, f"{int(steps[c])}") for c in cols]
        self._strip_plot.getAxis("bottom").setTicks([bottom, []])

    def _show_counts(self) -> None:
        """The per-layer count line of the latest published step, with the rules and
        the full index lists (1-based, as every index a user reads) in its tooltip."""
        u = self._units
        if u is None:
            self._counts.setText("Dead and saturated units: shown once training publishes "
                                 "a step.")
            self._counts.setToolTip(f"{DEAD_RULE}.\n{SATURATION_RULE}.")
            return
        parts, tips = [], []
        for i, ly in enumerate(u.layers):
            text = f"layer {i + 1}: {ly.n_dead} dead of {ly.units}{_listed(ly.dead, LISTED)}"
            if ly.can_saturate:
                text += f", {ly.n_saturated} saturated{_listed(ly.saturated, LISTED)}"
            parts.append(text)
            tip = f"layer {i + 1}: dead units {_numbers(ly.dead, 60)}"
            if ly.can_saturate:
                tip += f"; saturated units {_numbers(ly.saturated, 60)}"
            tips.append(tip)
        self._counts.setText("Units:  " + "   ·   ".join(parts))
        self._counts.setToolTip(f"{DEAD_RULE}.\n{SATURATION_RULE}.\n"
                                "Units are numbered from 1.\n" + "\n".join(tips))

    def _apply_fonts(self) -> None:
        big = self._presentation
        tick = QFont()
        tick.setPointSize(15 if big else 9)
        style = {"color": "#000", "font-size": f"{17 if big else 10}pt"}
        plots = {**self._plots, "strip": self._strip_plot}
        for q, p in plots.items():
            for name in ("left", "bottom"):
                p.getAxis(name).setStyle(tickFont=tick)
            p.setTitle(_TITLES[q], size=f"{18 if big else 11}pt", color="k")
            p.setLabel("bottom", "step", **style)
            if q in self._legends:
                self._legends[q].setLabelTextSize(f"{15 if big else 9}pt")
                for _, label in self._legends[q].items:
                    label.setText(label.text, size=f"{15 if big else 9}pt", color="k")
        self._strip_plot.setLabel("left", "layer", **style)
        self._strip_bar.axis.setStyle(tickFont=tick)
        self._rule.label.setFont(tick)
        for label in (self._counts, self._hint):
            font = QFont(label.font())
            font.setPointSize(14 if big else 9)
            label.setFont(font)
        self._strip_ticks(self.strip_data()[0] if self._strip else None)


def _numbers(idx: np.ndarray, most: int) -> str:
    """``idx`` (0-based) as the 1-based "4, 9, 17…" (at most ``most`` of them); "none"."""
    if idx.size == 0:
        return "none"
    return ", ".join(str(int(i) + 1) for i in idx[:most]) + ("…" if idx.size > most else "")


def _listed(idx: np.ndarray, most: int) -> str:
    """``idx`` (0-based) as " (units 4, 9, 17…)" for the count line; "" when empty."""
    if idx.size == 0:
        return ""
    return f" (unit{'s' if idx.size > 1 else ''} {_numbers(idx, most)})"
