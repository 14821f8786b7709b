"""A one-line label that shrinks its font (down to a floor), then elides, rather than be clipped.

Heatmap titles such as ``"dW¹ = δᵀa/K — 32×64"`` must stay whole in a narrow
grid cell and in presentation mode; a pyqtgraph title would instead widen the
plot's layout and push the colour bar out of sight. When even the smallest
allowed font is too wide, the text is cut with "…" and the whole text goes to
the tooltip; :meth:`FitLabel.plain_text` always returns the whole text. Before
cutting, shorter forms of the text given by the caller are tried (a heatmap
title drops "= δᵀa/K" so that its shape stays whole).

In presentation mode every label is at least as large as the body text
(:func:`set_body_floor`, called by :mod:`bpviz.gui.presentation`): a label then
never shrinks below the body size; it tries its shorter forms and cuts instead.

It paints its own text instead of being a QLabel: numbers that change every
frame (a heatmap's "colour scale ±s", the loss line) would make a QLabel ask
its layout for a new geometry and lay the text out again through a text
document on each change, about half a millisecond per label per frame.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette, QStaticText
from PySide6.QtWidgets import QSizePolicy, QWidget

MIN_FRACTION = 0.55  # never below this fraction of the nominal size
PAD_PX = 3  # left and right of the text


def paint_own_background(w: QWidget) -> None:
    """``w`` paints all of its rectangle (:func:`text_painter`): when its text changes,
    Qt repaints it alone, not the panel, dock or window behind it (a caption whose
    number changes every frame otherwise repaints its whole parent every frame)."""
    w.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)


def text_painter(w: QWidget) -> QPainter:
    """A painter on ``w`` that holds the text colour, and has filled ``w``'s rectangle
    with its background colour if ``w`` paints its own (:func:`paint_own_background`)."""
    p = QPainter(w)
    pal = w.palette()
    if w.testAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent):
        p.fillRect(w.rect(), pal.color(w.backgroundRole()))
    p.setPen(pal.color(QPalette.ColorRole.WindowText))
    return p

_FLOOR: list[int | None] = [None]  # the body text size in presentation mode, else None


def set_body_floor(pt: int | None, root: QWidget | None = None) -> None:
    """Every FitLabel's text at least ``pt`` points (presentation mode), or no floor
    (``None``); the labels under ``root`` (the window) are refitted now, those made
    later follow. (Only under ``root``: walking every widget of the application also
    meets half-destroyed ones of closed windows.)"""
    _FLOOR[0] = pt
    if root is None:
        return
    for w in root.findChildren(FitLabel):
        w.set_point_size(w.nominal_point_size(), min_pt=w._min_pt)


def body_floor() -> int | None:
    """The floor of :func:`set_body_floor` (``None`` outside presentation mode)."""
    return _FLOOR[0]


class FitLabel(QWidget):
    """Its width never drives the layout (size policy Ignored) and its height is fixed:
    text changing every frame repaints this label and nothing else."""

    def __init__(self, parent: QWidget | None = None, point_size: int = 11,
                 bold: bool = False, align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter,
                 text: str = "") -> None:
        super().__init__(parent)
        self._pt = point_size
        self._min_pt: int | None = None
        self._bold = bold
        self._plain = text
        self._shorter: tuple[str, ...] = ()
        self._html: str | None = None
        self._shown = text  # what is painted: the text, or its cut form
        self._rich: QStaticText | None = None  # the html, laid out once per change
        self._elided = False
        self._align = align | Qt.AlignmentFlag.AlignVCenter
        self._fm: dict[int, QFontMetrics] = {}   # per point size (_metrics)
        self._applied: tuple[int, bool] | None = None   # (size, bold) of the font set
        self._font_key: tuple[str, bool] | None = None
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(1)
        paint_own_background(self)
        self.set_point_size(point_size)

    def set_point_size(self, pt: int, bold: bool | None = None,
                       min_pt: int | None = None) -> None:
        """The nominal size; the text shrinks to fit down to ``min_pt`` (default
        :data:`MIN_FRACTION` of ``pt``), then is cut with "…". In presentation mode
        both are at least the body size (:func:`body_floor`)."""
        self._pt = pt
        self._min_pt = min_pt
        if bold is not None and bold != self._bold:
            self._bold = bold
            self._fm.clear()
        f = QFont(self.font())
        f.setPointSize(self._sizes()[0])
        f.setBold(self._bold)
        self.setFixedHeight(QFontMetrics(f).height() + 4)
        self._fit()

    def set_text(self, plain: str, html: str | None = None,
                 shorter: tuple[str, ...] = ()) -> None:
        """Show ``html`` (or ``plain``); the fit is measured on ``plain``. ``shorter``:
        plain forms to show, in this order, when ``plain`` does not fit at the smallest
        size allowed; the last one is cut with "…" if even it does not fit."""
        shorter = tuple(shorter)
        if plain == self._plain and html == self._html and shorter == self._shorter:
            return
        self._plain = plain
        self._html = html
        self._shorter = shorter
        self._fit()

    def plain_text(self) -> str:
        return self._plain

    def text(self) -> str:
        """What is shown: the html or the text, a shorter form, or one cut with "…"."""
        return self._shown

    def is_elided(self) -> bool:
        """True when the text is cut with "…" (too long even at the smallest font)."""
        return self._elided

    def is_whole(self) -> bool:
        """True when the whole text is shown: not cut, not one of its shorter forms."""
        return not self._elided and self._shown in (self._plain, self._html)

    def point_size(self) -> int:
        """The size in use now (<= the nominal size, or the body size in presentation mode)."""
        return self.font().pointSize()

    def nominal_point_size(self) -> int:
        return self._pt

    def _sizes(self) -> tuple[int, int]:
        """(largest, smallest) point size allowed now."""
        floor = self._min_pt or max(6, int(self._pt * MIN_FRACTION))
        body = _FLOOR[0]
        if body is None:
            return self._pt, min(floor, self._pt)
        return max(self._pt, body), max(min(floor, self._pt), body)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(self.fontMetrics().horizontalAdvance(self._plain) + 2 * PAD_PX,
                     self.height())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._fit()

    def paintEvent(self, _e: Any) -> None:  # noqa: N802 (Qt API)
        p = text_painter(self)
        box = self.rect().adjusted(PAD_PX, 0, -PAD_PX, 0)
        if self._rich is None:
            p.drawText(box, int(self._align), self._shown)
        else:
            size = self._rich.size()
            x = box.left()
            if self._align & Qt.AlignmentFlag.AlignHCenter:
                x += (box.width() - size.width()) / 2
            elif self._align & Qt.AlignmentFlag.AlignRight:
                x = box.right() - size.width()
            p.drawStaticText(int(x), int((self.height() - size.height()) / 2), self._rich)
        p.end()

    def _metrics(self, pt: int) -> QFontMetrics:
        """The metrics of this label's font at ``pt`` points (kept per size: a caption
        whose number changes every frame is measured on every frame)."""
        fm = self._fm.get(pt)
        if fm is None:
            f = QFont(self.font())
            f.setPointSize(pt)
            f.setBold(self._bold)
            fm = self._fm[pt] = QFontMetrics(f)
        return fm

    def changeEvent(self, e: QEvent) -> None:  # noqa: N802 (Qt API)
        if e.type() == QEvent.Type.FontChange:
            self._font_changed()
        super().changeEvent(e)

    def _font_changed(self) -> None:
        """Remember the font in use; the kept metrics go if its family or weight changed."""
        f = self.font()
        if (f.family(), f.bold()) != self._font_key:
            self._fm.clear()
            self._font_key = (f.family(), f.bold())
        self._applied = (f.pointSize(), f.bold())

    def _fit(self) -> None:
        top, _ = self._sizes()
        if self._html is None and self._applied == (top, self._bold) and self.width() > 1 \
                and self._metrics(top).horizontalAdvance(self._plain) <= self.width() - 2 * PAD_PX:
            # the common case, a new number that fits at the full size: nothing to choose
            self._rich = None
            self._show(self._plain, elided=False, cut=False)
            return
        self._fit_any()

    def _show(self, shown: str, elided: bool, cut: bool) -> None:
        """Paint ``shown`` next; a cut text puts the whole one in the tooltip."""
        self._shown = shown
        self._elided = elided
        tip = self._plain if cut else ""
        if self.toolTip() != tip:
            self.setToolTip(tip)
        self.update()

    def _fit_any(self) -> None:
        top, floor = self._sizes()
        room = self.width() - 2 * PAD_PX
        shown, size, wide = self._plain, top, 0
        for text in (self._plain, *self._shorter):  # each form from large to the floor
            shown = text
            size = top
            wide = self._metrics(size).horizontalAdvance(text)
            if wide > room and size > floor:
                # width grows about in proportion to the size: start just above the
                # estimate and step down (one or two measures, not one per point)
                size = max(floor, min(top - 1, int(top * room / max(wide, 1)) + 1))
                while size > floor and self._metrics(size).horizontalAdvance(text) > room:
                    size -= 1
                wide = self._metrics(size).horizontalAdvance(text)
            if self.width() <= 1 or wide <= room:
                break
        if self._applied != (size, self._bold):
            f = QFont(self.font())
            f.setPointSize(size)
            f.setBold(self._bold)
            if f != self.font():
                self.setFont(f)
            self._font_changed()
        fm = self._metrics(size)
        elide = self.width() > 1 and wide > room
        cut = shown != self._plain or elide
        self._rich = None
        if elide:  # rich text would need its own elision: the cut plain text
            shown = fm.elidedText(shown, Qt.TextElideMode.ElideRight, max(room, 0))
        elif not cut and self._html is not None:
            shown = self._html
            self._rich = QStaticText(self._html)
            self._rich.setTextFormat(Qt.TextFormat.RichText)
            self._rich.prepare(font=self.font())
        self._show(shown, elide, cut)
