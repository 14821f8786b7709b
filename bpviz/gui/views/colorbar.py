"""Colour-bar labels for symmetric levels, and the bar of the pyqtgraph data view.

:func:`format_level` and :data:`LABEL_TEMPLATES` label every colour bar (the
heatmaps' bar is drawn with Qt items in :mod:`.heatmap_canvas`). :class:`ColourBar`
is the bar beside the data view's regression surface, a pyqtgraph plot:
pyqtgraph's ``ColorBarItem`` recomputes its whole tick axis whenever the levels
change, while symmetric levels only need three labels — the top is ``+s``, the
middle is ``0``, the bottom is ``−s`` — so this bar draws the static ramp once
and only changes three short texts, and only when their formatted value changes.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QFont, QFontMetrics, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsLineItem, QGraphicsSimpleTextItem

from .colormaps import LUT_SIZE, map_signed

BAR_WIDTH = 1.0  # in view units; the text column starts at TEXT_X
TEXT_X = 1.25


def format_level(s: float) -> str:
    """A short colour-bar label with a real minus sign.

    3 significant digits for ``0.01 <= |s| < 1000`` (``-0.01234`` -> ``'−0.0123'``),
    otherwise 2 digits and a bare exponent (``9.91e-05`` -> ``'9.9e−5'``,
    ``1234567`` -> ``'1.2e6'``): at most 8 characters with the sign for any float32,
    so the bar's fixed text column (:data:`LABEL_TEMPLATES`) always holds it.
    The readout line under the heatmap gives ``s`` to 4 digits.
    """
    s = float(s)
    if s == 0.0 or not math.isfinite(s):
        return f"{s:g}".replace("-", "−")
    r = float(f"{s:.3g}")  # decide on the rounded value: 0.009999 -> "0.01", 999.7 -> "1e3"
    if 0.01 <= abs(r) < 1000.0:
        return f"{r:.3g}".replace("-", "−")
    mant, exp = f"{s:.1e}".split("e")
    mant = mant.removesuffix(".0")
    return f"{mant}e{int(exp)}".replace("-", "−")


#: The widest labels :func:`format_level` makes (2-digit exponents; ``8`` is a wide digit).
LABEL_TEMPLATES = ("+0.0888", "−0.0888", "+8.8e−88", "−8.8e−88", "+888", "−888")
#: The widest labels of a compact bar: ``s`` to 2 digits in the units of the heatmap's
#: shared power of ten (:func:`~.scaling.shared_exponent`: 0.1 .. 99 plain, else 1 .. 9.9).
COMPACT_TEMPLATES = ("+88", "−8.8", "−0.88")
#: Extra pixels in the text column beyond the measured text (anti-aliasing, rounding).
TEXT_MARGIN_PX = 4


class ColourBar(pg.ViewBox):
    """A vertical diverging colour bar from ``−s`` (bottom) to ``+s`` (top)."""

    def __init__(self, bar_px: int = 14) -> None:
        super().__init__(enableMouse=False, enableMenu=False, defaultPadding=0)
        self._bar_px = bar_px
        self._s = 1.0
        self._compact = False
        self._points = 9
        self._bar_px_now = bar_px
        self._room = 0
        self._font = QFont()
        ramp = np.linspace(-1.0, 1.0, LUT_SIZE, dtype=np.float32)[:, None]
        # ready RGBA bytes, drawn as they are on every repaint (no LUT pass, no conversion)
        self._ramp = pg.ImageItem(map_signed(ramp, 1.0), axisOrder="row-major", levels=None)
        self._ramp.setRect(QRectF(0.0, -1.0, BAR_WIDTH, 2.0))
        self.addItem(self._ramp)
        frame = pg.QtWidgets.QGraphicsRectItem(QRectF(0.0, -1.0, BAR_WIDTH, 2.0))
        frame.setPen(pg.mkPen("k", width=1))
        self.addItem(frame)
        self._ticks = []
        for y in (-1.0, 0.0, 1.0):
            tick = QGraphicsLineItem(BAR_WIDTH, y, BAR_WIDTH + 0.15, y)
            tick.setPen(pg.mkPen("k", width=1))
            self.addItem(tick)
            self._ticks.append(tick)
        # plain text items drawn in pixels (cheap to change, unlike pg.TextItem)
        self._texts: dict[str, QGraphicsSimpleTextItem] = {}
        for key, y in (("top", 1.0), ("mid", 0.0), ("bottom", -1.0)):
            t = QGraphicsSimpleTextItem()
            t.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            t.setBrush(QColor("black"))
            t.setPos(TEXT_X, y)
            self.addItem(t, ignoreBounds=True)
            self._texts[key] = t
        self._texts["mid"].setText("0")
        self.set_font_size(9)
        self.set_scale(1.0)

    def set_compact(self, on: bool) -> None:
        """Compact: the ends read just "+" and "−" (the heatmap shows ±s elsewhere)."""
        if bool(on) != self._compact:
            self._compact = bool(on)
            self.set_font_size(self._points)
            s, self._s = self._s, float("nan")
            self.set_scale(s)

    def is_compact(self) -> bool:
        return self._compact

    def set_font_size(self, points: int) -> None:
        """Text size; the bar's width follows so the labels are never clipped."""
        self._points = points
        self._font.setPointSize(points)
        fm = QFontMetrics(self._font)
        h = fm.height()
        for key, t in self._texts.items():
            t.setFont(self._font)
            # anchor: top label hangs below +s, middle is centred on 0, bottom sits on −s
            shift = {"top": 0.0, "mid": -h / 2, "bottom": -h}[key]
            t.setTransform(QTransform.fromTranslate(0, shift))
        self._bar_px_now = self._bar_px if points < 12 else int(self._bar_px * 1.6)
        widest = ("+", "−", "0") if self._compact else LABEL_TEMPLATES
        self._set_text_room(max(self.label_px(t) for t in widest) + TEXT_MARGIN_PX)

    def _set_text_room(self, room: int) -> None:
        """Make the text column ``room`` pixels wide (the whole bar is wider by the ramp)."""
        bar_px = self._bar_px_now
        self._room = int(room)
        total = math.ceil(TEXT_X * bar_px) + self._room
        self.setFixedWidth(total)
        # the ramp fills bar_px pixels: x range so that BAR_WIDTH units = bar_px pixels
        self.setRange(xRange=(0.0, BAR_WIDTH * total / bar_px), yRange=(-1.0, 1.0), padding=0)
        self.setYRange(-1.0, 1.0, padding=0)

    def label_px(self, text: str) -> int:
        """The width in pixels that ``text`` needs in the bar's font."""
        return QFontMetrics(self._font).horizontalAdvance(text)

    def text_room_px(self) -> int:
        """The width in pixels of the text column (right of the ramp and its ticks)."""
        return self._room

    def set_scale(self, s: float) -> None:
        """Label the ends ``+s`` and ``−s`` (texts change only if their digits do)."""
        self._s = float(s)
        top = "+" if self._compact else "+" + format_level(s)
        if self._texts["top"].text() != top:
            bottom = "−" if self._compact else format_level(-s)
            self._texts["top"].setText(top)
            self._texts["bottom"].setText(bottom)
            need = max(self.label_px(top), self.label_px(bottom)) + TEXT_MARGIN_PX
            if need > self._room:  # beyond the templates (|exponent| >= 100): widen once
                self._set_text_room(need)

    def scale(self) -> float:
        return self._s

    def labels(self) -> tuple[str, str, str]:
        """The texts at the top, middle and bottom."""
        return tuple(self._texts[k].text() for k in ("top", "mid", "bottom"))

    def ramp(self) -> pg.ImageItem:
        return self._ramp
