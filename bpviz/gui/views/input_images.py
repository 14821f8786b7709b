"""The "Weights as images" panel: every row of W¹ (or dW¹) shown as the input image it weighs.

When the input is an image (the data set has ``image_shape``, or its width is
a perfect square: 64 = 8², 784 = 28²), row i of ``W¹`` (m×n, out × in) holds
the n weights of every arrow into hidden neuron i, one per pixel: reshaped to
the image it is the picture neuron i looks for (red pixels push its ``z_i``
up, blue pull it down). The digits lesson asks the student to do this reshape
in their head; this panel does it for all m neurons at once, live. The toggle
shows ``dW¹`` instead: row i of ``dW¹ = (1/K) δᵀa`` is the mean over the batch
of ``δ_ki`` times the input images ``a_k``, so it looks like a blend of the
batch's images, weighted by how much each one wanted neuron i to change.

In the in×out notation the same numbers are column i of ``W¹`` (n×m): the
panel's text says so; the pictures are the same.

All tiles share one symmetric scale ``±s`` (``s = max |M|``) on the diverging
map (:func:`~bpviz.gui.views.colormaps.map_signed`), so zero is white in every
tile and tiles compare. Drawn with Qt items only (one pixmap of the mosaic,
text items for the neuron numbers), updated per snapshot.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from .. import notation as nt
from ..contract import PanelContext, PanelMixin
from . import export
from .colormaps import map_signed
from .heatmap_canvas import rgba_pixmap
from .scaling import format_value

#: Smallest side of a square input shown as an image (16 inputs = 4×4).
MIN_SIDE = 4
#: At most this many neurons are drawn (the first ones; the header says so).
MAX_TILES = 256
#: Blank pixels between tiles, and their colour (a light grey, not zero's white).
GAP = 1
GAP_RGBA = (200, 200, 200, 255)
KINDS = ("W", "dW")


def input_image_shape(n_inputs: int, image_shape: tuple[int, int] | None = None
                      ) -> tuple[int, int] | None:
    """The (rows, cols) image of an input of ``n_inputs`` values, or None.

    ``image_shape`` (the data set's) if it has ``n_inputs`` pixels; else
    ``(s, s)`` if ``n_inputs = s²`` with ``s >= MIN_SIDE`` (64 -> 8×8, 784 -> 28×28).
    """
    n = int(n_inputs)
    if image_shape is not None and int(image_shape[0]) * int(image_shape[1]) == n:
        return int(image_shape[0]), int(image_shape[1])
    s = math.isqrt(max(n, 0))
    return (s, s) if s >= MIN_SIDE and s * s == n else None


def grid_shape(count: int) -> tuple[int, int]:
    """``(rows, cols)`` of a near-square grid of ``count`` tiles (cols >= rows)."""
    cols = max(1, math.ceil(math.sqrt(max(count, 1))))
    return max(1, math.ceil(count / cols)), cols


def mosaic(M: np.ndarray, shape: tuple[int, int], cols: int, s: float) -> np.ndarray:
    """RGBA ``(H, W, 4)`` uint8: row i of ``M`` (count×n) reshaped to ``shape``, tile i at
    grid position ``divmod(i, cols)``, on the diverging map with levels ``(-s, s)``;
    ``GAP`` grey pixels around each tile, white where the grid has no neuron."""
    count = len(M)
    h, w = shape
    rows = max(1, math.ceil(count / cols))
    H, W = rows * (h + GAP) - GAP, cols * (w + GAP) - GAP
    out = np.full((H, W, 4), 255, dtype=np.uint8)      # white where no neuron is
    tiles = map_signed(np.asarray(M, dtype=np.float32).reshape(count, h, w), s)
    for i in range(count):
        r, c = divmod(i, cols)
        y, x = r * (h + GAP), c * (w + GAP)
        out[max(y - GAP, 0):y + h + GAP, max(x - GAP, 0):x + w + GAP] = GAP_RGBA
        out[y:y + h, x:x + w] = tiles[i]
    return out


class _View(QGraphicsView):
    """The mosaic, scaled to fit (aspect kept); Qt paints it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setBackgroundBrush(QBrush(QColor("white")))
        self.image = QGraphicsPixmapItem()
        self.image.setTransformationMode(Qt.TransformationMode.FastTransformation)  # crisp
        self.scene().addItem(self.image)

    def fit(self) -> None:
        r = self.image.boundingRect()
        if r.width() > 0:
            self.setSceneRect(r)
            self.fitInView(r, Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self.fit()


class WeightImages(PanelMixin, QWidget):
    """Rows of W¹ (or dW¹) as images of the input, one tile per hidden neuron."""

    draws_snapshots = True

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._kind = "W"
        self._notation = nt.check(ctx.notation)
        self._shape: tuple[int, int] | None = None
        self._M: np.ndarray | None = None      # the (count, n) rows drawn
        self._s = 0.0
        self._snap = None
        self._dirty = False
        self._presentation = False
        self._numbers: list[QGraphicsSimpleTextItem] = []

        self._kind_box = QComboBox()
        self._kind_box.addItem("W¹ (the weights)", "W")
        self._kind_box.addItem("dW¹ (their gradient on this batch)", "dW")
        self._kind_box.setToolTip("Show the rows of W¹, or of dW¹ = (1/K) δᵀa")
        self._kind_box.activated.connect(lambda i: self.set_kind(self._kind_box.itemData(i)))
        self._header = QLabel()
        self._header.setWordWrap(True)
        self._scale = QLabel()
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        self._show_label = QLabel("Show:")
        bar.addWidget(self._show_label)
        bar.addWidget(self._kind_box)
        bar.addSpacing(12)
        bar.addWidget(self._scale)
        bar.addStretch(1)
        self._view = _View(self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self._header)
        lay.addWidget(self._view, 1)
        export.install_panel_menu(self, "weight-images", self._export)

        ctx.specChanged.connect(self._layout_changed)
        ctx.datasetChanged.connect(self._layout_changed)
        ctx.notationChanged.connect(self.set_notation)
        self._layout_changed()
        snap = ctx.latest_snapshot()
        if snap is not None:
            self.show_snapshot(snap)

    # ------------------------------------------------------------ public API
    def image_shape(self) -> tuple[int, int] | None:
        """The input image (rows, cols), or None if the input is not an image."""
        return self._shape

    def kind(self) -> str:
        return self._kind

    def set_kind(self, kind: str) -> None:
        """``"W"`` (rows of W¹) or ``"dW"`` (rows of dW¹)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        self._kind = kind
        self._kind_box.setCurrentIndex(self._kind_box.findData(kind))
        self._dirty = self._snap is not None
        self._update_header()
        self._draw()

    def set_notation(self, notation: str) -> None:
        self._notation = nt.check(notation)
        self._update_header()

    def tile(self, i: int) -> np.ndarray:
        """Neuron i's tile as drawn: row i of the matrix reshaped to the image (h, w)."""
        if self._M is None or self._shape is None:
            raise IndexError("nothing drawn yet")
        return self._M[i].reshape(self._shape)

    def tile_count(self) -> int:
        return 0 if self._M is None else len(self._M)

    def scale(self) -> float:
        """``s`` of the shared colour levels ``(-s, s)``."""
        return self._s

    def rgba(self) -> np.ndarray | None:
        """The mosaic's RGBA bytes as drawn (tests)."""
        if self._M is None or self._shape is None:
            return None
        return mosaic(self._M, self._shape, grid_shape(len(self._M))[1], self._s)

    def show_snapshot(self, snap) -> None:
        if snap is None or snap.step.backprop is None:
            return
        self._snap = snap
        self._dirty = True
        if self.isVisible():
            self._draw()

    def clear(self) -> None:
        self._snap = None
        self._M = None
        self._view.image.setPixmap(rgba_pixmap(np.full((1, 1, 4), 255, np.uint8)))
        for t in self._numbers:
            t.setVisible(False)
        self._scale.setText("")

    def set_presentation(self, on: bool) -> None:
        self._presentation = bool(on)
        font = QFont(self.font())
        font.setPointSize(16 if on else 9)
        for w in (self._show_label, self._kind_box, self._header, self._scale):
            w.setFont(font)
        self._place_numbers()

    # ------------------------------------------------------------ internals
    def _layout_changed(self, *_args) -> None:
        spec, ds = self._ctx.spec, self._ctx.dataset
        n = spec.weight_shape(0)[1] if spec is not None else 0
        self._shape = input_image_shape(n, getattr(ds, "image_shape", None))
        self.clear()
        self._update_header()

    def _update_header(self) -> None:
        spec = self._ctx.spec
        if spec is None:
            self._header.setText("no network")
            return
        m, n = spec.weight_shape(0)
        sym = nt.symbol(self._kind, 0)
        if self._shape is None:
            self._header.setText(
                f"The input has {n} values, not an image: this panel shows the rows of W¹ "
                "as pictures when the input is one (a square number of pixels, e.g. the "
                "digits' 8×8 = 64 or MNIST's 28×28 = 784).")
            return
        h, w = self._shape
        part = (f"row i of {sym} ({m}×{n})" if self._notation == "out_in"
                else f"column i of {sym} ({n}×{m}, in×out)")
        more = f" The first {MAX_TILES} of {m} neurons are shown." if m > MAX_TILES else ""
        what = ("the picture neuron i looks for: red pixels raise its z, blue lower it"
                if self._kind == "W" else
                "(1/K) Σₖ δₖᵢ aₖ: the batch's images, weighted by how much each wants "
                "neuron i to change")
        self._header.setText(f"Tile i = {part}, the {n} arrows into neuron i, reshaped to "
                             f"the {h}×{w} input image: {what}.{more}")

    def _draw(self) -> None:
        if not self._dirty or self._snap is None or self._shape is None:
            return
        self._dirty = False
        step = self._snap.step
        if self._kind == "W":
            M = (step.weights or {}).get("W0")
        else:
            M = step.backprop.layers[0].dW if step.backprop.layers else None
        if M is None or M.ndim != 2 or M.shape[1] != self._shape[0] * self._shape[1]:
            return
        M = np.asarray(M[:MAX_TILES])
        self._M = M
        self._s = float(np.max(np.abs(M))) if M.size else 0.0
        cols = grid_shape(len(M))[1]
        self._view.image.setPixmap(rgba_pixmap(mosaic(M, self._shape, cols, self._s)))
        self._view.fit()
        self._place_numbers()
        sym = nt.symbol(self._kind, 0)
        self._scale.setText(f"blue = −s · white = 0 · red = +s,  s = max|{sym}| = "
                            f"{format_value(self._s)}")

    def _place_numbers(self) -> None:
        """Neuron numbers (from 1) at the top-left of each tile, a constant size on screen."""
        count = self.tile_count()
        if self._shape is None:
            return
        sc = self._view.scene()
        while len(self._numbers) < count:
            t = QGraphicsSimpleTextItem()
            t.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            t.setBrush(QBrush(QColor("black")))
            t.setZValue(2)
            sc.addItem(t)
            self._numbers.append(t)
        font = QFont(self.font())
        font.setPointSize(14 if self._presentation else 8)
        h, w = self._shape
        cols = grid_shape(count)[1]
        for i, t in enumerate(self._numbers):
            if i >= count:
                t.setVisible(False)
                continue
            r, c = divmod(i, cols)
            t.setFont(font)
            t.setText(str(i + 1))
            t.setPos(c * (w + GAP), r * (h + GAP))
            t.setVisible(True)

    def _export(self) -> dict[str, np.ndarray]:
        if self._M is None:
            return {}
        return {nt.symbol(self._kind, 0): np.array(self._M)}

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        self._draw()
        self._view.fit()

