"""A one-line label that shrinks its font (down to a floor), then elides, rather than be clipped.

Heatmap titles such as ``"dW¹ = δᵀa/K — 32×64"`` must stay whole in a narrow
grid cell and in presentation mode; a pyqtgraph title would instead widen the
plot's layout and push the colour bar out of sight. When even the smallest
allowed font is too wide, the text is cut with "…" and the whole text goes to
the tooltip; :meth:`FitLabel.plain_text` always returns the whole text.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

MIN_FRACTION = 0.55  # never below this fraction of the nominal size


class FitLabel(QLabel):
    """Its width never drives the layout (size policy Ignored): text changing every
    frame cannot make a dock or splitter re-layout."""

    def __init__(self, parent: QWidget | None = None, point_size: int = 11,
                 bold: bool = False, align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter,
                 text: str = "") -> None:
        super().__init__(parent)
        self._pt = point_size
        self._bold = bold
        self._plain = text
        self._html: str | None = None
        self._elided = False
        self.setText(text)
        self.setAlignment(align | Qt.AlignmentFlag.AlignVCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(1)
        self.set_point_size(point_size)

    def set_point_size(self, pt: int, bold: bool | None = None) -> None:
        self._pt = pt
        if bold is not None:
            self._bold = bold
        f = QFont(self.font())
        f.setPointSize(pt)
        f.setBold(self._bold)
        self.setFixedHeight(QFontMetrics(f).height() + 4)
        self._fit()

    def set_text(self, plain: str, html: str | None = None) -> None:
        """Show ``html`` (or ``plain``); the fit is measured on ``plain``."""
        if plain == self._plain and html == self._html:
            return
        self._plain = plain
        self._html = html
        self._elided = False
        self.setText(html if html is not None else plain)
        self._fit()

    def plain_text(self) -> str:
        return self._plain

    def is_elided(self) -> bool:
        """True when the text is cut with "…" (too long even at the smallest font)."""
        return self._elided

    def point_size(self) -> int:
        """The size in use now (<= the nominal size)."""
        return self.font().pointSize()

    def nominal_point_size(self) -> int:
        return self._pt

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        f = QFont(self.font())
        f.setBold(self._bold)
        size = self._pt
        floor = max(6, int(self._pt * MIN_FRACTION))
        room = self.width() - 6
        while size > floor:
            f.setPointSize(size)
            if QFontMetrics(f).horizontalAdvance(self._plain) <= room:
                break
            size -= 1
        f.setPointSize(size)
        if f != self.font():
            self.setFont(f)
        fm = QFontMetrics(f)
        elide = self.width() > 1 and fm.horizontalAdvance(self._plain) > room
        if elide:
            cut = fm.elidedText(self._plain, Qt.TextElideMode.ElideRight, max(room, 0))
            if cut != self.text():  # rich text would need its own elision: the cut plain text
                self.setText(cut)
        elif self._elided:
            self.setText(self._html if self._html is not None else self._plain)
        tip = self._plain if elide else ""
        if self.toolTip() != tip:
            self.setToolTip(tip)
        self._elided = elide
