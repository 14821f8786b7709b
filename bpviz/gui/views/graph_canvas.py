"""The drawing of the network graph, in plain Qt graphics items that Qt paints without Python.

As in :mod:`.heatmap_canvas`, the scene holds only Qt's own C++ items (lines,
ellipses, rectangles, pixmaps, simple texts) and the view overrides no paint
method, so Qt paints it with the GIL released while the worker trains. The
items are made once per network (:meth:`GraphCanvas.set_structure`), placed
once per resize, and per frame only their pens and brushes change — and only
for the items whose colour index or width step changed.

Columns: column 0 holds the inputs ``x_j`` (``a⁰``), column ``c = l + 1`` the
neurons of engine layer ``l`` (shown as layer ``l + 1``). Edge ``(l, i, j)``
joins neuron ``j`` of column ``l`` to neuron ``i`` of column ``l + 1``: the
weight ``W[i, j]`` of engine layer ``l`` (out × in). A layer with more than
:data:`EDGE_LIMIT` edges draws only the :data:`TOP_K` strongest per neuron;
a column of more than :data:`MAX_NODE_ITEMS` neurons is drawn as a strip of
cells instead of circles. Scene coordinates are viewport pixels.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen, QTransform
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsEllipseItem,
    QGraphicsLineItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
)

from .colormaps import HIGHLIGHT, diverging_lut, map_signed, signed_index
from .heatmap_canvas import rgba_pixmap

#: A layer with more edges than this draws only the strongest ones per neuron.
EDGE_LIMIT = 400
#: How many edges into each neuron a thinned layer draws.
TOP_K = 3
#: A column with more neurons than this is drawn as a strip of cells.
MAX_NODE_ITEMS = 40
#: Width steps of an edge (|v|/s in [0, 1] -> step 0..WIDTH_STEPS-1).
WIDTH_STEPS = 12
#: Above this many drawn edges the view is painted without antialiasing (~2× faster to paint).
SMOOTH_EDGE_LIMIT = 300
HIT_PX = 6.0  # how near the pointer must be to an edge

_SIZES = {False: {"r": 15.0, "map": 54.0, "bias": 10.0, "w": (0.6, 6.0), "strip": 12.0,
                  "label": 10, "head": 10},
          True: {"r": 24.0, "map": 76.0, "bias": 15.0, "w": (1.0, 10.0), "strip": 20.0,
                 "label": 16, "head": 16}}


def _pen(color: QColor, width: float) -> QPen:
    pen = QPen(color)
    pen.setWidthF(width)
    pen.setCosmetic(True)
    pen.setCapStyle(Qt.PenCapStyle.FlatCap)  # round caps cost Qt's raster engine ~4× the paint
    return pen


def _rgb(idx: int) -> QColor:
    r, g, b = (int(v) for v in diverging_lut()[idx])
    return QColor(r, g, b)


class _Column:
    """The geometry and items of one column (inputs or one layer's neurons)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.strip = n > MAX_NODE_ITEMS
        self.x = 0.0                      # centre of the node circles (or of the strip)
        self.ys = np.zeros(n)             # centre of each neuron
        self.r = 0.0                      # circle radius (half the strip width for strips)
        self.out_x = 0.0                  # where outgoing edges start
        self.in_x = 0.0                   # where incoming edges end
        self.nodes: list[QGraphicsEllipseItem] = []
        self.biases: list[QGraphicsRectItem] = []
        self.maps: list[QGraphicsPixmapItem] = []
        self.labels: list[QGraphicsSimpleTextItem] = []
        self.strip_item: QGraphicsPixmapItem | None = None
        self.strip_frame: QGraphicsRectItem | None = None
        self.bias_strip: QGraphicsPixmapItem | None = None
        self.keys = np.full(n, -1, np.int32)
        self.bias_keys = np.full(n, -1, np.int32)
        self.header: QGraphicsSimpleTextItem | None = None


class _Edges:
    """The line items of one layer: every edge, or TOP_K per neuron when thinned."""

    def __init__(self, m: int, n: int) -> None:
        self.m, self.n = m, n
        self.k = TOP_K if m * n > EDGE_LIMIT and n > TOP_K else 0   # 0: every edge
        count = m * self.k if self.k else m * n
        self.items: list[QGraphicsLineItem] = []
        if self.k:                         # which (i, j) each line shows: chosen per frame
            self.ij = np.full((count, 2), -1, np.int64)
        else:                              # line q = i·n + j, the order of V.ravel()
            self.ij = np.column_stack([np.repeat(np.arange(m), n), np.tile(np.arange(n), m)])
        self.keys = np.full(count, -1, np.int64)
        self.seg = np.zeros((count, 4))    # x1, y1, x2, y2 in viewport pixels

    @property
    def thinned(self) -> bool:
        return self.k > 0


class GraphCanvas(QGraphicsView):
    """Nodes, edges, biases and per-neuron maps of a layered network.

    Signals
    -------
    hovered(object) : ``("edge", layer, i, j)``, ``("node", column, i)`` or None.
    clicked(object) : the same, on a left click.
    """

    hovered = Signal(object)
    clicked = Signal(object)
    doubleClicked = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setBackgroundBrush(QBrush(QColor("white")))
        self.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self.setMouseTracking(True)
        self._big = False
        self._cols: list[_Column] = []
        self._edges: list[_Edges] = []
        self._maps_on = False
        self._headers: list[str] = []
        self._labels: list[list[str]] = []
        self._pens: dict[int, QPen] = {}
        self._brushes: dict[int, QBrush] = {}
        self._font = QFont()
        self._head_font = QFont()
        self._last_hit: tuple | None = None
        self._side = 0.0                   # side of the per-neuron maps, in pixels
        sel = QColor(*HIGHLIGHT)
        hov = QColor(*HIGHLIGHT, 140)
        self._sel_edge = self._overlay_line(_pen(sel, 4.0), 9)
        self._hov_edge = self._overlay_line(_pen(hov, 6.0), 8)
        self._sel_node = self._overlay_ring(_pen(sel, 3.0), 9)
        self._hov_node = self._overlay_ring(_pen(hov, 3.0), 8)
        self._sel: dict[str, tuple | None] = {"edge": None, "node": None}
        self._hov: dict[str, tuple | None] = {"edge": None, "node": None}
        self._apply_fonts()

    # ------------------------------------------------------------ structure
    def set_structure(self, sizes: list[int], headers: list[str], labels: list[list[str]],
                      maps: bool) -> None:
        """Make the items of a network with column sizes ``sizes`` (``[n0, m1, ..., mL]``).

        ``headers`` is one title per column, ``labels[c]`` the texts beside the
        neurons of column c (empty: none); ``maps`` gives every neuron of columns
        1..L a small map (2-D data).
        """
        sc = self.scene()
        for col in self._cols:
            for item in (*col.nodes, *col.biases, *col.maps, *col.labels, col.header,
                         col.strip_item, col.strip_frame, col.bias_strip):
                if item is not None:
                    sc.removeItem(item)
        for e in self._edges:
            for item in e.items:
                sc.removeItem(item)
        self._cols = [_Column(int(n)) for n in sizes]
        self._edges = [_Edges(int(sizes[c + 1]), int(sizes[c])) for c in range(len(sizes) - 1)]
        self._headers, self._labels, self._maps_on = list(headers), list(labels), bool(maps)
        drawn = sum(len(e.keys) for e in self._edges)
        self.setRenderHint(QPainter.RenderHint.Antialiasing, drawn <= SMOOTH_EDGE_LIMIT)
        black = _pen(QColor("black"), 1.0)
        for e in self._edges:
            for _ in range(len(e.keys)):
                line = QGraphicsLineItem()
                line.setZValue(1)
                line.setPen(self._edge_pen(128, 0))
                sc.addItem(line)
                e.items.append(line)
        for c, col in enumerate(self._cols):
            col.header = self._text(self._head_font)
            col.header.setText(headers[c] if c < len(headers) else "")
            if col.strip:
                col.strip_item = QGraphicsPixmapItem()
                col.strip_item.setZValue(3)
                col.strip_frame = QGraphicsRectItem()
                col.strip_frame.setPen(black)
                col.strip_frame.setZValue(4)
                sc.addItem(col.strip_item)
                sc.addItem(col.strip_frame)
                if c > 0:
                    col.bias_strip = QGraphicsPixmapItem()
                    col.bias_strip.setZValue(3)
                    sc.addItem(col.bias_strip)
                self._set_strip(col, np.zeros(col.n, np.float32), 1.0)
                if c > 0:
                    self._set_bias_strip(col, np.zeros(col.n, np.float32), 1.0)
            else:
                for _ in range(col.n):
                    node = QGraphicsEllipseItem()
                    node.setPen(black)
                    node.setBrush(self._brush(128))
                    node.setZValue(3)
                    sc.addItem(node)
                    col.nodes.append(node)
                    if c > 0:
                        bias = QGraphicsRectItem()
                        bias.setPen(black)
                        bias.setBrush(self._brush(128))
                        bias.setZValue(4)
                        sc.addItem(bias)
                        col.biases.append(bias)
                        if maps:
                            pix = QGraphicsPixmapItem()
                            pix.setZValue(3)
                            pix.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
                            sc.addItem(pix)
                            col.maps.append(pix)
            texts = labels[c] if c < len(labels) else []
            for t in texts:
                item = self._text(self._font)
                item.setText(t)
                col.labels.append(item)
        self._last_hit = None
        for d in (self._sel, self._hov):
            d["edge"] = d["node"] = None
        self.relayout()

    def set_headers(self, headers: list[str]) -> None:
        self._headers = list(headers)
        for col, h in zip(self._cols, headers, strict=False):
            col.header.setText(h)
        self.relayout()

    def set_presentation(self, on: bool) -> None:
        self._big = bool(on)
        self._pens.clear()
        self._apply_fonts()
        for e in self._edges:
            e.keys[:] = -1                 # pens are rebuilt at the new widths on the next frame
        self.relayout()

    def columns(self) -> list[int]:
        return [c.n for c in self._cols]

    def thinned(self, layer: int) -> int:
        """How many edges per neuron layer ``layer`` draws (0: every edge)."""
        return self._edges[layer].k

    # ------------------------------------------------------------ per frame
    def set_edges(self, layer: int, V: np.ndarray, s: float) -> None:
        """Colour edge (i, j) of ``layer`` by ``V[i, j]`` (m×n) on levels ±s, width by |V|/s."""
        e = self._edges[layer]
        V = np.asarray(V, dtype=np.float32)
        if e.thinned:
            top = np.argpartition(-np.abs(V), e.k - 1, axis=1)[:, :e.k]      # (m, k)
            ij = np.column_stack([np.repeat(np.arange(e.m), e.k), top.ravel()])
            moved = np.flatnonzero((ij != e.ij).any(axis=1))
            e.ij = ij
            for q in moved:
                self._place_edge(e, layer, int(q))
            vals = V[ij[:, 0], ij[:, 1]]
        else:
            vals = V.ravel()
        idx = signed_index(vals, s).astype(np.int64)
        step = np.clip(np.rint(np.abs(vals) / (s if s > 0 else 1.0) * (WIDTH_STEPS - 1)),
                       0, WIDTH_STEPS - 1).astype(np.int64)
        keys = idx * WIDTH_STEPS + step
        for q in np.flatnonzero(keys != e.keys):
            e.items[q].setPen(self._pen_for(int(keys[q])))
        e.keys = keys

    def set_nodes(self, column: int, values: np.ndarray, s: float) -> None:
        """Fill the neurons of ``column`` with ``values`` (n,) on levels ±s."""
        col = self._cols[column]
        if col.strip:
            self._set_strip(col, values, s)
            return
        idx = signed_index(np.asarray(values, dtype=np.float32), s).astype(np.int32)
        for q in np.flatnonzero(idx != col.keys):
            col.nodes[q].setBrush(self._brush(int(idx[q])))
        col.keys = idx

    def set_biases(self, column: int, values: np.ndarray, s: float) -> None:
        """The bias squares of ``column`` (≥ 1) coloured by ``values`` (m,) on levels ±s."""
        col = self._cols[column]
        if col.strip:
            self._set_bias_strip(col, values, s)
            return
        idx = signed_index(np.asarray(values, dtype=np.float32), s).astype(np.int32)
        for q in np.flatnonzero(idx != col.bias_keys):
            col.biases[q].setBrush(self._brush(int(idx[q])))
        col.bias_keys = idx

    def set_maps(self, column: int, maps: np.ndarray | None, s: float) -> None:
        """Per-neuron maps of ``column``: ``maps`` (g, g, m), row 0 = lowest y; None hides them."""
        col = self._cols[column]
        if not col.maps:
            return
        if maps is None:
            for pix in col.maps:
                pix.setVisible(False)
            return
        rgba = map_signed(np.asarray(maps, dtype=np.float32)[::-1], s)    # top row = highest y
        for i, pix in enumerate(col.maps):
            pix.setPixmap(rgba_pixmap(rgba[:, :, i]))
            pix.setVisible(True)
        self._place_maps(col)

    # ------------------------------------------------------------ reading back (tests)
    def edge_pen(self, layer: int, i: int, j: int) -> QPen | None:
        """The pen of the drawn edge (layer, i, j), or None if it is not drawn."""
        e = self._edges[layer]
        hit = np.flatnonzero((e.ij[:, 0] == i) & (e.ij[:, 1] == j))
        return e.items[int(hit[0])].pen() if len(hit) else None

    def node_brush(self, column: int, i: int) -> QColor:
        col = self._cols[column]
        if col.strip:
            return col.strip_item.pixmap().toImage().pixelColor(0, i)
        return col.nodes[i].brush().color()

    def bias_brush(self, column: int, i: int) -> QColor:
        col = self._cols[column]
        if col.strip:
            return col.bias_strip.pixmap().toImage().pixelColor(0, i)
        return col.biases[i].brush().color()

    def map_items(self, column: int) -> list[QGraphicsPixmapItem]:
        return list(self._cols[column].maps)

    def labels(self, column: int) -> list[str]:
        return [t.text() for t in self._cols[column].labels if t.isVisible()]

    def headers(self) -> list[str]:
        return [c.header.text() for c in self._cols]

    def edge_point(self, layer: int, i: int, j: int, t: float = 0.5) -> QPointF:
        """The point a fraction ``t`` along edge (layer, i, j), in viewport pixels."""
        a, b = self._cols[layer], self._cols[layer + 1]
        x1, y1, x2, y2 = a.out_x, a.ys[j], b.in_x, b.ys[i]
        return QPointF(x1 + t * (x2 - x1), y1 + t * (y2 - y1))

    def node_point(self, column: int, i: int) -> QPointF:
        col = self._cols[column]
        return QPointF(col.x, col.ys[i])

    def selected(self) -> dict[str, tuple | None]:
        return dict(self._sel)

    def items_count(self) -> int:
        return len(self.scene().items())

    # ------------------------------------------------------------ highlights
    def set_selection(self, kind: str, key: tuple | None, hover: bool = False) -> None:
        """Outline edge ``(layer, i, j)`` or node ``(column, i)``; None removes it."""
        (self._hov if hover else self._sel)[kind] = key
        self._place_overlays()

    # ------------------------------------------------------------ hit testing
    def hit(self, pos: QPointF) -> tuple | None:
        """``("node", column, i)``, ``("edge", layer, i, j)`` under ``pos``, or None."""
        x, y = pos.x(), pos.y()
        for c, col in enumerate(self._cols):
            if col.n == 0 or not (col.in_x - 2 <= x <= col.out_x + 2):
                continue
            pitch = (col.ys[1] - col.ys[0]) if col.n > 1 else np.inf
            half = pitch / 2 if col.strip else min(max(col.r, self._side / 2 if col.maps
                                                       else 0.0) + 2, pitch / 2)
            i = int(np.argmin(np.abs(col.ys - y)))
            if abs(col.ys[i] - y) <= half:
                return ("node", c, i)
        for layer, e in enumerate(self._edges):
            a, b = self._cols[layer], self._cols[layer + 1]
            if not (a.out_x - 1 <= x <= b.in_x + 1) or not len(e.seg):
                continue
            x1, y1, x2, y2 = e.seg.T
            dx, dy = x2 - x1, y2 - y1
            t = np.clip(((x - x1) * dx + (y - y1) * dy) / np.maximum(dx * dx + dy * dy, 1e-9),
                        0, 1)
            d = np.hypot(x1 + t * dx - x, y1 + t * dy - y)
            d = np.where(e.ij[:, 0] >= 0, d, np.inf)
            q = int(np.argmin(d))
            if d[q] <= HIT_PX:
                return ("edge", layer, int(e.ij[q, 0]), int(e.ij[q, 1]))
        return None

    # ------------------------------------------------------------ layout
    def relayout(self) -> None:
        """Place every item for the current size, sizes and fonts (once per resize)."""
        w, h = max(self.viewport().width(), 1), max(self.viewport().height(), 1)
        self.scene().setSceneRect(0, 0, w, h)
        if not self._cols:
            return
        z = _SIZES[self._big]
        fm = QFontMetricsF(self._font)
        fh = self._fit_headers(w)
        top = fh.height() * max(len(c.header.text().split("\n")) for c in self._cols) + 6
        bottom = 6.0
        left_lab = max((fm.horizontalAdvance(t) for t in self._labels[0]), default=0.0) \
            if self._labels else 0.0
        right_lab = max((fm.horizontalAdvance(t) for t in self._labels[-1]), default=0.0) \
            if len(self._labels) == len(self._cols) else 0.0
        span_h = max(h - top - bottom, 10.0)
        ncol = len(self._cols)
        # radius: the largest that fits the fullest circle column and the size table
        r = z["r"]
        for col in self._cols:
            if not col.strip and col.n:
                r = min(r, 0.42 * span_h / col.n)
        r = max(r, 2.5)
        side = 0.0
        if self._maps_on:
            side = z["map"]
            for col in self._cols[1:]:
                if not col.strip and col.n:
                    side = min(side, 0.92 * span_h / col.n)
            side = max(side, 8.0)
            r = min(r, max(side / 2.6, 2.5))
        left = 6 + left_lab + 6 + r
        head_last = self._text_width(fh, self._headers[-1]) / 2 if self._headers else 0
        right = 6 + max(right_lab + 6 + r + (side + 3 if self._maps_on else 0), head_last)
        xs = np.linspace(left, max(w - right, left + 1), ncol) if ncol > 1 else np.array([w / 2])
        for c, col in enumerate(self._cols):
            col.x = float(xs[c])
            pitch = span_h / max(col.n, 1)
            col.ys = top + (np.arange(col.n) + 0.5) * pitch
            if col.strip:
                col.r = z["strip"] / 2
                rect = QRectF(col.x - col.r, top, 2 * col.r, span_h)
                col.strip_item.setPos(rect.topLeft())
                col.strip_item.setTransform(QTransform.fromScale(rect.width(), pitch))
                col.strip_frame.setRect(rect)
                col.in_x, col.out_x = rect.left(), rect.right()
                if col.bias_strip is not None:
                    bw = z["bias"]
                    col.bias_strip.setPos(rect.left() - bw - 2, top)
                    col.bias_strip.setTransform(QTransform.fromScale(bw, pitch))
                    col.in_x = rect.left() - bw - 2
            else:
                col.r = r
                col.in_x, col.out_x = col.x - r, col.x + r
                for i, node in enumerate(col.nodes):
                    node.setRect(QRectF(col.x - r, col.ys[i] - r, 2 * r, 2 * r))
                bs = min(z["bias"], max(0.8 * r, 4.0))
                for i, bias in enumerate(col.biases):
                    bias.setRect(QRectF(col.x - r - bs * 0.35, col.ys[i] - r - bs * 0.35, bs, bs))
                if col.maps:
                    col.out_x = col.x + r + 3 + side
            self._place_labels(c, col, fm)
            hw = self._text_width(fh, col.header.text())
            hx = min(max(col.x - hw / 2, 2.0), w - hw - 2)
            col.header.setPos(hx, 2)
        self._side = side
        for col in self._cols:
            self._place_maps(col)
        for layer, e in enumerate(self._edges):
            for q in range(len(e.items)):
                self._place_edge(e, layer, q)
        self._place_overlays()

    @staticmethod
    def _text_width(fm: QFontMetricsF, text: str) -> float:
        return max((fm.horizontalAdvance(t) for t in text.split("\n")), default=0.0)

    def _fit_headers(self, w: float) -> QFontMetricsF:
        """Shrink the column titles' font (down to 7 pt) until each fits its column's width."""
        font = QFont(self._head_font)
        room = (w - 12) / max(len(self._cols), 1) - 8
        widest = max((self._text_width(QFontMetricsF(font), c.header.text())
                      for c in self._cols), default=0.0)
        while font.pointSize() > 7 and widest > room:
            font.setPointSize(font.pointSize() - 1)
            widest = max(self._text_width(QFontMetricsF(font), c.header.text())
                         for c in self._cols)
        for c in self._cols:
            c.header.setFont(font)
        return QFontMetricsF(font)

    def _place_labels(self, c: int, col: _Column, fm: QFontMetricsF) -> None:
        if not col.labels:
            return
        pitch = (col.ys[1] - col.ys[0]) if col.n > 1 else fm.height()
        every = max(1, int(np.ceil(fm.height() / max(pitch, 1e-6))))
        for i, t in enumerate(col.labels):
            y = col.ys[i] - fm.height() / 2
            if c == 0:
                x = col.in_x - 6 - fm.horizontalAdvance(t.text())
            else:
                x = (col.out_x if col.maps else col.x + col.r) + 6
            t.setPos(x, y)
            t.setVisible(i % every == 0 or i == col.n - 1 and (col.n - 1) % every >= every / 2)

    def _place_maps(self, col: _Column) -> None:
        side = self._side
        for i, pix in enumerate(col.maps):
            pm = pix.pixmap()
            if pm.isNull():
                continue
            pix.setPos(col.x + col.r + 3, col.ys[i] - side / 2)
            pix.setTransform(QTransform.fromScale(side / pm.width(), side / pm.height()))

    def _place_edge(self, e: _Edges, layer: int, q: int) -> None:
        i, j = int(e.ij[q, 0]), int(e.ij[q, 1])
        item = e.items[q]
        if i < 0:
            item.setVisible(False)
            return
        a, b = self._cols[layer], self._cols[layer + 1]
        seg = (a.out_x, float(a.ys[j]), b.in_x, float(b.ys[i]))
        e.seg[q] = seg
        item.setLine(QLineF(*seg))
        item.setVisible(True)

    def _place_overlays(self) -> None:
        for d, line, ring in ((self._sel, self._sel_edge, self._sel_node),
                              (self._hov, self._hov_edge, self._hov_node)):
            key = d["edge"]
            ok = key is not None and 0 <= key[0] < len(self._edges)
            if ok:
                layer, i, j = key
                a, b = self._cols[layer], self._cols[layer + 1]
                ok = 0 <= i < b.n and 0 <= j < a.n
            if ok:
                line.setLine(QLineF(a.out_x, a.ys[j], b.in_x, b.ys[i]))
            line.setVisible(ok)
            key = d["node"]
            ok = key is not None and 0 <= key[0] < len(self._cols) \
                and 0 <= key[1] < self._cols[key[0]].n
            if ok:
                col = self._cols[key[0]]
                rr = col.r + 3
                y = col.ys[key[1]]
                if col.strip:
                    pitch = (col.ys[1] - col.ys[0]) if col.n > 1 else 4
                    ring.setRect(QRectF(col.x - rr, y - pitch / 2 - 1, 2 * rr, pitch + 2))
                else:
                    ring.setRect(QRectF(col.x - rr, y - rr, 2 * rr, 2 * rr))
            ring.setVisible(ok)

    # ------------------------------------------------------------ internals
    def _overlay_line(self, pen: QPen, z: float) -> QGraphicsLineItem:
        item = QGraphicsLineItem()
        item.setPen(pen)
        item.setZValue(z)
        item.setVisible(False)
        self.scene().addItem(item)
        return item

    def _overlay_ring(self, pen: QPen, z: float) -> QGraphicsEllipseItem:
        item = QGraphicsEllipseItem()
        item.setPen(pen)
        item.setZValue(z)
        item.setVisible(False)
        self.scene().addItem(item)
        return item

    def _text(self, font: QFont) -> QGraphicsSimpleTextItem:
        t = QGraphicsSimpleTextItem()
        t.setFont(font)
        t.setBrush(QColor("black"))
        t.setZValue(6)
        self.scene().addItem(t)
        return t

    def _apply_fonts(self) -> None:
        z = _SIZES[self._big]
        self._font.setPointSize(z["label"])
        self._head_font.setPointSize(z["head"])
        self._head_font.setBold(True)
        for col in self._cols:
            col.header.setFont(self._head_font)
            for t in col.labels:
                t.setFont(self._font)

    def _edge_width(self, step: int) -> float:
        lo, hi = _SIZES[self._big]["w"]
        return lo + (hi - lo) * step / (WIDTH_STEPS - 1)

    def _edge_pen(self, idx: int, step: int) -> QPen:
        return _pen(_rgb(idx), self._edge_width(step))

    def _pen_for(self, key: int) -> QPen:
        pen = self._pens.get(key)
        if pen is None:
            pen = self._pens[key] = self._edge_pen(key // WIDTH_STEPS, key % WIDTH_STEPS)
        return pen

    def _brush(self, idx: int) -> QBrush:
        br = self._brushes.get(idx)
        if br is None:
            br = self._brushes[idx] = QBrush(_rgb(idx))
        return br

    def _set_strip(self, col: _Column, values: np.ndarray, s: float) -> None:
        rgba = map_signed(np.asarray(values, dtype=np.float32).reshape(-1, 1), s)
        col.strip_item.setPixmap(rgba_pixmap(rgba))

    def _set_bias_strip(self, col: _Column, values: np.ndarray, s: float) -> None:
        rgba = map_signed(np.asarray(values, dtype=np.float32).reshape(-1, 1), s)
        col.bias_strip.setPixmap(rgba_pixmap(rgba))

    # ------------------------------------------------------------ events
    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self.relayout()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        hit = self.hit(event.position())
        if hit != self._last_hit:
            self._last_hit = hit
            self.hovered.emit(hit)
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self._last_hit is not None:
            self._last_hit = None
            self.hovered.emit(None)
        super().leaveEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.button() == Qt.MouseButton.LeftButton:
            hit = self.hit(event.position())
            if hit is not None:
                self.doubleClicked.emit(hit)
        super().mouseDoubleClickEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.button() == Qt.MouseButton.LeftButton:
            hit = self.hit(event.position())
            if hit is not None:
                self.clicked.emit(hit)
        super().mousePressEvent(event)
