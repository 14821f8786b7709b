"""One matrix as a live heatmap with a colour bar.

The matrix is kept as a C-contiguous float32 array and coloured with explicit
symmetric levels ``(-s, s)`` on the 256-entry diverging map (zero is the
neutral centre colour; :func:`~.colormaps.map_signed`, pyqtgraph's ``floor``
rule) into RGBA bytes, row-major: row 0 is at the top, as when a matrix is
printed. The axes count samples, neurons and inputs from 1 like the seeds
(k = 1..K, i = 1..m, j = 1..n); the signals and :meth:`Heatmap.matrix` use
0-based NumPy indices.

The drawing is a :class:`~.heatmap_canvas.HeatmapCanvas` of plain Qt items,
which Qt paints without Python (and so without the GIL) while training runs:
per frame this module only maps colours and hands Qt a new pixmap.

Scale modes (per frame, locked, smoothed): see :mod:`.scaling`. A fixed scale
(:meth:`Heatmap.set_fixed_scale`) overrides the mode, so that several heatmaps
share one colour scale; the mode keeps following the data underneath and takes
over again when the fixed scale is cleared.

Non-finite entries are shown as 0 (the view never draws NaN); the title then
says how many there were.

Numbers in cells: when the cells of the window shown are big enough for their
numbers (:data:`NUMBER_PT`), each cell shows its value, 2–3 significant digits
for the largest, with one power of ten shared by every number of the heatmap
(:func:`~.scaling.shared_exponent` of the colour scale ``s``) written in the title
("× 10⁻³"); the colour bar then reads in the same units. The text is black or
white, whichever contrasts more with the cell's colour
(:func:`~.heatmap_canvas.white_text`). On by default; :meth:`Heatmap.set_show_numbers`
(and the context menu) turns it off. A zoomed big matrix shows numbers once its
cells are big enough. A cell fits a number when its width and the digits' ink
height do (numbers have no descenders); a third digit is written only where it
costs at most :data:`DIGIT_PT` points of size; and where the numbers fit only
without the colour bar, or are :data:`GAIN_PT` points larger without it, the bar
gives its room to them (the line under the heatmap still says ±s).

Big matrices: a matrix larger than the heatmap is drawn pooled (the caller hands
it pooled, or the heatmap pools it itself with :func:`~bpviz.gui.pooling.pool_signed`:
per block the entry of largest magnitude, sign kept), so the cost of a frame
does not grow with the matrix. The whole matrix is kept by reference (no copy):
the hover readout reads the exact entry, and zooming (mouse wheel over the
image, drag to pan, double-click for the whole matrix) draws the window's cells
from it, pooled only while the window still has more cells than pixels.

Linked highlighting (:mod:`bpviz.gui.selection`): :attr:`Heatmap.cellHovered` and
:attr:`Heatmap.cellClicked` report cells in **display** coordinates (row, column of
the matrix as drawn); :meth:`Heatmap.highlight_cell`, :meth:`Heatmap.highlight_column`
and :meth:`Heatmap.highlight_rows` outline what a selection names, with plain Qt
rectangles that follow the zoom (Qt paints them, no Python).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QFont, QPen
from PySide6.QtWidgets import (
    QGraphicsRectItem,
    QMenu,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ..pooling import DEFAULT_SIDE, pool_signed
from . import export
from .colormaps import HIGHLIGHT, map_signed
from .fitlabel import FitLabel
from .heatmap_canvas import CanvasColourBar, HeatmapCanvas, white_text
from .scaling import (
    SCALE_MODES,
    format_numbers,
    format_value,
    leading_exponent,
    next_scale,
    number_decimals,
    power_text,
    shared_exponent,
    steady_exponent,
)
from .throttle import Throttle

READOUT_S = 0.25  # the idle readout ("colour scale ±s") changes at most 4 times a second
COMPACT_BELOW_PX = {False: 300, True: 460}  # narrower heatmaps get the compact colour bar
ZOOM_HELP = ("Mouse wheel over the matrix: zoom in or out at the mouse, down to single "
             "entries · drag: pan · double-click: the whole matrix · hover: the exact entry")

_FONTS = {False: {"title": 11, "axis": 9, "label": 10, "readout": 9, "pen": 2.0},
          True: {"title": 20, "axis": 15, "label": 17, "readout": 15, "pen": 4.0}}
#: Numbers in cells: their font size at most and at least (cells too small for the
#: least get no numbers), normal and in presentation mode (whose least is larger than
#: normal mode's most).
NUMBER_PT = {False: (11, 7), True: (18, 12)}
#: A window of more cells than this is never numbered (bounds a frame's cost).
MAX_NUMBERED = 1024
NUMBERS_TEXT = "Numbers in cells (when they fit)"
#: The shortest numbers a heatmap writes (2 significant digits in the power of ten of
#: the scale's leading digit), digits as 8: whether any numbers fit a cell at all.
SHORTEST_NUMBER = "−8.8"
#: A colour bar also gives way where without it the numbers would be at least this
#: many points larger (see _fit_bar_to_numbers); and a third digit is written only
#: where it costs the numbers at most DIGIT_PT points of size.
GAIN_PT = 3
DIGIT_PT = 2
CLICK_PX = 4  # a press and release closer than this (Manhattan, pixels) is a click, not a pan
#: The selected cell: black inside the highlight colour, visible on any cell colour.
CELL_COLOURS = (QColor(*HIGHLIGHT), QColor("black"))


class _LinkedCanvas(HeatmapCanvas):
    """The canvas plus the selection's outlines (a cell, a column) and click detection.

    The outlines are plain ``QGraphicsRectItem`` s placed again on every layout (resize,
    zoom, pan, fonts); a left press and release on the same spot is a click (a press
    and drag still pans). Overrides layout and mouse events only, no painting.
    """

    def __init__(self, owner, colorbar: bool = True) -> None:
        self._sel_cell = (-1, -1)
        self._sel_col = -1
        self._sel_pen_w = _FONTS[False]["pen"]
        self._press: QPointF | None = None
        self._cell_items: tuple[QGraphicsRectItem, QGraphicsRectItem] | None = None
        self._col_item: QGraphicsRectItem | None = None
        super().__init__(owner, colorbar=colorbar)
        sc = self.scene()
        self._cell_items = (QGraphicsRectItem(), QGraphicsRectItem())
        self._col_item = QGraphicsRectItem()
        for z, item in ((7.5, self._cell_items[0]), (7.6, self._cell_items[1]),
                        (7.0, self._col_item)):
            item.setZValue(z)
            item.setVisible(False)
            sc.addItem(item)
        self._place_selection()

    def set_selection_marks(self, cell: tuple[int, int], col: int) -> None:
        """Outline cell ``(row, col)`` and column ``col`` (0-based, as drawn; -1: none)."""
        self._sel_cell = (int(cell[0]), int(cell[1]))
        self._sel_col = int(col)
        self._place_selection()

    def selection_items(self) -> list[QGraphicsRectItem]:
        """The visible selection outlines (tests)."""
        items = [*(self._cell_items or ()), self._col_item]
        return [it for it in items if it is not None and it.isVisible()]

    def set_fonts(self, tick_pt: int, label_pt: int, pen_w: float) -> None:
        self._sel_pen_w = pen_w
        super().set_fonts(tick_pt, label_pt, pen_w)

    def relayout(self) -> None:
        super().relayout()
        self._place_selection()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._owner.cells_resized()

    def _place_selection(self) -> None:
        if self._cell_items is None or self._col_item is None:
            return                          # still in the base class's __init__
        p = self.plot_rect()
        r0, r1, c0, c1 = self.view_window()
        cw, ch = p.width() / (c1 - c0), p.height() / (r1 - r0)
        w = self._sel_pen_w
        r, c = self._sel_cell
        show = r0 <= r < r1 and c0 <= c < c1
        for n, (item, colour) in enumerate(zip(self._cell_items, CELL_COLOURS, strict=True)):
            if show:
                inset = n * w  # the black line just inside the coloured one
                item.setRect(QRectF(p.left() + (c - c0) * cw, p.top() + (r - r0) * ch,
                                    cw, ch).adjusted(inset, inset, -inset, -inset))
                pen = QPen(colour, w)
                pen.setCosmetic(True)
                item.setPen(pen)
            item.setVisible(show)
        c = self._sel_col
        show = c0 <= c < c1
        if show:
            self._col_item.setRect(QRectF(p.left() + (c - c0) * cw, p.top(), cw, p.height()))
            pen = QPen(QColor(*HIGHLIGHT), w, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            self._col_item.setPen(pen)
        self._col_item.setVisible(show)

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        left = event.button() == Qt.MouseButton.LeftButton
        self._press = event.position() if left else None
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        press, self._press = self._press, None
        if (event.button() == Qt.MouseButton.LeftButton and press is not None
                and (event.position() - press).manhattanLength() < CLICK_PX):
            self._owner.click_cell(*self.cell_at(press))
        super().mouseReleaseEvent(event)


class Heatmap(QWidget):
    """A signed matrix ``M`` (rows × cols) with title, axis labels, colour bar and readout.

    Signals
    -------
    rowHovered(int) : the 0-based row under the mouse, -1 when it leaves.
    cellHovered(int row, int col) : the 0-based cell under the mouse, as drawn (display
        coordinates); (-1, -1) when it leaves.
    cellClicked(int row, int col) : a left click on a cell (display coordinates).
    """

    rowHovered = Signal(int)
    cellHovered = Signal(int, int)
    cellClicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None, *, colorbar: bool = True) -> None:
        super().__init__(parent)
        self._data = np.zeros((1, 1), dtype=np.float32)  # what is drawn (pooled if big)
        self._full: np.ndarray = self._data  # the matrix as given (exact; big: by reference)
        self._full_clean: np.ndarray | None = self._data
        self._title = ""
        self._title_shown: tuple | None = None   # what _set_title last wrote
        self._labels = ("", "")
        self._mode = "frame"
        self._s: float | None = None  # the scale in use (fixed or the mode's)
        self._mode_s: float | None = None  # the mode's own scale, tracked even while fixed
        self._fixed: float | None = None
        self._locked: float | None = None
        self._nonfinite = 0
        self._hover = (-1, -1)
        self._hover_shown = False
        self._presentation = False
        self._highlighted = False
        self._sel_cell = (-1, -1)
        self._sel_col = -1
        self._sel_rows: list[int] = []
        self._numbers_on = True        # the setting: numbers when they fit
        self._numbers_shown = False    # drawn now
        self._own_texts = False        # set_cell_texts: the caller's texts, no numbers
        self._bar_key: tuple | None = None   # what _fit_bar_to_numbers last decided on
        self._numbers_fit = False     # the shortest numbers fit the cells (unzoomed)
        self._units: tuple[int, int] | None = None  # (power of ten, decimals) in use
        self._export_saved: tuple | None = None
        self._export_info: tuple[int | None, int | None] = (None, None)
        self._blank = True
        self._canvas = _LinkedCanvas(self, colorbar=colorbar)
        self._cell_actions: list[tuple[str, Callable[[int, int], Any]]] = []
        self._title_label = FitLabel(self, _FONTS[False]["title"])
        # shrinks, then elides, in a narrow heatmap; never widens the widget
        self._readout = FitLabel(self, _FONTS[False]["readout"],
                                 align=Qt.AlignmentFlag.AlignLeft, text=" ")
        self._readout_text: str | None = " "   # None: the idle line (readout())
        self._readout_throttle = Throttle(self._show_readout, READOUT_S, self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self._title_label, 0)
        lay.addWidget(self._canvas, 1)
        lay.addWidget(self._readout, 0)
        self._title_label.setToolTip(ZOOM_HELP)
        self._readout.setToolTip(ZOOM_HELP)
        self._canvas.customContextMenuRequested.connect(self._show_menu)
        self._apply_fonts()
        self.reset()

    # ------------------------------------------------------------ public API
    def title_label(self) -> FitLabel:
        return self._title_label

    def graphics_view(self) -> HeatmapCanvas:
        """The drawing (a QGraphicsView: for export and for the cell geometry)."""
        return self._canvas

    def image(self) -> np.ndarray:
        """The RGBA bytes shown, ``(rows, cols, 4)`` uint8."""
        return self._rgba

    def cell_center(self, row: int, col: int) -> QPointF:
        """The centre of cell (row, col) (0-based) in the coordinates of :meth:`graphics_view`."""
        return self._canvas.cell_center(row, col)

    def colorbar(self) -> CanvasColourBar | None:
        return self._canvas.bar

    def set_cell_texts(self, texts: list[list[str]] | None, white=None,
                       font: QFont | None = None) -> None:
        """Write ``texts[r][c]`` into each cell (white text where ``white[r, c]``) instead of
        the numbers; None clears them and gives the numbers back."""
        self._own_texts = texts is not None
        self._numbers_shown = False
        self._canvas.set_cell_texts(texts, white, font)
        if not self._own_texts:
            self._update_numbers()

    # ------------------------------------------------------------ numbers in cells
    def set_show_numbers(self, on: bool) -> None:
        """Numbers in the cells when they fit (True, the default), or never."""
        if bool(on) != self._numbers_on:
            self._numbers_on = bool(on)
            self._update_numbers()

    def show_numbers(self) -> bool:
        """The setting of :meth:`set_show_numbers`."""
        return self._numbers_on

    def numbers_shown(self) -> bool:
        """True while the cells show their numbers (the setting is on and they fit)."""
        return self._numbers_shown

    def cell_numbers(self) -> list[list[str]]:
        """The numbers drawn, one row of the window shown per list ([] if none)."""
        if not self._numbers_shown:
            return []
        r0, r1, c0, c1 = self._canvas.view_window()
        texts = self._canvas.cell_texts()
        w = c1 - c0
        return [texts[i:i + w] for i in range(0, len(texts), w)]

    def power_of_ten(self) -> int:
        """The power of ten the title shows and the numbers share (0: none)."""
        return self._units[0] if self._units is not None else 0

    def title_text(self) -> str:
        """The title as drawn (with the shared power of ten, the non-finite warning)."""
        return self._title_label.text()

    def set_matrix(self, M: np.ndarray, title: str | None = None,
                   row_label: str | None = None, col_label: str | None = None,
                   pooled: np.ndarray | None = None) -> None:
        """Show ``M`` (rows, cols), or a vector (m,) as one row 1×m.

        ``None`` for a label keeps the previous one. ``pooled``: ``M`` already
        shrunk by :func:`~bpviz.gui.pooling.pool_signed` (e.g. on the worker); a
        matrix larger than :meth:`pool_side` is otherwise pooled here. A big ``M``
        is kept by reference: the caller must not change it afterwards (records
        are immutable).
        """
        A = np.asarray(M)
        if A.ndim == 1:
            A = A.reshape(1, -1)
        elif A.ndim != 2:
            raise ValueError(f"a heatmap shows a matrix or a vector, got shape {A.shape}")
        shape_changed = A.shape != self._full.shape
        longest = max(A.shape)   # (pool_side is at least DEFAULT_SIDE: no need to ask below it)
        if pooled is None and (longest <= DEFAULT_SIDE or longest <= self.pool_side()):
            A = np.ascontiguousarray(A, dtype=np.float32)
            self._full, self._full_clean = A, None
            shown = A
        else:  # big: drawn pooled; the exact matrix stays for the readout and the zoom
            self._full, self._full_clean = A, None
            side = self.pool_side()
            P = pool_signed(A, side, side) if pooled is None else np.asarray(pooled)
            shown = np.ascontiguousarray(P.reshape(1, -1) if P.ndim == 1 else P,
                                         dtype=np.float32)
        # pooling keeps each block's extreme: max |shown| == max |M|
        m = float(max(shown.max(), -shown.min())) if shown.size else 0.0
        self._nonfinite = 0
        if not math.isfinite(m):
            bad = ~np.isfinite(shown)
            self._nonfinite = int(bad.sum())
            shown = np.where(bad, np.float32(0), shown)
            m = float(np.abs(shown).max()) if shown.size else 0.0
        if shown is A:
            self._full_clean = A
        self._data = shown
        self._blank = False
        self._mode_s = next_scale(self._mode, m, self._mode_s, self._locked)
        if self._mode == "locked" and self._locked is None:
            self._locked = self._mode_s
        scale_changed = self._show_scale(label=False)   # _recolour labels it, just after
        self._recolour()
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
            self._recolour()
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
        """Forget the data, the mode's scale and the marked columns and rows (a new
        network): shows a blank 1×1 matrix.

        A fixed scale (:meth:`set_fixed_scale`) is a setting, like the mode, and stays.
        """
        self._mode_s = None
        self._locked = None
        self._nonfinite = 0
        self._data = np.zeros((1, 1), dtype=np.float32)
        self._full = self._full_clean = self._data
        self._blank = True
        self._canvas.set_marked_columns([], QColor())
        self._canvas.set_marked_rows([], QColor())
        self._show_scale()
        self._recolour()
        self._update_readout()

    def matrix(self) -> np.ndarray:
        """The whole matrix (rows, cols) as float32, C-contiguous, non-finite entries 0
        (for a big matrix made on the first call after each frame; not what is drawn
        then, see :meth:`shown_matrix`)."""
        if self._full_clean is None:
            A = np.ascontiguousarray(self._full, dtype=np.float32)
            bad = ~np.isfinite(A)
            self._full_clean = np.where(bad, np.float32(0), A) if bad.any() else A
        return self._full_clean

    def shown_matrix(self) -> np.ndarray:
        """What the whole-matrix view draws: :meth:`matrix`, or its pooled form when the
        matrix is larger than the heatmap (per block its extreme entry, sign kept)."""
        return self._data

    def pool_side(self) -> int:
        """Matrices with more rows or columns than this are drawn pooled: the heatmap's
        plot size in device pixels, at least ``DEFAULT_SIDE``."""
        p = self._canvas.plot_rect()
        px = max(p.width(), p.height()) * self.devicePixelRatioF()
        return max(DEFAULT_SIDE, int(math.ceil(px)))

    def plot_side(self) -> int:
        """The larger side of the drawn matrix, in logical pixels (for the view budget)."""
        p = self._canvas.plot_rect()
        return int(math.ceil(max(p.width(), p.height())))

    def view_window(self) -> tuple[int, int, int, int]:
        """``(r0, r1, c0, c1)``: the rows and columns shown (the whole matrix unless zoomed)."""
        return self._canvas.view_window()

    def set_view_window(self, r0: int, r1: int, c0: int, c1: int) -> None:
        """Zoom to rows r0..r1−1 and columns c0..c1−1 (0-based; clamped)."""
        self._canvas.set_view_window(r0, r1, c0, c1)

    def reset_zoom(self) -> None:
        self._canvas.reset_zoom()

    def mark_columns(self, cols: Sequence[int], colour: str | Sequence[str]) -> None:
        """Outline whole columns (0-based; e.g. dead units) in ``colour`` (a Qt colour
        name or ``#rrggbb``, or one per column); an empty sequence clears. Kept across
        frames and zoom."""
        cols = [int(c) for c in cols]
        self._canvas.set_marked_columns(cols, _qcolours(colour))

    def marked_columns(self) -> list[int]:
        return self._canvas.marked_columns()

    def mark_rows(self, rows: Sequence[int], colour: str | Sequence[str]) -> None:
        """Outline whole rows (0-based; e.g. the rows of W of dead units) in ``colour``
        (one, or one per row); an empty sequence clears. Independent of the marked
        columns; kept across frames and zoom."""
        rows = [int(r) for r in rows]
        self._canvas.set_marked_rows(rows, _qcolours(colour))

    def marked_rows(self) -> list[int]:
        return self._canvas.marked_rows()

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
        self._sel_rows = [int(r) for r in rows]
        self._canvas.set_outline_rows(list(self._sel_rows))

    def highlight_cell(self, row: int, col: int) -> None:
        """Outline cell (row, col) (0-based, display coordinates); (-1, -1) clears.
        Kept across frames and zoom."""
        cell = (int(row), int(col)) if row >= 0 and col >= 0 else (-1, -1)
        if cell != self._sel_cell:
            self._sel_cell = cell
            self._canvas.set_selection_marks(self._sel_cell, self._sel_col)

    def highlight_column(self, col: int) -> None:
        """Outline column ``col`` (0-based, display coordinates; dashed, so it differs from
        :meth:`mark_columns`); -1 clears. Kept across frames and zoom."""
        col = int(col) if col >= 0 else -1
        if col != self._sel_col:
            self._sel_col = col
            self._canvas.set_selection_marks(self._sel_cell, self._sel_col)

    def highlighted_cell(self) -> tuple[int, int]:
        """The outlined cell (display coordinates), (-1, -1) if none."""
        return self._sel_cell

    def highlighted_column(self) -> int:
        return self._sel_col

    def highlighted_rows(self) -> list[int]:
        """The rows outlined by :meth:`highlight_rows`."""
        return list(self._sel_rows)

    def click_cell(self, row: int, col: int) -> None:
        """Act as if cell (row, col) (0-based, display coordinates) were clicked: emits
        :attr:`cellClicked` if it is a cell of the matrix."""
        rows, cols = self._full.shape
        if 0 <= row < rows and 0 <= col < cols:
            self.cellClicked.emit(int(row), int(col))

    def set_highlighted(self, on: bool) -> None:
        """A thick frame around the matrix (its symbol was clicked)."""
        self._highlighted = bool(on)
        self._canvas.set_highlighted(on)

    def is_highlighted(self) -> bool:
        return self._highlighted

    def set_presentation(self, on: bool) -> None:
        self._presentation = bool(on)
        self._apply_fonts()
        self._fit_colorbar()
        self._set_title(self._title)
        self._set_labels(*self._labels)
        if self._highlighted:
            self.set_highlighted(True)
        self._update_numbers()

    def hover_cell(self, row: int, col: int) -> str:
        """Act as if the mouse were over cell (row, col) (0-based; -1 = outside).

        Emits :attr:`rowHovered` when the row changes; returns the readout text.
        """
        rows, cols = self._full.shape
        if not (0 <= row < rows and 0 <= col < cols):
            row, col = -1, -1
        changed = row != self._hover[0]
        cell_changed = (row, col) != self._hover
        self._hover = (row, col)
        self._update_readout()
        text = self.readout()
        if changed:
            self.rowHovered.emit(row)
        if cell_changed:
            self.cellHovered.emit(row, col)
        return text

    def readout(self) -> str:
        """The whole readout line, current even while the label waits to show it (the label
        may also show it cut short in a narrow heatmap)."""
        return self._idle_readout() if self._readout_text is None else self._readout_text

    # ------------------------------------------------------------ menus
    def add_cell_action(self, text: str, action: Callable[[int, int], Any]) -> None:
        """Put ``text`` at the top of the right-click menu when it opens over a cell;
        choosing it calls ``action(row, col)`` with that cell (display coordinates)."""
        self._cell_actions.append((text, action))

    def context_menu(self, cell: tuple[int, int] = (-1, -1)) -> QMenu:
        """The right-click menu: the cell actions (if over a cell), export picture, save
        matrix, copy, scale mode."""
        menu = QMenu(self)
        if cell[0] >= 0 and self._cell_actions:
            for text, action in self._cell_actions:
                menu.addAction(f"{text} (row {cell[0] + 1}, column {cell[1] + 1})",
                               lambda a=action: a(*cell))
            menu.addSeparator()
        name = self.file_stem()
        menu.addAction("Export picture (PNG/SVG)…",
                       lambda: export.export_widget_dialog(self, self, name))
        menu.addAction("Save matrix (CSV/.npy)…",
                       lambda: export.save_matrix_dialog(self.matrix(), self, name,
                                                         self.csv_comment()))
        menu.addAction("Copy matrix to clipboard", lambda: export.copy_matrix(self.matrix()))
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
        menu.addSeparator()
        act = menu.addAction(NUMBERS_TEXT, lambda: self.set_show_numbers(not self._numbers_on))
        act.setCheckable(True)
        act.setChecked(self._numbers_on)
        act = menu.addAction("Show the whole matrix (double-click)", self.reset_zoom)
        act.setEnabled(self._canvas.is_zoomed())
        return menu

    def _show_menu(self, pos: QPoint) -> None:
        cell = self._canvas.cell_at(QPointF(pos))
        self.context_menu(cell).exec(self._canvas.mapToGlobal(pos))

    def set_export_info(self, layer: int | None = None, step: int | None = None) -> None:
        """The layer (1-based, as the titles count) and training step of the matrix shown,
        for the default file names and the CSV's first line."""
        self._export_info = (layer, step)

    def file_stem(self) -> str:
        """The default file name, ASCII: ``dW2_layer2_step1500``."""
        return export.matrix_file_stem(self._title or "matrix", *self._export_info)

    def csv_comment(self) -> str:
        """The first line of a saved CSV: matrix, layer, step, shape."""
        name = self._title.split(" — ")[0].strip() or "matrix"
        return export.matrix_comment(name, self._full.shape, *self._export_info)

    # ------------------------------------------------------------ internals
    def _show_scale(self, label: bool = True) -> bool:
        """Take ``s`` from the fixed scale or the mode; label the bar (unless ``label`` is
        False: the caller recolours next, which labels it). True if it changed."""
        s = self._fixed if self._fixed is not None else self._mode_s
        if s is None:
            s = 1.0
        changed = s != self._s
        self._s = s
        if changed and label:  # the power in use if it still suits the new scale, else plain
            e = self.power_of_ten()
            keep = self._numbers_shown and e in (shared_exponent(s), leading_exponent(s))
            self._apply_units(self._numbers_shown, e if keep else None)
        return changed

    def _apply_units(self, numbers: bool, e: int | None = None) -> None:
        """Label the colour bar for the scale in use, in the title's units when it carries
        a power of ten or the bar is compact; put the power of ten in the title. ``e``:
        the numbers' power of ten (default :func:`~.scaling.shared_exponent`)."""
        bar = self._canvas.bar
        s = self.scale()
        compact = bar is not None and bar.is_compact()
        if not (compact or numbers):    # plain numbers on a wide bar: no units to work out
            units = None
        else:
            if e is None or not numbers:   # a compact bar's units: steady while they suit s
                e = steady_exponent(s, self._units[0] if self._units is not None else None) \
                    if compact else shared_exponent(s)
            units = (e, number_decimals(s, e, 2 if compact else 3)) \
                if compact or e != 0 else None
        if units == self._units and (bar is None or (bar.scale() == s and bar.units() == units)):
            return
        power = self.power_of_ten()
        self._units = units
        if bar is not None and bar.set_scale(s, units):
            self._canvas.relayout()  # a label wider than any float32's: once
        if self.power_of_ten() != power:
            self._set_title(self._title)

    def _apply_fonts(self) -> None:
        f = _FONTS[self._presentation]
        self._canvas.set_fonts(f["axis"], f["label"], f["pen"])
        # presentation mode: a title never shrinks below the body text (the floor of
        # fitlabel.body_floor; it drops "= δᵀa/K" and is cut first)
        self._title_label.set_point_size(f["title"])
        self._readout.set_point_size(f["readout"])

    def _set_title(self, title: str) -> None:
        self._title = title
        power = power_text(self.power_of_ten())
        shown = (title, power, self._nonfinite)
        if shown == self._title_shown:   # every frame passes its title: most are the same
            return
        self._title_shown = shown
        if power:  # first: if a narrow heatmap cuts the title, the unit stays
            title = f"({power})  {title}"
        shorter = _shorter_titles(power, self._title)
        if not self._nonfinite:
            self._title_label.set_text(title, shorter=shorter)
            return
        # the warning first: if a narrow heatmap cuts the title, the warning stays
        warn = f"⚠ {self._nonfinite} non-finite → 0"
        self._title_label.set_text(f"{warn}  {title}", f'<span style="color:#c00000">{warn}'
                                   f"</span>&nbsp; {html.escape(title)}",
                                   shorter=tuple(f"{warn}  {t}" for t in shorter))

    def _set_labels(self, row_label: str | None, col_label: str | None) -> None:
        r = self._labels[0] if row_label is None else row_label
        c = self._labels[1] if col_label is None else col_label
        self._labels = (r, c)
        self._canvas.set_labels(r, c)

    def _recolour(self) -> None:
        """Colour what the window shows with the scale in use and hand it to the canvas."""
        cv = self._canvas
        shape = self._full.shape
        if cv.matrix_shape() == shape and cv.is_zoomed():
            r0, r1, c0, c1 = cv.view_window()
            p = cv.plot_rect()
            dpr = self.devicePixelRatioF()
            region = pool_signed(self._full[r0:r1, c0:c1], int(math.ceil(p.height() * dpr)),
                                 int(math.ceil(p.width() * dpr)))
            bad = ~np.isfinite(region)
            if bad.any():
                region = np.where(bad, np.float32(0), region)
            self._rgba = map_signed(region, self._s)
        else:
            self._rgba = map_signed(self._data, self._s)
        cv.set_image(self._rgba, shape)
        self._update_numbers()
        rows, cols = shape
        if self._hover[0] >= rows or self._hover[1] >= cols:
            self.hover_cell(-1, -1)

    def _update_numbers(self) -> None:
        """Write the numbers of the window shown into its cells if they fit, and set the
        shared power of ten of the title and the colour bar (see the module notes)."""
        cv = self._canvas
        self._fit_bar_to_numbers()
        s = self.scale()
        e = shared_exponent(s)
        shown = False
        r0, r1, c0, c1 = cv.view_window()
        if ((self._numbers_fit or cv.is_zoomed())   # (cells too small: no numbers to try)
                and self._numbers_on and not self._own_texts and not self._blank
                and cv.matrix_shape() == self._full.shape
                and (r1 - r0) * (c1 - c0) <= MAX_NUMBERED
                and self._rgba.shape[:2] == (r1 - r0, c1 - c0)):   # one pixel per cell
            # (in presentation mode at least NUMBER_PT's 12 pt, above any size of normal
            # mode; not the body text's floor, which would leave a small matrix's cells
            # of a small projector without numbers)
            hi, lo = NUMBER_PT[self._presentation]
            font = None
            # 3 digits, else 2, else 2 with a power of ten that makes them shortest
            # ("−6.5", × 10⁻¹, where "−0.65" does not fit); a shorter form also where
            # the longer one would be more than DIGIT_PT points smaller (the back row
            # reads "7.7" in large type better than "7.70" in small)
            tries = [(e, 3), (e, 2)]
            lead = leading_exponent(s)
            if lead != e:
                tries.append((lead, 2))
            fitted = []
            for e_try, digits in tries:
                d = number_decimals(s, e_try, digits)
                f = cv.fit_cell_font(_widest_number(s, e_try, d), hi, lo)
                if f is not None:
                    fitted.append((f, e_try, d))
                    if f.pointSizeF() >= hi:   # the largest size: nothing shorter reads better
                        break
            if fitted:
                best = max(f.pointSizeF() for f, _, _ in fitted)
                font, e, dec = next(c for c in fitted if c[0].pointSizeF() >= best - DIGIT_PT)
            if font is not None:
                texts = format_numbers(self._full[r0:r1, c0:c1], e, dec)
                cv.set_cell_texts(texts, white_text(self._rgba), font, (r0, c0))
                shown = True
        if not shown and self._numbers_shown:
            cv.set_cell_texts(None)
        self._numbers_shown = shown
        self._apply_units(shown, e)

    def _fit_bar_to_numbers(self) -> None:
        """A heatmap whose cells can show their numbers only without the colour bar (a
        2×2 W in a row of ten heatmaps on a projector), or clearly larger without it
        (:data:`GAIN_PT`), gives the bar's room to them: the numbers, and "±s" under the
        heatmap, say what the bar said. The bar comes back
        when the heatmap widens or the numbers go. Decided on the shortest numbers
        ("−8.8", whatever the scale), so the bar does not come and go with the data."""
        cv = self._canvas
        bar = cv.bar
        key = (cv.viewport().size(), cv.matrix_shape(), self._labels, self._presentation,
               self._numbers_on, self._own_texts, self._blank, cv.is_zoomed(),
               bar is not None and bar.is_compact())
        if key == self._bar_key:
            return
        self._bar_key = key
        rows, cols = cv.matrix_shape()
        hi, lo = NUMBER_PT[self._presentation]
        pt = {}   # the shortest numbers' size with and without the bar (None: no fit)
        for b in ((True, False) if bar is not None else (False,)):
            font = cv.fit_cell_font(SHORTEST_NUMBER, hi, lo, cv.plot_cell_size(b))
            pt[b] = None if font is None else font.pointSizeF()
        give_way = (bar is not None and self._numbers_on and not self._own_texts
                    and not self._blank and not cv.is_zoomed() and rows * cols <= MAX_NUMBERED
                    and pt[False] is not None
                    # no numbers beside the bar, or clearly larger ones without it
                    and (pt[True] is None or pt[False] >= pt[True] + GAIN_PT))
        cv.set_bar_shown(not give_way)
        self._numbers_fit = pt[cv.bar_shown()] is not None

    def colorbar_shown(self) -> bool:
        """False while the colour bar has given its room to the numbers in the cells."""
        return self._canvas.bar_shown()

    def cells_resized(self) -> None:
        """The canvas has a new size: the numbers may fit now, or no longer."""
        if not self._own_texts:
            self._update_numbers()

    def window_changed(self) -> None:
        """The canvas zoomed or panned: draw the new window."""
        self._recolour()

    def _update_readout(self) -> None:
        row, col = self._hover
        if row < 0:
            # idle: "colour scale ±s", written when the label next shows it (the scale
            # changes every frame; the line a few times a second)
            self._readout_text = None
            if self._hover_shown:
                self._hover_shown = False
                QToolTip.hideText()
            self._readout_throttle.request()
            return
        r_name = (self._labels[0].split() or ["row"])[-1]
        c_name = (self._labels[1].split() or ["col"])[-1]
        v = float(self._full[row, col])  # the exact entry, at any zoom
        text = (f"{r_name} = {row + 1}, {c_name} = {col + 1}:  {format_value(v)}"
                f"   (scale ±{format_value(self.scale())})")
        if self.isVisible() and self.underMouse():
            self._hover_shown = True
            QToolTip.showText(QCursor.pos(), text, self._canvas)
        self._readout_text = text
        self._readout_throttle.flush()   # the mouse moved: at once

    def _idle_readout(self) -> str:
        return f"colour scale ±{format_value(self.scale())}"

    def _show_readout(self) -> None:
        # a narrow heatmap keeps the number: "±0.0123" rather than "colour scale …"
        self._readout.set_text(self.readout(), shorter=(f"±{format_value(self.scale())}",))

    def set_export_mode(self, on: bool) -> None:
        """For a picture (:func:`~.export.export_widget`): on shows no hover readout (the
        idle line instead), no selection outlines and no highlight frame; off puts them
        back as they were."""
        cv = self._canvas
        if on and self._export_saved is None:
            self._export_saved = (self._sel_cell, self._sel_col, list(self._sel_rows),
                                  self._highlighted)
            QToolTip.hideText()
            self._readout.set_text(self._idle_readout())
            cv.set_selection_marks((-1, -1), -1)
            cv.set_outline_rows([])
            cv.set_highlighted(False)
        elif not on and self._export_saved is not None:
            cell, col, rows, lit = self._export_saved
            self._export_saved = None
            self._readout.set_text(self.readout())
            cv.set_selection_marks(cell, col)
            cv.set_outline_rows(rows)
            cv.set_highlighted(lit)

    def _mouse_moved(self, pos: QPointF) -> None:
        """The mouse is at ``pos`` (canvas coordinates)."""
        self.hover_cell(*self._canvas.cell_at(pos))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._fit_colorbar()
        if self._canvas.is_zoomed():
            self._recolour()

    def _fit_colorbar(self) -> None:
        """Narrow heatmaps get the compact bar ("+", "0", "−"; ±s is in the readout line)."""
        bar = self._canvas.bar
        if bar is not None:
            limit = COMPACT_BELOW_PX[self._presentation]
            if bar.set_compact(0 < self.width() < limit):
                self._apply_units(self._numbers_shown)  # compact: in the title's units
                self._canvas.relayout()
                self._update_numbers()

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.hover_cell(-1, -1)
        super().leaveEvent(event)


def _widest_number(s: float, e: int, decimals: int) -> str:
    """The widest number of a heatmap of scale ``s``: ``−s`` in its units, digits as 8."""
    text = f"−{abs(s) / 10.0 ** e:.{decimals}f}"
    return "".join("8" if ch.isdigit() else ch for ch in text)


def _shorter_titles(power: str, title: str) -> tuple[str, ...]:
    """Shorter forms of a title ``"name = formula — shape"`` that keep its shape: without
    the formula and any "(out×in)", then without the dash, then without the space after
    the power of ten, which keeps its parentheses ("×10⁻⁴ dW¹" would read as a product)
    (:class:`FitLabel` tries them when the whole title does not fit)."""
    head, sep, shape = title.rpartition(" — ")
    if not sep:
        return ()
    name = head.split(" = ")[0].split(" (")[0].strip()
    unit = f"({power.replace(' ', '')}) " if power else ""
    forms = (f"{unit}{name} — {shape}", f"{unit}{name} {shape}",
             f"{unit.strip()}{name} {shape}")
    return tuple(f for f in dict.fromkeys(forms) if f != title)


def _qcolours(colour: str | Sequence[str]) -> QColor | list[QColor]:
    """One QColor for a colour name, or one per mark for a sequence of names."""
    if isinstance(colour, str):
        return QColor(colour)
    return [QColor(c) for c in colour]
