"""Loop against vectorized: the live cost of backprop and what the matrix form buys.

Top: milliseconds per backprop of the method training uses now (median of
the recent steps). Below, from ``snap.comparison`` (both methods timed on the
same mini-batch about once a second): loop ms, vectorized ms, the speed-up,
and ``max |dW_loop − dW_vec|``, the proof that both compute the same gradient.
Two bars drawn to the same scale make the speed-up visible from the back row.
"""

from __future__ import annotations

import math
import statistics
from collections import deque

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ..contract import PanelContext, PanelMixin
from ..history import is_recorded
from . import export
from .colormaps import CLASS_COLORS
from .fitlabel import FitLabel
from .loss_plot import new_records
from .throttle import Throttle

RECENT = 30  # steps in the live median
LIVE_S = 0.25  # the live median is written at most 4 times a second


def fmt_ms(ms: float | None) -> str:
    if ms is None or not math.isfinite(ms):
        return "—"
    if ms >= 100:
        return f"{ms:.0f} ms"
    if ms >= 1:
        return f"{ms:.2f} ms"
    return f"{ms * 1000:.0f} µs"


def fmt_speedup(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x:.0f}×" if x >= 10 else f"{x:.1f}×"


def fmt_diff(d: float | None) -> str:
    if d is None or not math.isfinite(d):
        return "—"
    return "0" if d == 0 else f"{d:.1e}".replace("e-0", "e−").replace("e-", "e−")


