"""The data view: what the network does to the data, updated live.

- 2-D classification: the training points coloured by class (test points as
  rings) over the decision boundary — each pixel of the ``snap.boundary`` grid
  is the mix of class colours weighted by the predicted probabilities, paled
  so the points stand out; uncertain regions look grey.
- 2-D regression: the network's output surface on the diverging map (zero
  neutral, colour bar) with the points coloured by their target on the same
  scale.
- Images (``dataset.image_shape``, e.g. digits): a grid of test images with
  ``predicted/true`` labels, mistakes framed in red, and the test accuracy.

``highlight_sample(i)`` marks training sample ``i`` (a data-set index): a ring
in 2-D, the image and its label for image data; -1 clears. The view follows the
one selection (``ctx.selection``, :mod:`bpviz.gui.selection`): when it names
sample k of the mini-batch (a row of a, z or δ, or a neuron's sample), the view
marks that sample, ``step.batch_index[k]`` of the latest mini-batch it drew.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...engine.network import predict_labels
from ..contract import PanelContext, PanelMixin
from ..snapshot_build import data_extent
from . import export
from .colorbar import ColourBar
from .colormaps import CLASS_COLORS, HIGHLIGHT, class_color, class_colors, map_signed
from .digit_grid import DigitGrid, to_qimage
from .fitlabel import FitLabel
from .input_images import input_image_shape

MAX_POINTS = 4000  # drawn per set (train/test); highlighting works for every sample
#: The column of the plot's layout that holds the legend (0-2: axes and view box, 3: the
#: colour bar of a regression).
LEGEND_COLUMN = 4
#: Classes listed one by one in the legend; more get one line "N classes".
MAX_LEGEND_CLASSES = 12
#: Distinct class colours (the class map cycles through them).
N_CLASS_COLORS = len(CLASS_COLORS)
PALE = 0.5  # how far the boundary colours are mixed towards white
HOVER_HINT = "hover a row of a or δ: that training sample shows here"


def class_probabilities(out: np.ndarray) -> np.ndarray:
    """Network outputs (..., outputs) as class probabilities (..., C), C >= 2."""
    out = np.asarray(out, dtype=np.float64)
    if out.shape[-1] == 1:
        p = np.clip(out[..., 0], 0.0, 1.0)
        return np.stack([1.0 - p, p], axis=-1)
    P = np.clip(out, 0.0, None)
    s = P.sum(axis=-1, keepdims=True)
    return np.where(s > 0, P / np.where(s > 0, s, 1.0), 1.0 / out.shape[-1])


def boundary_rgb(out: np.ndarray, n_classes: int) -> np.ndarray:
    """(G, G, outputs) network output -> (G, G, 3) uint8 pale class-colour mix."""
    P = class_probabilities(out)
    C = max(P.shape[-1], n_classes)
    rgb = P @ class_colors(C)[: P.shape[-1]]
    rgb = 1.0 - PALE * (1.0 - rgb)
    return np.ascontiguousarray(np.rint(255 * rgb).astype(np.uint8))


def _subset(n: int, limit: int) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, limit, replace=False))


def test_accuracy_text(snap, ds) -> str:
    """"test acc. 96.0%" of the snapshot's test-set output, at the step the caption shows
    (the step of the output is named when the throttled output is an earlier one)."""
    out = snap.test_output
    if out is None or len(out) != len(ds.y_test) or len(out) == 0:
        return "no test set" if len(ds.y_test) == 0 else "test acc. —"
    acc = float(np.mean(predict_labels(np.asarray(out)) == ds.y_test))
    at = snap.extra.get("test_output_step")
    when = f" (at step {at:,})" if at is not None and at != snap.step.step else ""
    return f"test acc. {100 * acc:.1f}%{when}"


class DataView(PanelMixin, QWidget):
    """Data set picture: boundary/surface with points, or a grid of test images."""

    draws_snapshots = True

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._ds = None
        self._image_shape: tuple[int, int] | None = None
        self._mode = "none"
        self._presentation = False
        self._highlight = -1
        self._batch_index = None     # of the latest mini-batch: selection row k -> sample
        self._s = 1.0

        # ---- 2-D page
        self._plot = pg.PlotWidget(background="w")
        self._plot.setMenuEnabled(False)
        pi = self._plot.getPlotItem()
        pi.setAspectLocked(True)
        pi.hideButtons()
        self._data_box: tuple[float, float, float, float] | None = None
        self._extent: tuple[float, float, float, float] | None = None
        pi.getViewBox().sigResized.connect(lambda _vb: self._fit_view())
        for name in ("left", "bottom"):
            pi.getAxis(name).setPen("k")
            pi.getAxis(name).setTextPen("k")
            pi.getAxis(name).enableAutoSIPrefix(False)
        self._image = pg.ImageItem(axisOrder="row-major")
        self._image.setZValue(-10)
        pi.addItem(self._image)
        self._train = pg.ScatterPlotItem(size=7, pen=pg.mkPen("w", width=0.8))
        self._test = pg.ScatterPlotItem(size=7, brush=None)
        self._ring = pg.ScatterPlotItem(size=22, brush=None, pen=pg.mkPen(HIGHLIGHT, width=3))
        self._ring.setZValue(20)
        for item in (self._train, self._test, self._ring):
            pi.addItem(item)
        # the legend beside the plot, never over the points (a column of the plot's layout
        # right of the view box and of the regression colour bar)
        self._legend = pg.LegendItem(offset=None, labelTextColor="k",
                                     brush=(255, 255, 255, 200))
        self._legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        pi.layout.addItem(self._legend, 2, LEGEND_COLUMN)
        pi.layout.setAlignment(self._legend, Qt.AlignmentFlag.AlignTop)
        pi.legend = self._legend        # (what pyqtgraph's addLegend would keep)
        self._bar = ColourBar()
        self._bar_added = False
        # ---- image page
        self._grid = DigitGrid()
        self._sample = QLabel()
        self._sample.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._sample_text = QLabel(HOVER_HINT)
        self._sample_text.setWordWrap(True)
        img_page = QWidget()
        self._side = QWidget()
        self._side.setMaximumWidth(170)
        side = QVBoxLayout(self._side)
        side.setContentsMargins(4, 4, 4, 4)
        side.addWidget(self._sample)
        side.addWidget(self._sample_text)
        side.addStretch(1)
        il = QHBoxLayout(img_page)
        il.setContentsMargins(0, 0, 0, 0)
        il.addWidget(self._grid, 1)
        il.addWidget(self._side)
        # ---- message page
        self._message = QLabel("no data set")
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message.setWordWrap(True)

        self._stack = QStackedWidget()
        for w in (self._plot, img_page, self._message):
            self._stack.addWidget(w)
        self._header = FitLabel(align=Qt.AlignmentFlag.AlignLeft, text=" ")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self._header)
        lay.addWidget(self._stack, 1)
        self._apply_fonts()
        export.install_panel_menu(self, "data", None, (self._plot, self._grid))
        ctx.datasetChanged.connect(self.set_dataset)
        ctx.selection.hovered.connect(self._follow_selection)
        ctx.selection.selected.connect(self._follow_selection)
        if ctx.dataset is not None:
            self.set_dataset(ctx.dataset)

    # ------------------------------------------------------------ API
    def mode(self) -> str:
        """``"classify2d"``, ``"regress2d"``, ``"images"`` or ``"none"``."""
        return self._mode

    def digit_grid(self) -> DigitGrid:
        return self._grid

    def image_item(self) -> pg.ImageItem:
        return self._image

    def header_text(self) -> str:
        return self._header.plain_text()

    def highlighted(self) -> int:
        return self._highlight

    def set_dataset(self, ds) -> None:
        if ds is self._ds:
            return
        self._ds = ds
        self._highlight = -1
        self._image.clear()
        self._ring.setData([], [])
        self._legend.clear()
        if ds is None:
            self._mode = "none"
            self._message.setText("no data set")
            self._stack.setCurrentIndex(2)
            return
        self._image_shape = input_image_shape(ds.n_features, ds.image_shape)
        if self._image_shape is not None:         # digits, or any square width (784 = 28²)
            self._mode = "images"
            self._grid.set_images(ds.X_test, ds.y_test, self._image_shape, ds.class_names)
            self._sample.clear()
            self._stack.setCurrentIndex(1)
            self._header.set_text(f"{ds.name} · test images · label = predicted/true · "
                                  "red = wrong")
        elif ds.n_features == 2:
            self._mode = "classify2d" if ds.n_classes > 0 else "regress2d"
            self._setup_points(ds)
            self._stack.setCurrentIndex(0)
        else:
            self._mode = "none"
            self._message.setText(f"{ds.name}: {ds.n_features} features — no picture for "
                                  "more than two; watch the loss and the matrices.")
            self._stack.setCurrentIndex(2)
            self._header.set_text(" ")

    def show_snapshot(self, snap) -> None:
        ds = self._ds
        if snap is None or ds is None:
            return
        bi = snap.step.batch_index
        if bi is not self._batch_index:
            self._batch_index = bi
            if self._ctx.selection.current() is not None:
                self._follow_selection()     # sample k of the new mini-batch
        if self._mode == "images":
            if snap.test_output is not None and len(snap.test_output) == len(ds.y_test):
                pred = predict_labels(np.asarray(snap.test_output))
                self._grid.set_predictions(pred)
                self._header.set_text(f"step {snap.step.step:,} · {test_accuracy_text(snap, ds)} "
                                      f"({len(pred)} images) · predicted/true · red = wrong")
        elif self._mode in ("classify2d", "regress2d") and snap.boundary is not None:
            self._show_boundary(snap)

    def highlight_sample(self, index: int) -> None:
        """Mark training sample ``index`` (data-set index), or clear with -1."""
        ds = self._ds
        index = int(index)
        if ds is None or not 0 <= index < len(ds.X_train):
            index = -1
        self._highlight = index
        if self._mode in ("classify2d", "regress2d"):
            if index < 0:
                self._ring.setData([], [])
            else:
                x, y = ds.X_train[index]
                self._ring.setData([x], [y])
        elif self._mode == "images":
            if index < 0:
                self._sample.clear()
                self._sample_text.setText(HOVER_HINT)
            else:
                img = to_qimage(ds.X_train[index], self._image_shape)
                side = 160 if self._presentation else 96
                self._sample.setPixmap(QPixmap.fromImage(img).scaled(
                    side, side, Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.FastTransformation))
                label = ds.class_names[ds.y_train[index]] if ds.class_names else ds.y_train[index]
                self._sample_text.setText(f"training sample #{index + 1}\ntrue label {label}")

    def _follow_selection(self, *_: object) -> None:
        """Mark the sample the selection names (hovered, else selected), or nothing."""
        cur = self._ctx.selection.current()
        k = cur.k if cur is not None else -1
        bi = self._batch_index
        if bi is None:
            snap = self._ctx.latest_snapshot()
            bi = snap.step.batch_index if snap is not None else None
        index = int(bi[k]) if bi is not None and 0 <= k < len(bi) else -1
        if index != self._highlight:
            self.highlight_sample(index)

    def clear(self) -> None:
        """Training reset: forget the predictions (the data stays)."""
        self._image.clear()
        if self._mode == "images":
            self._grid.set_predictions(None)

    def set_presentation(self, on: bool) -> None:
        self._presentation = bool(on)
        self._apply_fonts()
        self._grid.set_big(on)
        self._side.setMaximumWidth(260 if on else 170)
        if self._ds is not None and self._mode in ("classify2d", "regress2d"):
            self._setup_points(self._ds)
        if self._highlight >= 0:
            self.highlight_sample(self._highlight)

    # ------------------------------------------------------------ internals
    def _setup_points(self, ds) -> None:
        pi = self._plot.getPlotItem()
        few = len(ds.X_train) <= 100  # a handful of points (xor): draw them big
        size = (18 if few else 12) if self._presentation else (13 if few else 7)
        self._legend.clear()
        tr = _subset(len(ds.X_train), MAX_POINTS)
        te = _subset(len(ds.X_test), MAX_POINTS)
        if ds.n_classes > 0:
            # one brush and pen per colour of the cyclic class map, not per class: a data
            # set with thousands of classes costs no more than one with ten
            n_col = min(ds.n_classes, N_CLASS_COLORS)
            brushes = [pg.mkBrush(*class_color(c)) for c in range(n_col)]
            pens = [pg.mkPen(class_color(c), width=2) for c in range(n_col)]
            self._train.setData(pos=ds.X_train[tr], size=size,
                                brush=[brushes[c % n_col] for c in ds.y_train[tr]],
                                pen=pg.mkPen("w", width=0.8))
            self._test.setData(pos=ds.X_test[te], size=size, brush=None,
                               pen=[pens[c % n_col] for c in ds.y_test[te]])
            if ds.n_classes <= MAX_LEGEND_CLASSES:
                for c in range(ds.n_classes):
                    name = ds.class_names[c] if c < len(ds.class_names) else str(c)
                    self._legend.addItem(pg.ScatterPlotItem(size=size, brush=brushes[c],
                                                            pen="w"), f"class {name}")
            else:  # one line, not one entry per class (laid out again for each entry)
                self._legend.addItem(pg.ScatterPlotItem(size=size, brush=brushes[0], pen="w"),
                                     f"{ds.n_classes:,} classes (colours repeat every "
                                     f"{n_col})")
            if len(ds.X_test):
                self._legend.addItem(pg.ScatterPlotItem(size=size, brush=None, pen="k"),
                                     "test (ring)")
            if self._bar_added:
                pi.layout.removeItem(self._bar)
                self._bar.setParentItem(None)
                self._bar_added = False
        else:
            t = np.asarray(ds.y_train[:, 0], dtype=np.float64)
            self._s = float(np.max(np.abs(t))) or 1.0
            self._train.setData(pos=ds.X_train[tr], size=size,
                                brush=[pg.mkBrush(*c) for c in map_signed(t[tr], self._s)],
                                pen=pg.mkPen("k", width=0.8))
            tt = np.asarray(ds.y_test[:, 0], dtype=np.float64)
            self._test.setData(pos=ds.X_test[te], size=size, brush=None,
                               pen=[pg.mkPen(*c, width=2) for c in map_signed(tt[te], self._s)])
            if not self._bar_added:
                pi.layout.addItem(self._bar, 2, 3)
                self._bar_added = True
            self._bar.set_scale(self._s)
        self._ring.setSize(size + 15)
        lo = ds.X_train.min(axis=0).astype(np.float64)   # Python-float ranges: no cast
        hi = ds.X_train.max(axis=0).astype(np.float64)   # warning inside pyqtgraph
        pad = 0.1 * (hi - lo)
        self._data_box = (lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1])
        self._extent = data_extent(ds)
        self._fit_view()
        if ds.n_classes > 0:
            self._header.set_text(f"{ds.name} · colour = class · background = the network's "
                                  "decision")
        else:
            self._header.set_text(f"{ds.name} · colour = target · background = the network's "
                                  "output")

    def _fit_view(self) -> None:
        """Show the points (with their margin) at equal x and y scales, but never more than
        the decision map covers: in a plot wider or taller than the data the view grows
        along that side only up to the map's extent (then shows less of the other side),
        so no white band appears beside the map at any aspect ratio."""
        if self._data_box is None or self._extent is None:
            return
        vb = self._plot.getPlotItem().getViewBox()
        pw, ph = vb.width(), vb.height()
        if pw <= 1 or ph <= 1:
            return
        x0, x1, y0, y1 = self._data_box
        ex0, ex1, ey0, ey1 = self._extent
        r = pw / ph                                   # data units per pixel equal in x, y
        w = max(x1 - x0, r * (y1 - y0))
        w = min(w, ex1 - ex0, r * (ey1 - ey0))        # inside the map on both axes
        h = w / r
        cx = min(max((x0 + x1) / 2, ex0 + w / 2), ex1 - w / 2)
        cy = min(max((y0 + y1) / 2, ey0 + h / 2), ey1 - h / 2)
        vb.setRange(xRange=(cx - w / 2, cx + w / 2), yRange=(cy - h / 2, cy + h / 2),
                    padding=0)

    def _show_boundary(self, snap) -> None:
        ds = self._ds
        out = np.asarray(snap.boundary)
        xmin, xmax, ymin, ymax = snap.boundary_extent
        if self._mode == "classify2d":
            self._image.setImage(boundary_rgb(out, ds.n_classes), levels=(0, 255))
        else:
            surf = np.nan_to_num(np.asarray(out[..., 0], dtype=np.float32), nan=0.0,
                                 posinf=0.0, neginf=0.0)
            self._image.setImage(map_signed(surf, self._s), levels=None)
        # row = y (row 0 at ymin, y axis pointing up), column = x
        self._image.setRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin))
        if tuple(snap.boundary_extent) != self._extent:
            self._extent = tuple(float(v) for v in snap.boundary_extent)
            self._fit_view()
        if self._mode == "classify2d":
            self._header.set_text(f"step {snap.step.step:,} · {test_accuracy_text(snap, ds)} · "
                                  "dots = train, rings = test")
        else:
            self._header.set_text(f"step {snap.step.step:,} · colour = target · background = "
                                  "the network's output · rings = test")

    def _apply_fonts(self) -> None:
        big = self._presentation
        pi = self._plot.getPlotItem()
        tick = QFont()
        tick.setPointSize(15 if big else 9)
        for name in ("left", "bottom"):
            pi.getAxis(name).setStyle(tickFont=tick)
        style = {"color": "#000", "font-size": f"{17 if big else 10}pt"}
        pi.setLabel("bottom", "x₁", **style)
        pi.setLabel("left", "x₂", **style)
        self._bar.set_font_size(15 if big else 9)
        font = QFont(self.font())
        font.setPointSize(16 if big else 10)
        for w in (self._message, self._sample_text):
            w.setFont(font)
        self._header.set_point_size(16 if big else 10)
        self._legend.setLabelTextSize(f"{15 if big else 9}pt")

