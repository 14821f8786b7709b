"""One matrix as a live heatmap with a colour bar (the pyqtgraph fast path, DESIGN.md §4).

Items are created once; each frame only calls ``ImageItem.setImage``
(``axisOrder='row-major'``). The matrix is kept as a C-contiguous float32
array and coloured with explicit symmetric levels ``(-s, s)`` on the 256-entry
diverging map (zero is the neutral centre colour): the LUT lookup is done here
in NumPy (:func:`~.colormaps.map_signed`, the same ``floor`` rule pyqtgraph
uses) and the ImageItem gets ready RGB bytes — pyqtgraph would otherwise
rebuild a 256-entry Qt colour table in Python for every image on every frame,
about a fifth of the panel's frame time. The y axis is inverted: row 0 is at the top, as when a
matrix is printed. Pixel centres sit at 1, 2, ... so the axes count samples,
neurons and inputs from 1 like the seeds (k = 1..K, i = 1..m, j = 1..n); the
signals and :meth:`Heatmap.matrix` use 0-based NumPy indices.

Scale modes (per frame, locked, smoothed): see :mod:`.scaling`. A fixed scale
(:meth:`Heatmap.set_fixed_scale`) overrides the mode, so that several heatmaps
share one colour scale; the mode keeps following the data underneath and takes
over again when the fixed scale is cleared.

Non-finite entries are shown as 0 (the view never draws NaN); the title then
says how many there were.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QRectF, Qt, Signal
from PySide6.QtGui import QCursor, QFont, QFontMetrics
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QMenu,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from . import export
from .axes import IndexAxis
from .colorbar import ColourBar
from .colormaps import HIGHLIGHT, map_signed
from .fitlabel import FitLabel
from .scaling import SCALE_MODES, format_value, next_scale

COMPACT_BELOW_PX = {False: 300, True: 460}  # narrower heatmaps get the compact colour bar

_FONTS = {False: {"title": 11, "axis": 9, "label": 10, "readout": 9, "pen": 2.0},
          True: {"title": 20, "axis": 15, "label": 17, "readout": 15, "pen": 4.0}}


class Heatmap(QWidget):
    """A signed matrix ``M`` (rows × cols) with title, axis labels, colour bar and readout.

    Signals
    -------
    rowHovered(int) : the 0-based row under the mouse, -1 when it leaves.
    """

    rowHovered = Signal(int)

    def __init__(self, parent: QWidget | None = None, *, colorbar: bool = True) -> None:
        super().__init__(parent)
        self._data = np.zeros((1, 1), dtype=np.float32)
        self._title = ""
        self._labels = ("", "")
        self._mode = "frame"
        self._s: float | None = None  # the scale in use (fixed or the mode's)
        self._mode_s: float | None = None  # the mode's own scale, tracked even while fixed
        self._fixed: float | None = None
        self._locked: float | None = None
        self._nonfinite = 0
        self._hover = (-1, -1)
        self._hover_shown = False
        self._rows_hl: list[int] = []
        self._hl_items: list[QGraphicsRectItem] = []
        self._presentation = False
        self._highlighted = False

        self._view = pg.GraphicsLayoutWidget()
        self._view.setBackground("w")
        self._view.ci.setContentsMargins(2, 2, 2, 2)
        self._plot = self._view.addPlot(row=0, col=0, axisItems={
            "left": IndexAxis("left"), "bottom": IndexAxis("bottom")})
        self._plot.setMenuEnabled(False)
        self._plot.setMouseEnabled(False, False)
        self._plot.hideButtons()
        self._plot.invertY(True)
        self._plot.vb.disableAutoRange()
        self._img = pg.ImageItem(axisOrder="row-major")
        self._plot.addItem(self._img)
        self._bar: ColourBar | None = None
        if colorbar:  # beside the view box, so it spans exactly the image's height
            self._bar = ColourBar()
            self._plot.layout.addItem(self._bar, 2, 3)
            self._plot.layout.setColumnSpacing(2, 6)
        for name in ("left", "bottom"):
            ax = self._plot.getAxis(name)
            ax.setPen("k")
            ax.setTextPen("k")
            ax.enableAutoSIPrefix(False)
            # index axes change only with the shape: blit a cached pixmap, not replay
            ax.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._title_label = FitLabel(self, _FONTS[False]["title"])
        # shrinks, then elides, in a narrow heatmap; never widens the widget
        self._readout = FitLabel(self, _FONTS[False]["readout"],
                                 align=Qt.AlignmentFlag.AlignLeft, text=" ")
        self._readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self._title_label, 0)
        lay.addWidget(self._view, 1)
        lay.addWidget(self._readout, 0)
        self._view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self._view.customContextMenuRequested.connect(self._show_menu)
        self._view.scene().sigMouseMoved.connect(self._mouse_moved)
        self._apply_fonts()
        self._set_shape(1, 1)

    # ------------------------------------------------------------ public API
    def title_label(self) -> FitLabel:
        return self._title_label

    def graphics_view(self) -> pg.GraphicsLayoutWidget:
        """The pyqtgraph view (for SVG export)."""
        return self._view

    def image_item(self) -> pg.ImageItem:
        return self._img

    def plot_item(self) -> pg.PlotItem:
        return self._plot

    def colorbar(self) -> ColourBar | None:
        return self._bar

    def set_matrix(self, M: np.ndarray, title: str | None = None,
                   row_label: str | None = None, col_label: str | None = None) -> None:
        """Show ``M`` (rows, cols), or a vector (m,) as one row 1×m.

        ``None`` for a label keeps the previous one.
        """
        A = np.asarray(M)
        if A.ndim == 1:
            A = A.reshape(1, -1)
        elif A.ndim != 2:
            raise ValueError(f"a heatmap shows a matrix or a vector, got shape {A.shape}")
        A = np.ascontiguousarray(A, dtype=np.float32)
        m = float(max(A.max(), -A.min())) if A.size else 0.0
        self._nonfinite = 0
        if not math.isfinite(m):
            bad = ~np.isfinite(A)
            self._nonfinite = int(bad.sum())
            A = np.where(bad, np.float32(0), A)
            m = float(np.abs(A).max()) if A.size else 0.0
        shape_changed = A.shape != self._data.shape
        self._data = A
        self._mode_s = next_scale(self._mode, m, self._mode_s, self._locked)
        if self._mode == "locked" and self._locked is None:
            self._locked = self._mode_s
        scale_changed = self._show_scale()
        self._img.setImage(map_signed(A, self._s), autoLevels=False, levels=None)
        if shape_changed:
            self._set_shape(*A.shape)
        if title is not None or self._nonfinite or shape_changed:
            self._set_title(self._title if title is None else title)
        if row_label is not None or col_label is not None:
            self._set_labels(row_label, col_label)
        if self._hover[0] >= 0 or scale_changed:
            self._update_readout()

    def set_fixed_scale(self, s: float | None) -> None:
        """Use the levels ``(-s, s)`` whatever the scale mode; ``None`` returns to the mode.

        For several heatmaps that share one colour scale (the same ``s`` given to
        each). The colour bar, the readout line and the hover text show ``s``. A
        non-positive or non-finite ``s`` (all matrices zero) counts as 1. Recolours
        the current matrix at once if the scale changes, so it may be called before
        or after :meth:`set_matrix`.
        """
        if s is not None:
            s = float(s)
            if not (s > 0 and math.isfinite(s)):
                s = 1.0
        if s == self._fixed:
            return
        self._fixed = s
        if self._show_scale():
            self._img.setImage(map_signed(self._data, self._s), autoLevels=False, levels=None)
            self._update_readout()

    def fixed_scale(self) -> float | None:
        """The fixed scale set by :meth:`set_fixed_scale`, or ``None`` (the mode decides)."""
        return self._fixed

    def set_title(self, title: str, row_label: str | None = None,
                  col_label: str | None = None) -> None:
        """Change the title (and labels) without new data."""
        if title != self._title:
            self._set_title(title)
        if row_label is not None or col_label is not None:
            self._set_labels(row_label, col_label)

    def reset(self) -> None:
        """Forget the data and the mode's scale (a new network): shows a blank 1×1 matrix.

        A fixed scale (:meth:`set_fixed_scale`) is a setting, like the mode, and stays.
        """
        self._mode_s = None
        self._locked = None
        self._nonfinite = 0
        self._data = np.zeros((1, 1), dtype=np.float32)
        self._show_scale()
        self._img.setImage(map_signed(self._data, self._s), autoLevels=False, levels=None)
        self._set_shape(1, 1)
        self._update_readout()

    def matrix(self) -> np.ndarray:
        """The float32 array currently shown (rows, cols); non-finite entries are 0."""
        return self._data

    def title(self) -> str:
        return self._title

    def labels(self) -> tuple[str, str]:
        """``(row_label, col_label)``."""
        return self._labels

    def levels(self) -> tuple[float, float]:
        """The image levels ``(-s, s)``."""
        s = self._s if self._s is not None else 1.0
        return (-s, s)

    def scale(self) -> float:
        return self._s if self._s is not None else 1.0

    def nonfinite_count(self) -> int:
        return self._nonfinite

    def scale_mode(self) -> str:
        return self._mode

    def set_scale_mode(self, mode: str) -> None:
        """``"frame"``, ``"locked"`` or ``"smooth"`` (see the module notes)."""
        if mode not in SCALE_MODES:
            raise ValueError(f"scale mode must be one of {', '.join(SCALE_MODES)}, got {mode!r}")
        if mode == self._mode:
            return
        self._mode = mode
        self._locked = self._mode_s if mode == "locked" else None

    def relock(self) -> None:
        """Locked mode: take the scale from the next frame."""
        self._locked = None

    def highlight_rows(self, rows) -> None:
        """Outline these 0-based rows (e.g. sample k); an empty list clears."""
        self._rows_hl = [int(r) for r in rows]
        self._update_row_outlines()

    def set_highlighted(self, on: bool) -> None:
        """A thick frame around the matrix (its symbol was clicked)."""
        self._highlighted = bool(on)
        w = 6 if self._presentation else 4
        self._plot.vb.setBorder(pg.mkPen(HIGHLIGHT, width=w) if on else None)

    def is_highlighted(self) -> bool:
        return self._highlighted

    def set_presentation(self, on: bool) -> None:
        self._presentation = bool(on)
        self._apply_fonts()
        self._fit_colorbar()
        self._set_title(self._title)
        self._set_labels(*self._labels)
        self._update_row_outlines()
        if self._highlighted:
            self.set_highlighted(True)

    def hover_cell(self, row: int, col: int) -> str:
        """Act as if the mouse were over cell (row, col) (0-based; -1 = outside).

        Emits :attr:`rowHovered` when the row changes; returns the readout text.
        """
        rows, cols = self._data.shape
        if not (0 <= row < rows and 0 <= col < cols):
            row, col = -1, -1
        changed = row != self._hover[0]
        self._hover = (row, col)
        text = self._update_readout()
        if changed:
            self.rowHovered.emit(row)
        return text

    def readout(self) -> str:
        """The whole readout line (the label may show it cut short in a narrow heatmap)."""
        return self._readout.plain_text()

    # ------------------------------------------------------------ menus
    def context_menu(self) -> QMenu:
        """The right-click menu: export picture, save matrix, copy, scale mode."""
        menu = QMenu(self)
        name = self._file_name()
        menu.addAction("Export picture (PNG/SVG)…",
                       lambda: export.export_widget_dialog(self, self, name))
        menu.addAction("Save matrix (CSV/.npy)…",
                       lambda: export.save_matrix_dialog(self._data, self, name))
        menu.addAction("Copy matrix to clipboard", lambda: export.copy_matrix(self._data))
        menu.addSeparator()
        fixed = self._fixed is not None
        if fixed:
            note = menu.addAction(f"Colour scale shared: ±{format_value(self._fixed)}")
            note.setEnabled(False)
        for mode, text in (("frame", "Scale per frame"), ("locked", "Scale locked"),
                           ("smooth", "Scale smoothed")):
            act = menu.addAction(text, lambda m=mode: self.set_scale_mode(m))
            act.setCheckable(True)
            act.setChecked(mode == self._mode)
            act.setEnabled(not fixed)
        act = menu.addAction("Re-lock scale now", self.relock)
        act.setEnabled(self._mode == "locked" and not fixed)
        return menu

    def _show_menu(self, pos: QPoint) -> None:
        self.context_menu().exec(self._view.mapToGlobal(pos))

    def _file_name(self) -> str:
        return self._title.split("—")[0].strip() or "matrix"

    # ------------------------------------------------------------ internals
    def _show_scale(self) -> bool:
        """Take ``s`` from the fixed scale or the mode; label the bar. True if it changed."""
        s = self._fixed if self._fixed is not None else self._mode_s
        if s is None:
            s = 1.0
        changed = s != self._s
        self._s = s
        if changed and self._bar is not None:
            self._bar.set_scale(s)
        return changed

    def _apply_fonts(self) -> None:
        f = _FONTS[self._presentation]
        tick = QFont()
        tick.setPointSize(f["axis"])
        for name in ("left", "bottom"):
            # let the end labels (1 and the size) overhang the axis a little
            self._plot.getAxis(name).setStyle(tickFont=tick,
                                              hideOverlappingLabels=int(2.5 * f["axis"]))
        self._tick_font = tick
        self._fit_right_margin()
        if self._bar is not None:
            self._bar.set_font_size(f["axis"])
        self._title_label.set_point_size(f["title"])
        self._readout.set_point_size(f["readout"])

    def _set_title(self, title: str) -> None:
        self._title = title
        if not self._nonfinite:
            self._title_label.set_text(title)
            return
        # the warning first: if a narrow heatmap cuts the title, the warning stays
        warn = f"⚠ {self._nonfinite} non-finite → 0"
        self._title_label.set_text(f"{warn}  {title}", f'<span style="color:#c00000">{warn}'
                                   f"</span>&nbsp; {html.escape(title)}")

    def _set_labels(self, row_label: str | None, col_label: str | None) -> None:
        r = self._labels[0] if row_label is None else row_label
        c = self._labels[1] if col_label is None else col_label
        self._labels = (r, c)
        style = {"color": "#000", "font-size": f"{_FONTS[self._presentation]['label']}pt"}
        self._plot.setLabel("left", r, **style)
        self._plot.setLabel("bottom", c, **style)

    def _fit_right_margin(self) -> None:
        """Without a colour bar, room on the right for the last column's number ("32"),
        which is centred on the last column and would otherwise be cut in half."""
        if self._bar is not None:
            return
        half = QFontMetrics(self._tick_font).horizontalAdvance(str(self._data.shape[1])) // 2
        self._view.ci.setContentsMargins(2, 2, half + 2, 2)

    def _set_shape(self, rows: int, cols: int) -> None:
        self._fit_right_margin()
        # pixel (r, c) covers [c+0.5, c+1.5] x [r+0.5, r+1.5]: centres on 1-based indices
        self._img.setRect(QRectF(0.5, 0.5, cols, rows))
        self._plot.vb.setRange(xRange=(0.5, cols + 0.5), yRange=(0.5, rows + 0.5), padding=0)
        self._update_row_outlines()
        if self._hover[0] >= rows or self._hover[1] >= cols:
            self.hover_cell(-1, -1)

    def _update_row_outlines(self) -> None:
        rows, cols = self._data.shape
        wanted = [r for r in self._rows_hl if 0 <= r < rows]
        while len(self._hl_items) < len(wanted):
            item = QGraphicsRectItem()
            item.setZValue(10)
            self._plot.addItem(item)
            self._hl_items.append(item)
        pen = pg.mkPen(HIGHLIGHT, width=_FONTS[self._presentation]["pen"])
        pen.setCosmetic(True)
        for item, r in zip(self._hl_items, wanted, strict=False):
            item.setRect(QRectF(0.5, r + 0.5, cols, 1.0))
            item.setPen(pen)
            item.setVisible(True)
        for item in self._hl_items[len(wanted):]:
            item.setVisible(False)

    def _update_readout(self) -> str:
        row, col = self._hover
        if row < 0:
            text = f"colour scale ±{format_value(self.scale())}"
            if self._hover_shown:
                self._hover_shown = False
                QToolTip.hideText()
        else:
            r_name = (self._labels[0].split() or ["row"])[-1]
            c_name = (self._labels[1].split() or ["col"])[-1]
            v = float(self._data[row, col])
            text = (f"{r_name} = {row + 1}, {c_name} = {col + 1}:  {format_value(v)}"
                    f"   (scale ±{format_value(self.scale())})")
            if self.isVisible() and self.underMouse():
                self._hover_shown = True
                QToolTip.showText(QCursor.pos(), text, self._view)
        self._readout.set_text(text)
        return text

    def _mouse_moved(self, pos) -> None:
        vb = self._plot.vb
        if not vb.sceneBoundingRect().contains(pos):
            self.hover_cell(-1, -1)
            return
        p = vb.mapSceneToView(pos)
        self.hover_cell(int(math.floor(p.y() - 0.5)), int(math.floor(p.x() - 0.5)))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._fit_colorbar()

    def _fit_colorbar(self) -> None:
        """Narrow heatmaps get the compact bar ("+", "0", "−"; ±s is in the readout line)."""
        if self._bar is not None:
            limit = COMPACT_BELOW_PX[self._presentation]
            self._bar.set_compact(0 < self.width() < limit)

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.hover_cell(-1, -1)
        super().leaveEvent(event)
