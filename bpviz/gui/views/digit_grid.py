"""A grid of test images with "predicted/true" labels; wrong ones framed in red.

Painted directly with QPainter (one small QImage per image, made once per
data set, scaled with nearest neighbour), so a frame costs a few hundred
``drawImage`` calls and nothing is re-created. The grid fills the widget:
as many tiles as fit at the current size, always the first test images, so
the class watches the same images turn from red to right.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from .colormaps import WRONG


def to_qimage(pixels: np.ndarray, shape: tuple[int, int]) -> QImage:
    """One image as dark ink on white paper, 8-bit grey: values in [0, 1] (1 = ink) as
    they are; any other range (0–255 pixels, standardised features) stretched from its
    own least to its greatest value."""
    v = np.asarray(pixels, dtype=np.float64).reshape(shape)
    lo, hi = float(v.min()), float(v.max())
    if lo < 0.0 or hi > 1.0:
        v = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    g = np.ascontiguousarray(np.rint(255.0 * (1.0 - v)).astype(np.uint8))
    h, w = g.shape
    return QImage(g.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


class DigitGrid(QWidget):
    """Tiles of test images labelled ``pred/true``; mistakes in red."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._images: list[QImage] = []
        self._true = np.zeros(0, dtype=np.int64)
        self._pred: np.ndarray | None = None
        self._names: tuple[str, ...] = ()
        self._big = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(120, 120)

    def set_images(self, X: np.ndarray, y: np.ndarray, shape: tuple[int, int],
                   class_names: tuple[str, ...] = (), limit: int = 400) -> None:
        """The test images (N, h*w) in [0, 1] and their true labels; at most ``limit`` kept."""
        n = min(len(X), limit)
        self._images = [to_qimage(X[k], shape) for k in range(n)]
        self._true = np.asarray(y[:n], dtype=np.int64)
        self._names = tuple(class_names)
        self._pred = None
        self.update()

    def set_predictions(self, pred: np.ndarray | None) -> None:
        """Labels ``pred/true`` under the images; repaints only if a prediction changed
        (late in training most frames change none)."""
        pred = None if pred is None else np.asarray(pred[:len(self._images)])
        same = (pred is None and self._pred is None) or (
            pred is not None and self._pred is not None and np.array_equal(pred, self._pred))
        self._pred = pred
        if not same:
            self.update()

    def set_big(self, on: bool) -> None:
        self._big = bool(on)
        self.update()

    def tile_size(self) -> int:
        return 96 if self._big else 60

    def layout_grid(self) -> tuple[int, int, float, float]:
        """``(cols, rows, tile_w, tile_h)`` for the current size (label under the image)."""
        t = self.tile_size()
        cols = max(1, self.width() // t)
        rows = max(1, self.height() // t)
        return cols, rows, self.width() / cols, self.height() / rows

    def visible_count(self) -> int:
        cols, rows, _, _ = self.layout_grid()
        return min(len(self._images), cols * rows)

    def label(self, k: int) -> tuple[str, bool]:
        """The text under tile ``k`` and whether the prediction is wrong."""
        true = self._name(int(self._true[k]))
        if self._pred is None or k >= len(self._pred):
            return f"?/{true}", False
        p = int(self._pred[k])
        return f"{self._name(p)}/{true}", p != int(self._true[k])

    def mistakes_shown(self) -> int:
        return sum(self.label(k)[1] for k in range(self.visible_count()))

    def _name(self, c: int) -> str:
        return self._names[c] if 0 <= c < len(self._names) else str(c)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("white"))
        if not self._images:
            p.end()
            return
        cols, rows, tw, th = self.layout_grid()
        font = QFont(self.font())
        font.setPointSize(14 if self._big else 9)
        font.setBold(True)
        p.setFont(font)
        text_h = p.fontMetrics().height() + 2
        side = max(4.0, min(tw - 8, th - text_h - 8))
        red = QColor(*WRONG)
        frame = QPen(red, 4 if self._big else 3)
        for k in range(min(len(self._images), cols * rows)):
            r, c = divmod(k, cols)
            x0, y0 = c * tw, r * th
            img_rect = QRectF(x0 + (tw - side) / 2, y0 + 3, side, side)
            p.drawImage(img_rect, self._images[k])
            text, wrong = self.label(k)
            if wrong:
                p.setPen(frame)
                p.drawRect(img_rect.adjusted(-2, -2, 2, 2))
            p.setPen(red if wrong else QColor("black"))
            p.drawText(QRectF(x0, y0 + 4 + side, tw, text_h),
                       Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, text)
        p.end()
