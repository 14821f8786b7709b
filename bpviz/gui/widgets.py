"""Small widgets of the main window that keep per-frame updates cheap.

Every frame changes numbers on screen. A QLabel asks for a new geometry with
every new text; inside a QMainWindow that re-lays out the whole window and
repaints every dock, every frame. :class:`StatusField` never changes its size,
and :func:`shield` stops a panel's own size changes at its dock.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from .views.fitlabel import paint_own_background, text_painter


class StatusField(QWidget):
    """A status-bar field that paints its text and never changes its size.

    A QLabel asks for a new geometry with every new text, and in the status
    bar that re-lays out the whole main window, moving and repainting every
    dock, on every frame. This one is sized once for ``template``.
    """

    def __init__(self, template: str, opaque: bool = True) -> None:
        super().__init__()
        self._template = template
        self._text = ""
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        if opaque:   # a new number repaints the field, not the status bar behind it
            paint_own_background(self)   # (not on a toolbar's shaded background)

    def text(self) -> str:
        return self._text

    def template(self) -> str:
        return self._template

    def set_template(self, template: str) -> None:
        """Size the field for another longest text (a re-layout only when it changes)."""
        if template != self._template:
            self._template = template
            self.updateGeometry()

    def setText(self, text: str) -> None:  # noqa: N802 - QLabel-like API
        if text != self._text:
            self._text = text
            self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        fm = self.fontMetrics()
        return QSize(fm.horizontalAdvance(self._template) + 12, fm.height() + 4)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return self.sizeHint()

    def changeEvent(self, e: QEvent) -> None:  # noqa: N802 - Qt API
        if e.type() == QEvent.Type.FontChange:  # presentation mode: a new size, once
            self.updateGeometry()
        super().changeEvent(e)

    def paintEvent(self, _e: Any) -> None:  # noqa: N802 - Qt API
        p = text_painter(self)
        p.drawText(self.rect().adjusted(4, 0, -4, 0),
                   int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), self._text)
        p.end()


class _Fill(QWidget):
    """The scroll area's content: a panel, sized to the visible area.

    A panel with word-wrapped labels is "height-for-width", and QScrollArea then
    sizes it to its *preferred* height, often twice the dock: everything below
    the fold needs scrolling. Declining height-for-width here makes the panel
    fill the visible area (down to its minimum size, below which it scrolls).
    """

    def heightForWidth(self, _w: int) -> int:  # noqa: N802 - Qt API
        return -1


def shield(widget: QWidget) -> QWidget:
    """``widget`` in a frameless, resizable scroll area.

    A panel whose size hints change every frame (live labels, colour bars)
    would otherwise re-layout the whole window on every frame, repainting
    every dock; the scroll area absorbs those changes (and offers scroll bars
    instead of squeezing a panel below its minimum size).
    """
    fill = _Fill()
    lay = QVBoxLayout(fill)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(widget)
    area = QScrollArea()
    area.setObjectName(f"{widget.objectName() or type(widget).__name__}-area")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(fill)
    return area


#: How a message about bad input looks next to the field that caused it.
ERROR_STYLE = "color: #b71c1c; font-weight: bold;"


def error_label(name: str = "error") -> QLabel:
    """A hidden, word-wrapped, red label for "what is wrong and how to fix it"."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.hide()
    return label