class TimeBars(QWidget):
    """Two horizontal bars, loop and vectorized, on one linear scale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loop: float | None = None
        self._vec: float | None = None
        self._big = False
        self.setMinimumHeight(50)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_times(self, loop_ms: float | None, vec_ms: float | None) -> None:
        self._loop, self._vec = loop_ms, vec_ms
        self.update()

    def set_big(self, on: bool) -> None:
        self._big = on
        self.setMinimumHeight(100 if on else 50)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setPointSize(15 if self._big else 9)
        p.setFont(font)
        fm = p.fontMetrics()
        w, h = self.width(), self.height()
        label_w = fm.horizontalAdvance("vectorized") + 12
        value_w = fm.horizontalAdvance("000.00 ms") + 8
        top = max(self._loop or 0.0, self._vec or 0.0)
        bar_h = min((h - 12) / 2, 2.2 * fm.height())
        y0 = (h - 2 * bar_h - 4) / 2
        for row, (name, v, color) in enumerate((("loop", self._loop, CLASS_COLORS[1]),
                                               ("vectorized", self._vec, CLASS_COLORS[0]))):
            y = y0 + row * (bar_h + 4)
            p.setPen(QColor("black"))
            p.drawText(QRectF(0, y, label_w - 6, bar_h), Qt.AlignmentFlag.AlignRight
                       | Qt.AlignmentFlag.AlignVCenter, name)
            if v is None or top <= 0:
                continue
            length = max(2.0, (w - label_w - value_w) * v / top)
            p.fillRect(QRectF(label_w, y, length, bar_h), QColor(*color))
            p.setPen(QColor("black"))
            p.drawText(QRectF(label_w + length + 6, y, value_w, bar_h),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, fmt_ms(v))
        p.end()


class ComparePanel(PanelMixin, QWidget):
    """Big numbers: ms of the method in use, loop ms, vectorized ms, speed-up, max |ΔdW|."""

    draws_snapshots = True
    draws_history = True   # its curves need every record, also those missed hidden

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._recent: dict[str, deque] = {"loop": deque(maxlen=RECENT),
                                          "vectorized": deque(maxlen=RECENT)}
        self._last_step = -1
        self._presentation = False
        left, right = Qt.AlignmentFlag.AlignLeft, Qt.AlignmentFlag.AlignRight
        self._method = FitLabel(align=left, text="method in use: —")
        self._live = FitLabel(align=left, text="—", bold=True)
        self._live_step = None   # the record whose method and K the live line names
        self._live_throttle = Throttle(self._show_live, LIVE_S, self)
        self._live.setToolTip("Median milliseconds per backprop over the last steps")
        self._names: list[FitLabel] = []
        self._values: dict[str, FitLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        rows = (("loop", "loop (one sample at a time)"),
                ("vectorized", "vectorized (δᵀa, one product)"),
                ("speedup", "speed-up"),
                ("diff", "max |dW_loop − dW_vec|"))
        for r, (key, text) in enumerate(rows):
            name = FitLabel(align=left, text=text)
            value = FitLabel(align=right, text="—", bold=True)
            grid.addWidget(name, r, 0)
            grid.addWidget(value, r, 1)
            self._names.append(name)
            self._values[key] = value
        self._batch = QLabel("measured on the same mini-batch about once a second")
        self._batch.setWordWrap(True)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        self._bars = TimeBars()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.addWidget(self._method)
        lay.addWidget(self._live)
        lay.addSpacing(6)
        lay.addLayout(grid)
        lay.addWidget(self._bars, 1)
        lay.addWidget(self._batch)
        self._apply_fonts()
        export.install_panel_menu(self, "loop-vs-vectorized")

    # ------------------------------------------------------------ API
    def texts(self) -> dict[str, str]:
        """What the panel shows, by key: method, live, loop, vectorized, speedup, diff, batch."""
        out = {k: v.plain_text() for k, v in self._values.items()}
        out.update(method=self._method.plain_text(), live=self._live.plain_text(),
                   batch=self._batch.text())
        return out

    def clear(self) -> None:
        self._last_step = -1
        for d in self._recent.values():
            d.clear()
        for v in self._values.values():
            v.set_text("—")
        self._live_throttle.cancel()
        self._live_step = None
        self._live.set_text("—")
        self._bars.set_times(None, None)

    def show_snapshot(self, snap) -> None:
        if snap is None or is_recorded(snap):   # a kept step shown again: curves stay
            return
        if snap.step.step < self._last_step:
            self.clear()
        recs = new_records(snap, self._last_step)
        if recs:
            self._last_step = recs[-1].step
        for r in recs[-RECENT:]:        # only the newest make the median
            if math.isfinite(r.backprop_ms) and r.method in self._recent:
                self._recent[r.method].append(r.backprop_ms)
        self._live_step = snap.step
        self._live_throttle.request()   # a median of 30 steps: read a few times a second
        c = snap.comparison
        if c is not None:
            self._values["loop"].set_text(fmt_ms(c.loop_ms))
            self._values["vectorized"].set_text(fmt_ms(c.vectorized_ms))
            self._values["speedup"].set_text(fmt_speedup(c.speedup))
            self._values["diff"].set_text(fmt_diff(c.max_abs_diff))
            self._batch.setText(f"both timed on the same mini-batch (K = {c.batch_size}), "
                                "about once a second, beside training; the tiny difference "
                                "is rounding")
            self._bars.set_times(c.loop_ms, c.vectorized_ms)

    def _show_live(self) -> None:
        step = self._live_step
        if step is None:
            return
        recent = self._recent.get(step.method)
        live = statistics.median(recent) if recent else step.backprop_ms
        self._method.set_text(f"method in use: {step.method} · training's own steps, median "
                              f"of the last {len(recent) if recent else 1}")
        self._live.set_text(f"{fmt_ms(live)} per backprop   (K = {step.batch_size})")

    def flush(self) -> None:
        """Show the newest live median now (tests, screenshots)."""
        self._live_throttle.flush()

    def set_presentation(self, on: bool) -> None:
        self._presentation = bool(on)
        self._apply_fonts()
        self._bars.set_big(on)

    # ------------------------------------------------------------ internals
    def _apply_fonts(self) -> None:
        big = self._presentation
        self._method.set_point_size(18 if big else 10)
        self._live.set_point_size(34 if big else 20)
        for name in self._names:
            name.set_point_size(18 if big else 10)
        for key, v in self._values.items():
            v.set_point_size((30 if big else 16) if key == "speedup" else (22 if big else 12))
        f = QFont(self.font())
        f.setPointSize(13 if big else 8)
        self._batch.setFont(f)
