"""The drawing of one heatmap, in plain Qt graphics items that Qt paints without Python.

Why not pyqtgraph here: every pyqtgraph item paints (and reports its bounding
rectangle) in Python, so drawing ten heatmaps per frame held the interpreter
for ~15 ms, time the training thread could not use (one GIL). This scene holds
only Qt's own C++ items (a pixmap, rectangles, paths, simple texts) and the
view overrides no paint method, so ``QGraphicsView`` paints it with the GIL
released, on the other core, while the worker trains. Python runs once per new
matrix (the colour lookup and ``setPixmap``) and once per resize (the layout
below), never per paint.

Layout, in viewport pixels (the scene rectangle is the viewport)::

    [row label][row ticks]|  image, cell (r, c) = row r from the top   |[colour bar]
                          [column ticks, numbered 1..cols]
                          [column label]

Ticks sit on whole 1-based indices (:func:`~.axes.index_ticks`): k = 1..K,
i = 1..m, j = 1..n, as the sources count.

Zoom: the canvas shows a window ``[r0, r1) × [c0, c1)`` of the matrix (all of it
by default). The mouse wheel over the image zooms in and out at the mouse, down
to a single cell; a left-button drag pans; a double-click shows the whole
matrix again. Ticks, outlines, marked columns, cell texts and the hovered cell
follow the window. The image is whatever the owner hands :meth:`HeatmapCanvas.set_image`
for the current window (possibly pooled: fewer pixels than cells); the owner
is told of every window change (``owner.window_changed()``).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainterPath,
    QPen,
    QPixmap,
    QTransform,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
)

from .axes import index_ticks
from .colorbar import COMPACT_TEMPLATES, LABEL_TEMPLATES, TEXT_MARGIN_PX, format_level
from .colormaps import HIGHLIGHT, LUT_SIZE, map_signed
from .scaling import scaled_level

BLACK = QColor("black")
WHITE = QColor("white")
GAP_PX = 8  # between the image and the colour bar


def rgba_pixmap(rgba: np.ndarray) -> QPixmap:
    """A pixmap of ``(rows, cols, 4)`` uint8 RGBA bytes (copied; the array may go)."""
    rows, cols = rgba.shape[:2]
    rgba = np.ascontiguousarray(rgba)
    return QPixmap.fromImage(QImage(rgba.data, cols, rows, 4 * cols,
                                    QImage.Format.Format_RGBA8888))


def _pen(color, width: float = 1.0) -> QPen:
    pen = QPen(QColor(*color) if isinstance(color, tuple) else color)
    pen.setWidthF(width)
    pen.setCosmetic(True)
    return pen


def _colours(colour: QColor | list[QColor], n: int) -> list[QColor]:
    """``n`` colours: ``colour`` repeated, or the list itself (of length ``n``)."""
    if isinstance(colour, QColor):
        return [QColor(colour)] * n
    out = [QColor(c) for c in colour]
    if len(out) != n:
        raise ValueError(f"{n} marks need {n} colours, got {len(out)}")
    return out


def white_text(rgba: np.ndarray) -> np.ndarray:
    """Per colour of ``rgba`` (..., 4) uint8: True where white text reads better than black.

    The WCAG rule: the text colour with the larger contrast ratio against the cell's
    relative luminance ``L`` (white: 1.05 / (L + 0.05), black: (L + 0.05) / 0.05).
    """
    c = np.asarray(rgba)[..., :3].astype(np.float32) / np.float32(255)
    lin = np.where(c <= 0.04045, c / np.float32(12.92), ((c + 0.055) / 1.055) ** 2.4)
    L = lin @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    return 1.05 / (L + 0.05) > (L + 0.05) / 0.05


def _text(scene: QGraphicsScene, z: float = 2.0) -> QGraphicsSimpleTextItem:
    t = QGraphicsSimpleTextItem()
    t.setBrush(BLACK)
    t.setZValue(z)
    scene.addItem(t)
    return t


#: A cell text fits when it is at most this share of the cell's width, and its digits'
#: ink (the font's cap height) at most this share of the cell's height: numbers have no
#: descenders, so a short row of a 4×3 δ still reads in presentation mode.
CELL_TEXT_W, CELL_TEXT_H = 0.92, 0.7


def cell_text_fits(fm: QFontMetricsF, text: str, cw: float, ch: float) -> bool:
    """True if ``text`` in the font of ``fm`` fits a cell ``cw`` × ``ch`` pixels."""
    return fm.horizontalAdvance(text) <= CELL_TEXT_W * cw and fm.capHeight() <= CELL_TEXT_H * ch


class CanvasColourBar:
    """A vertical colour bar ``−s`` (bottom) .. ``+s`` (top) beside the image: a ramp,
    its frame, three ticks and three numbers (``+s``, ``0``, ``−s``).

    The ends read ``s`` itself (:func:`~.colorbar.format_level`), or, when the heatmap's
    title carries a shared power of ten (:meth:`set_units`), ``s`` in those units
    (``+6.4`` under a title "× 10⁻⁵"). A compact bar (a narrow heatmap) has a narrower
    text column for those short numbers; a bar too short for three lines drops the 0.
    """

    def __init__(self, scene: QGraphicsScene) -> None:
        self._s = 1.0
        self._units: tuple[int, int] | None = None  # (power of ten, decimals)
        self._compact = False
        self._font = QFont()
        self._px: dict[str, int] = {}   # label_px's answers in this font
        self._bar_px = 14
        self._room = 0
        self._rect = QRectF()
        ramp = np.linspace(1.0, -1.0, LUT_SIZE, dtype=np.float32)[:, None]  # +s at the top
        self.ramp = QGraphicsPixmapItem(rgba_pixmap(map_signed(ramp, 1.0)))
        self.ramp.setShapeMode(QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
        self.frame = QGraphicsRectItem()
        self.frame.setPen(_pen(BLACK))
        self.ticks = QGraphicsPathItem()
        self.ticks.setPen(_pen(BLACK))
        for item in (self.ramp, self.frame, self.ticks):
            scene.addItem(item)
        self._texts = {key: _text(scene) for key in ("top", "mid", "bottom")}
        self._texts["mid"].setText("0")
        self.set_font_size(9)
        self.set_scale(1.0)

    # the text column is as wide as the widest label any float32 makes: no re-layout per frame
    def set_font_size(self, points: int) -> None:
        self._font.setPointSize(points)
        self._px.clear()
        for t in self._texts.values():
            t.setFont(self._font)
        self._bar_px = 14 if points < 12 else 16
        widest = COMPACT_TEMPLATES if self._compact else LABEL_TEMPLATES
        self._room = max(self.label_px(t) for t in widest) + TEXT_MARGIN_PX
        self._relabel(force=True, widen=False)  # the owner relabels for the new room

    def set_compact(self, on: bool) -> bool:
        """Compact: a narrow text column, for the short numbers of :meth:`set_units`
        (the heatmap sets them while compact). True if it changed."""
        if bool(on) == self._compact:
            return False
        self._compact = bool(on)
        self.set_font_size(self._font.pointSize())
        return True

    def is_compact(self) -> bool:
        return self._compact

    def set_visible(self, on: bool) -> None:
        """Show or hide the ramp, its frame, ticks and numbers (the canvas lays out)."""
        for item in (self.ramp, self.frame, self.ticks, *self._texts.values()):
            item.setVisible(bool(on))   # (place then hides the 0 of a short bar)

    def set_scale(self, s: float, units: tuple[int, int] | None = None) -> bool:
        """Label the ends ``+s`` and ``−s``: with ``units = (e, decimals)`` as
        ``s / 10^e`` with at most ``decimals`` decimals (the heatmap's title says
        "× 10^e"), else as ``s`` itself. True if the column had to widen (re-layout)."""
        self._s = float(s)
        self._units = None if units is None else (int(units[0]), int(units[1]))
        return self._relabel()

    def units(self) -> tuple[int, int] | None:
        return self._units

    def _relabel(self, force: bool = False, widen: bool = True) -> bool:
        s = self._s
        if self._units is None:
            top, bottom = "+" + format_level(s), format_level(-s)
        else:
            mag = scaled_level(s, *self._units)
            top, bottom = "+" + mag, "−" + mag
        if self._texts["top"].text() == top and not force:
            return False
        self._texts["top"].setText(top)
        self._texts["bottom"].setText(bottom)
        if not widen or (self._units is None and len(top) <= 8 and not self._compact):
            return False  # format_level keeps every float32 within LABEL_TEMPLATES
        need = max(self.label_px(top), self.label_px(bottom)) + TEXT_MARGIN_PX
        if need <= self._room:
            return False
        self._room = need  # beyond float32 (|exponent| >= 100): widen once
        return True

    def scale(self) -> float:
        return self._s

    def labels(self) -> tuple[str, str, str]:
        """The texts at the top, middle and bottom."""
        return tuple(self._texts[k].text() for k in ("top", "mid", "bottom"))

    def label_px(self, text: str) -> int:
        """The width in pixels that ``text`` needs in the bar's font (remembered per text
        while the font stays: the labels are measured on every frame)."""
        px = self._px.get(text)
        if px is None:
            if len(self._px) > 256:
                self._px.clear()
            px = self._px[text] = int(np.ceil(QFontMetricsF(self._font).horizontalAdvance(text)))
        return px

    def text_room_px(self) -> int:
        """The width in pixels of the text column (right of the ramp and its ticks)."""
        return self._room

    def width(self) -> int:
        return GAP_PX + self._bar_px + 5 + self._room

    def sceneBoundingRect(self) -> QRectF:  # noqa: N802 (like a QGraphicsItem)
        """The bar with its text column, in scene (= viewport) pixels."""
        return self._rect

    def place(self, plot: QRectF) -> None:
        """Put the bar right of ``plot``, as tall as it."""
        x0 = plot.right() + GAP_PX
        bar = QRectF(x0, plot.top(), self._bar_px, plot.height())
        self.ramp.setPos(bar.topLeft())
        self.ramp.setTransform(QTransform.fromScale(bar.width(), bar.height() / LUT_SIZE))
        self.frame.setRect(bar)
        path = QPainterPath()
        for y in (bar.top(), bar.center().y(), bar.bottom()):
            path.moveTo(bar.right(), y)
            path.lineTo(bar.right() + 3, y)
        self.ticks.setPath(path)
        h = QFontMetricsF(self._font).height()
        x = bar.right() + 5
        self._texts["top"].setPos(x, bar.top())
        self._texts["mid"].setPos(x, bar.center().y() - h / 2)
        self._texts["bottom"].setPos(x, bar.bottom() - h)
        # a bar shorter than three lines: the ends only, never one blur of glyphs
        self._texts["mid"].setVisible(bar.height() >= 3 * h)
        self._rect = QRectF(x0, plot.top(), self.width() - GAP_PX, plot.height())


class HeatmapCanvas(QGraphicsView):
    """The image, its index axes, the colour bar, row outlines and cell texts.

    Overrides resize and mouse events only: Qt paints the scene in C++.
    """

    def __init__(self, owner, colorbar: bool = True) -> None:
        super().__init__(owner)
        self._owner = owner
        self.setScene(QGraphicsScene(self))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setBackgroundBrush(QBrush(QColor("white")))
        self.setMouseTracking(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        sc = self.scene()
        self._shape = (1, 1)  # the matrix's (rows, cols), whatever the image's size
        self._img_shape = (1, 1)
        self._win = (0, 1, 0, 1)  # the rows r0..r1-1 and columns c0..c1-1 shown
        self._drag: tuple[QPointF, tuple[int, int, int, int]] | None = None
        self._marked_cols: list[int] = []
        self._col_colours: list[QColor] = []  # one per marked column
        self._marked_rows: list[int] = []
        self._row_colours: list[QColor] = []  # one per marked row
        self._plot = QRectF(0, 0, 1, 1)
        self._tick_font = QFont()
        self._label_font = QFont()
        self._labels = ("", "")
        self._pen_w = 2.0
        self._outline_rows: list[int] = []
        self._cell_texts: list[list[str]] | None = None
        self._cell_white: np.ndarray | None = None
        self._cell_origin = (0, 0)
        self._cell_font = QFont()
        self._fit_fonts: dict[tuple, QFont | None] = {}   # fit_cell_font's answers
        self._cap_heights: dict[tuple[str, float], float] = {}   # _least_height's answers
        self.image = QGraphicsPixmapItem()
        self.image.setShapeMode(QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
        self.image.setTransformationMode(Qt.TransformationMode.FastTransformation)  # crisp cells
        self.frame = QGraphicsRectItem()
        self.frame.setPen(_pen(BLACK))
        self.frame.setZValue(6)
        self.ticks = QGraphicsPathItem()
        self.ticks.setPen(_pen(BLACK))
        for item in (self.image, self.frame, self.ticks):
            sc.addItem(item)
        self._tick_texts: list[QGraphicsSimpleTextItem] = []
        self._axis_titles = (_text(sc), _text(sc))
        self._axis_titles[0].setRotation(-90)
        self._outlines: list[QGraphicsRectItem] = []
        self._marks: list[QGraphicsRectItem] = []
        self._cells: list[QGraphicsSimpleTextItem] = []
        self.bar = CanvasColourBar(sc) if colorbar else None
        self._bar_shown = self.bar is not None

    # ------------------------------------------------------------ content
    def set_image(self, rgba: np.ndarray, shape: tuple[int, int] | None = None) -> None:
        """New colours ``(h, w, 4)`` for the window shown of a matrix of ``shape`` (rows,
        cols; default the image's): the image is stretched over the plot, so it may have
        fewer pixels than the window has cells (pooled). A new ``shape`` shows the whole
        matrix and lays out again."""
        self.image.setPixmap(rgba_pixmap(rgba))
        img = rgba.shape[:2]
        shape = img if shape is None else (int(shape[0]), int(shape[1]))
        if shape != self._shape:
            self._shape = shape
            self._win = (0, shape[0], 0, shape[1])
            self._img_shape = img
            self.relayout()
        elif img != self._img_shape:
            self._img_shape = img
            self._place_image()

    def matrix_shape(self) -> tuple[int, int]:
        """The (rows, cols) of the matrix (not of the image, which may be pooled)."""
        return self._shape

    # ------------------------------------------------------------ zoom
    def view_window(self) -> tuple[int, int, int, int]:
        """``(r0, r1, c0, c1)``: rows r0..r1−1 and columns c0..c1−1 are shown (0-based)."""
        return self._win

    def is_zoomed(self) -> bool:
        return self._win != (0, self._shape[0], 0, self._shape[1])

    def set_view_window(self, r0: int, r1: int, c0: int, c1: int) -> None:
        """Show rows r0..r1−1 and columns c0..c1−1 (clamped to the matrix, at least one
        cell); the owner recolours and the axes follow."""
        R, C = self._shape
        nr, nc = min(max(int(r1) - int(r0), 1), R), min(max(int(c1) - int(c0), 1), C)
        r0, c0 = min(max(int(r0), 0), R - nr), min(max(int(c0), 0), C - nc)
        win = (r0, r0 + nr, c0, c0 + nc)
        if win == self._win:
            return
        self._win = win
        self._owner.window_changed()
        self.relayout()

    def reset_zoom(self) -> None:
        """Show the whole matrix."""
        self.set_view_window(0, self._shape[0], 0, self._shape[1])

    def zoom_at(self, pos: QPointF, factor: float) -> None:
        """Zoom by ``factor`` (> 1 closer) keeping the cell under ``pos`` (viewport) in place."""
        p = self._plot
        r0, r1, c0, c1 = self._win
        fy = min(max((pos.y() - p.top()) / p.height(), 0.0), 1.0)
        fx = min(max((pos.x() - p.left()) / p.width(), 0.0), 1.0)
        nr = max(1, round((r1 - r0) / factor))
        nc = max(1, round((c1 - c0) / factor))
        if factor > 1:  # always at least one cell closer, so the wheel never sticks
            nr, nc = min(nr, max(r1 - r0 - 1, 1)), min(nc, max(c1 - c0 - 1, 1))
        # the cell under the mouse stays under it: its index minus the whole cells before it
        ar = min(int(r0 + fy * (r1 - r0)), r1 - 1)
        ac = min(int(c0 + fx * (c1 - c0)), c1 - 1)
        r = ar - min(int(fy * nr), nr - 1)
        c = ac - min(int(fx * nc), nc - 1)
        self.set_view_window(r, r + nr, c, c + nc)

    def set_marked_columns(self, cols: list[int], colour: QColor | list[QColor]) -> None:
        """Outline whole columns (0-based) in ``colour`` (one, or one per column); an
        empty list clears."""
        self._marked_cols = [int(c) for c in cols]
        self._col_colours = _colours(colour, len(self._marked_cols))
        self._place_marks()

    def marked_columns(self) -> list[int]:
        return list(self._marked_cols)

    def set_marked_rows(self, rows: list[int], colour: QColor | list[QColor]) -> None:
        """Outline whole rows (0-based) in ``colour`` (one, or one per row); an empty
        list clears. Independent of the marked columns."""
        self._marked_rows = [int(r) for r in rows]
        self._row_colours = _colours(colour, len(self._marked_rows))
        self._place_marks()

    def marked_rows(self) -> list[int]:
        return list(self._marked_rows)

    def mark_items(self) -> list[QGraphicsRectItem]:
        """The visible column and row outlines (tests)."""
        return [m for m in self._marks if m.isVisible()]

    def set_fonts(self, tick_pt: int, label_pt: int, pen_w: float) -> None:
        self._tick_font.setPointSize(tick_pt)
        self._label_font.setPointSize(label_pt)
        self._pen_w = pen_w
        if self.bar is not None:
            self.bar.set_font_size(tick_pt)
        self.relayout()

    def set_labels(self, row_label: str, col_label: str) -> None:
        if (row_label, col_label) != self._labels:
            self._labels = (row_label, col_label)
            self.relayout()

    def set_outline_rows(self, rows: list[int]) -> None:
        self._outline_rows = list(rows)
        self._place_outlines()

    def set_highlighted(self, on: bool) -> None:
        self.frame.setPen(_pen(HIGHLIGHT, 2 * self._pen_w) if on else _pen(BLACK))

    def set_cell_texts(self, texts: list[list[str]] | None, white: np.ndarray | None = None,
                       font: QFont | None = None, origin: tuple[int, int] = (0, 0)) -> None:
        """Write ``texts[r][c]`` into cell ``(origin[0] + r, origin[1] + c)`` of the matrix
        (white where ``white[r, c]``, else black), or clear with None. Cells outside the
        view window stay empty; the font shrinks (down to 7 pt) until the widest text fits
        a cell. Items whose text, colour and place are unchanged are not touched."""
        self._cell_texts = texts
        self._cell_origin = (int(origin[0]), int(origin[1]))
        self._cell_white = None if white is None else np.asarray(white, dtype=bool)
        if font is not None:
            self._cell_font = QFont(font)
        self._place_cells()

    def cell_texts(self) -> list[str]:
        """The cell texts shown, row by row."""
        return [t.text() for t in self._cells if t.isVisible()]

    def cell_text_items(self) -> list[QGraphicsSimpleTextItem]:
        """The visible cell text items, row by row (tests: colour, place)."""
        return [t for t in self._cells if t.isVisible()]

    def fit_cell_font(self, template: str, points: float, min_points: float,
                      cell: tuple[float, float] | None = None) -> QFont | None:
        """The largest font from ``points`` down to ``min_points`` in which ``template``
        fits a cell of the current window (:func:`cell_text_fits`), or of size ``cell``
        (width, height), or None if even ``min_points`` does not fit. Cached per cell size
        and template."""
        cw, ch = self._cell_size() if cell is None else cell
        if self._least_height(min_points) > CELL_TEXT_H * ch:   # too short for any size:
            return None                                  # no text measured (big matrices)
        key = (round(cw, 1), round(ch, 1), template, float(points), float(min_points))
        cache = self._fit_fonts
        if key in cache:
            return cache[key]
        if len(cache) > 64:       # sizes change with every resize: keep the recent ones
            cache.clear()
        font = QFont(self._cell_font)
        pt = float(points)
        fitted = None
        while pt >= min_points:
            font.setPointSizeF(pt)
            fm = QFontMetricsF(font)
            if cell_text_fits(fm, template, cw, ch):
                fitted = QFont(font)
                break
            pt -= 1.0
        cache[key] = fitted
        return fitted

    def _least_height(self, points: float) -> float:
        """The digits' height (cap height) of the cell font at ``points`` (cached per font)."""
        key = (self._cell_font.key(), float(points))
        h = self._cap_heights.get(key)
        if h is None:
            font = QFont(self._cell_font)
            font.setPointSizeF(float(points))
            h = self._cap_heights[key] = QFontMetricsF(font).capHeight()
        return h

    # ------------------------------------------------------------ geometry
    def plot_rect(self) -> QRectF:
        """Where the image lies, in viewport pixels."""
        return QRectF(self._plot)

    def _cell_size(self) -> tuple[float, float]:
        r0, r1, c0, c1 = self._win
        return self._plot.width() / (c1 - c0), self._plot.height() / (r1 - r0)

    def cell_center(self, row: int, col: int) -> QPointF:
        """The centre of cell (row, col) (0-based, of the matrix), in viewport pixels
        (outside the plot when the cell is outside the zoom window)."""
        cw, ch = self._cell_size()
        p, (r0, _, c0, _) = self._plot, self._win
        return QPointF(p.left() + (col - c0 + 0.5) * cw, p.top() + (row - r0 + 0.5) * ch)

    def cell_at(self, pos: QPointF) -> tuple[int, int]:
        """The cell (row, col) of the matrix under ``pos`` (viewport pixels), or (-1, -1)."""
        p = self._plot
        if not p.contains(pos):
            return -1, -1
        r0, r1, c0, c1 = self._win
        cw, ch = self._cell_size()
        r = r0 + int((pos.y() - p.top()) / ch)
        c = c0 + int((pos.x() - p.left()) / cw)
        return min(r, r1 - 1), min(c, c1 - 1)

    def _rows_rect(self, r: int) -> QRectF:
        """Row ``r`` across the plot (may lie outside it)."""
        _, ch = self._cell_size()
        p = self._plot
        return QRectF(p.left(), p.top() + (r - self._win[0]) * ch, p.width(), ch)

    def _place_image(self) -> None:
        p = self._plot
        h, w = self._img_shape
        self.image.setPos(p.topLeft())
        self.image.setTransform(QTransform.fromScale(p.width() / w, p.height() / h))

    def plot_cell_size(self, bar: bool) -> tuple[float, float]:
        """The size of one cell of the whole matrix at the current size and fonts, with
        or without the colour bar beside it."""
        p = self._plot_for(bar)
        return p.width() / self._shape[1], p.height() / self._shape[0]

    def set_bar_shown(self, on: bool) -> bool:
        """Show the colour bar or give its room to the plot. True if it changed."""
        on = bool(on) and self.bar is not None
        if on == self._bar_shown:
            return False
        self._bar_shown = on
        self.bar.set_visible(on)
        self.relayout()
        return True

    def bar_shown(self) -> bool:
        return self._bar_shown

    def _plot_for(self, bar: bool) -> QRectF:
        """Where the image lies with or without the colour bar (current size and fonts)."""
        w, h = max(self.viewport().width(), 1), max(self.viewport().height(), 1)
        ft, fl = QFontMetricsF(self._tick_font), QFontMetricsF(self._label_font)
        tick = 4.0
        left = 2 + (fl.height() + 2 if self._labels[0] else 0) + ft.horizontalAdvance(
            str(self._shape[0]))
        left += 3 + tick
        bottom = tick + 1 + ft.height() + (fl.height() if self._labels[1] else 0) + 2
        top = ft.height() / 2 + 1
        if bar and self.bar is not None:
            right = self.bar.width() + 2
        else:  # room for the last column's number, centred on the last column
            right = ft.horizontalAdvance(str(self._shape[1])) / 2 + 2
        return QRectF(left, top, max(w - left - right, 1.0), max(h - top - bottom, 1.0))

    def relayout(self) -> None:
        """Place everything for the current size, shape, fonts and labels."""
        w, h = max(self.viewport().width(), 1), max(self.viewport().height(), 1)
        self.scene().setSceneRect(0, 0, w, h)
        r0, r1, c0, c1 = self._win
        ft, fl = QFontMetricsF(self._tick_font), QFontMetricsF(self._label_font)
        tick = 4.0
        self._plot = p = self._plot_for(self._bar_shown)
        self._place_image()
        self.frame.setRect(p)
        pt = max(self._tick_font.pointSizeF(), 1.0)
        cw, ch = self._cell_size()
        _, xs = index_ticks(c0 + 1, c1, p.width() / (4.0 * pt))
        _, ys = index_ticks(r0 + 1, r1, p.height() / (2.2 * pt))
        path = QPainterPath()
        while len(self._tick_texts) < len(xs) + len(ys):
            self._tick_texts.append(_text(self.scene()))
        texts = iter(self._tick_texts)
        for v in xs:
            x = p.left() + (v - c0 - 0.5) * cw
            path.moveTo(x, p.bottom())
            path.lineTo(x, p.bottom() + tick)
            self._put(next(texts), str(v), x - ft.horizontalAdvance(str(v)) / 2,
                      p.bottom() + tick + 1)
        for v in ys:
            y = p.top() + (v - r0 - 0.5) * ch
            path.moveTo(p.left(), y)
            path.lineTo(p.left() - tick, y)
            self._put(next(texts), str(v), p.left() - tick - 2 - ft.horizontalAdvance(str(v)),
                      y - ft.height() / 2)
        for t in texts:
            t.setVisible(False)
        self.ticks.setPath(path)
        row_t, col_t = self._axis_titles
        # the row title runs upwards beside the plot: on a short heatmap (a projector's
        # row of ten) "sample k" would be cut at the top; its last word says it ("k")
        row_text, tall = self._labels[0], self.viewport().height() - 2
        wide = fl.horizontalAdvance(row_text)
        if wide > tall and row_text.split():
            row_text = row_text.split()[-1]
            wide = fl.horizontalAdvance(row_text)
        for t, text in zip(self._axis_titles, (row_text, self._labels[1]), strict=True):
            t.setFont(self._label_font)
            t.setText(text)
        col_t.setPos(p.center().x() - fl.horizontalAdvance(self._labels[1]) / 2,
                     p.bottom() + tick + 1 + ft.height())
        row_t.setPos(2, min(tall, max(wide, p.center().y() + wide / 2)))
        if self._bar_shown:
            self.bar.place(p)
        self._place_outlines()
        self._place_marks()
        self._place_cells()

    def _put(self, item: QGraphicsSimpleTextItem, text: str, x: float, y: float) -> None:
        item.setFont(self._tick_font)
        item.setText(text)
        item.setPos(x, y)
        item.setVisible(True)

    def _place_outlines(self) -> None:
        r0, r1, _, _ = self._win
        wanted = [r for r in self._outline_rows if r0 <= r < r1]
        while len(self._outlines) < len(wanted):
            item = QGraphicsRectItem()
            item.setZValue(5)
            self.scene().addItem(item)
            self._outlines.append(item)
        for item, r in zip(self._outlines, wanted, strict=False):
            item.setRect(self._rows_rect(r))
            item.setPen(_pen(HIGHLIGHT, self._pen_w))
            item.setVisible(True)
        for item in self._outlines[len(wanted):]:
            item.setVisible(False)

    def _place_marks(self) -> None:
        r0, r1, c0, c1 = self._win
        cw, _ = self._cell_size()
        p = self._plot
        wanted = [(QRectF(p.left() + (c - c0) * cw, p.top(), cw, p.height()), colour)
                  for c, colour in zip(self._marked_cols, self._col_colours, strict=True)
                  if c0 <= c < c1]
        wanted += [(self._rows_rect(r), colour)
                   for r, colour in zip(self._marked_rows, self._row_colours, strict=True)
                   if r0 <= r < r1]
        while len(self._marks) < len(wanted):
            item = QGraphicsRectItem()
            item.setZValue(5)
            self.scene().addItem(item)
            self._marks.append(item)
        for item, (rect, colour) in zip(self._marks, wanted, strict=False):
            item.setRect(rect)
            item.setPen(_pen(colour, self._pen_w))
            item.setVisible(True)
        for item in self._marks[len(wanted):]:
            item.setVisible(False)

    def _place_cells(self) -> None:
        texts = self._cell_texts or []
        r0, r1, c0, c1 = self._win
        o_r, o_c = self._cell_origin
        flat = [(o_r + r, o_c + c, s) for r, row in enumerate(texts) for c, s in enumerate(row)
                if r0 <= o_r + r < r1 and c0 <= o_c + c < c1]
        while len(self._cells) < len(flat):
            self._cells.append(_text(self.scene(), z=4))
        cw, ch = self._cell_size()
        font = QFont(self._cell_font)
        widest = max((s for _, _, s in flat), key=len, default="0")
        while font.pointSizeF() > 7 and not cell_text_fits(QFontMetricsF(font), widest, cw, ch):
            font.setPointSizeF(font.pointSizeF() - 1)
        fm = QFontMetricsF(font)
        # the digits' ink centred on the cell (numbers have no descenders)
        lift = fm.ascent() - fm.capHeight() / 2
        white_mask = self._cell_white
        for item, (r, c, s) in zip(self._cells, flat, strict=False):
            if item.font() != font:
                item.setFont(font)
            white = white_mask is not None and bool(white_mask[r - o_r, c - o_c])
            colour = WHITE if white else BLACK
            if item.brush().color() != colour:
                item.setBrush(colour)
            centre = self.cell_center(r, c)
            pos = QPointF(centre.x() - fm.horizontalAdvance(s) / 2, centre.y() - lift)
            if item.text() != s:
                item.setText(s)
            if item.pos() != pos:
                item.setPos(pos)
            if not item.isVisible():
                item.setVisible(True)
        for item in self._cells[len(flat):]:
            if item.isVisible():
                item.setVisible(False)

    # ------------------------------------------------------------ events
    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self.relayout()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self._drag is not None:
            start, (r0, r1, c0, c1) = self._drag
            d = event.position() - start
            cw, ch = self._plot.width() / (c1 - c0), self._plot.height() / (r1 - r0)
            dr, dc = round(d.y() / ch), round(d.x() / cw)
            self.set_view_window(r0 - dr, r1 - dr, c0 - dc, c1 - dc)
        self._owner.hover_cell(*self.cell_at(event.position()))
        super().mouseMoveEvent(event)

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt API)
        pos = event.position()
        notches = event.angleDelta().y() / 120.0
        if not self._plot.contains(pos) or notches == 0:
            super().wheelEvent(event)
            return
        self.zoom_at(pos, 1.25 ** notches)
        self._owner.hover_cell(*self.cell_at(pos))
        event.accept()

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.button() == Qt.MouseButton.LeftButton and self._plot.contains(event.position()):
            self._drag = (event.position(), self._win)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = None
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = None
            self.reset_zoom()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._owner.hover_cell(-1, -1)
        super().leaveEvent(event)

