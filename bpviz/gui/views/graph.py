"""The network as a graph: neurons as nodes, one column per layer, weights as arrows.

The bridge to the matrices: the arrow from input j into neuron i of layer l is
the entry ``W^l[i, j]`` (row i, column j of the out × in matrix; row j,
column i in the in × out notation) — the same number the W heatmap of that
layer shows in cell (i, j), in the same colour: every layer's arrows use the
diverging map (:func:`~.colormaps.map_signed`) with that layer's symmetric
per-frame scale ``s = max|W|``, as the heatmap does. Arrows are thicker for
larger ``|W|``. A switch shows ``dW`` (this use's gradient, the dW heatmap) or
the plain gradient step ``−η·dW`` instead. The small square on each neuron is
its bias ``b_i`` (``db_i``, ``−η·db_i``) on the same scale as its arrows: a
bias is the weight of a constant input 1. A node's fill is its activation
``a^l`` for sample k of the mini-batch (or the batch mean) on the scale
``max|a^l|`` of the batch, as the ``a`` heatmaps.

For 2-D data each neuron carries a small map of its activation over the input
plane (``Snapshot.neuron_maps``, computed on the worker), as TensorFlow
Playground draws them. A layer with more than
:data:`~.graph_canvas.EDGE_LIMIT` arrows (64 inputs × 32 neurons for digits)
draws only the strongest few into each neuron, and the caption says so. A tied
layer's arrows are its owner's W: the same colours, and the caption says it.

Layers in signals and calls are engine layers (0-based, as in the records and
``highlightRequested``): edge ``(layer, i, j)`` is ``W[i, j]`` of engine
layer ``layer``; neuron ``(layer, i)`` is neuron i of engine layer ``layer``
(``a^{layer+1}_i``), and the inputs ``x_j`` are layer -1. On screen layer
``l`` is ``layer + 1``. The drawing is :mod:`.graph_canvas` (Qt items only).

Linked highlighting: an arrow or a neuron under the mouse, or clicked, goes to
the one selection (``ctx.selection``, :mod:`bpviz.gui.selection`; an arrow is a
cell of W, or of dW while the arrows show the gradient); what the selection
names, from here or from a heatmap cell, is outlined here (the hovered thing
lightly, the clicked one strongly), and a selection that names a sample k fills
the nodes with sample k while it lasts.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from .. import notation as nt
from ..contract import PanelContext, PanelMixin
from ..selection import Selected
from ..weight_edit import ask_weight
from .digit_grid import to_qimage
from .graph_canvas import EDGE_LIMIT, GraphCanvas
from .input_images import input_image_shape
from .scaling import format_value, next_scale

#: What the arrows show: the weights, this use's gradient, or the plain gradient step.
QUANTITIES = ("W", "dW", "update")
_QUANTITY_TEXT = {"W": "weights W", "dW": "gradient dW", "update": "step −η·dW"}
MEAN = -1  # select_sample(MEAN): nodes show the batch mean
SOURCE = "graph"  # the selection's source name of this panel


def _max_abs(a: np.ndarray) -> float:
    return float(np.max(np.abs(a))) if a.size else 0.0


def _scale(a: np.ndarray) -> float:
    """The per-frame symmetric scale of the heatmaps: ``max|a|`` (1 for zeros or non-finite)."""
    return next_scale("frame", _max_abs(a), None, None)


class NetworkGraph(PanelMixin, QWidget):
    """Nodes and arrows of the network, coloured live from the latest mini-batch.

    Signals
    -------
    edgeHovered(int layer, int i, int j) : the arrow under the mouse (engine layer,
        0-based neuron i and input j); (-1, -1, -1) when it leaves.
    neuronHovered(int layer, int i) : the neuron under the mouse (layer -1: input
        x_i); (-1, -1) when it leaves.
    edgeClicked(int, int, int), neuronClicked(int, int) : the same, on a click.
    """

    edgeHovered = Signal(int, int, int)
    neuronHovered = Signal(int, int)
    edgeClicked = Signal(int, int, int)
    neuronClicked = Signal(int, int)
    draws_snapshots = True

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._spec = None
        self._dataset = None
        self._notation = getattr(ctx, "notation", nt.DEFAULT_NOTATION)
        self._snap = None
        self._dirty = False
        self._quantity = "W"
        self._sample = 0        # the sample the nodes show
        self._own_sample = 0    # the one picked here (shown when no selection names one)
        self._presentation = False
        self._hover: tuple | None = None
        self._canvas = GraphCanvas(self)
        self._canvas.hovered.connect(self._hovered)
        self._canvas.clicked.connect(self._clicked)
        self._canvas.doubleClicked.connect(self.edit)
        self._edge_box = QComboBox()
        for q in QUANTITIES:
            self._edge_box.addItem(_QUANTITY_TEXT[q], q)
        self._edge_box.setToolTip("What the arrows and bias squares show: W, this use's "
                                  "gradient dW, or the plain gradient step −η·dW")
        self._edge_box.currentIndexChanged.connect(
            lambda i: self.set_edge_quantity(self._edge_box.itemData(i)))
        self._node_box = QComboBox()
        self._node_box.addItems(["sample k", "batch mean"])
        self._node_box.setToolTip("Node fill: the activation for sample k of the mini-batch, "
                                  "or its mean over the batch")
        self._node_box.currentIndexChanged.connect(self._node_mode_changed)
        self._k_box = QSpinBox()
        self._k_box.setRange(1, 1)
        self._k_box.setPrefix("k = ")
        self._k_box.valueChanged.connect(lambda v: self.select_sample(v - 1))
        self._bar_labels = [QLabel("Arrows:"), QLabel("Nodes:")]
        bar = QHBoxLayout()
        bar.addWidget(self._bar_labels[0])
        bar.addWidget(self._edge_box)
        bar.addSpacing(12)
        bar.addWidget(self._bar_labels[1])
        bar.addWidget(self._node_box)
        bar.addWidget(self._k_box)
        # a square input (64 = 8², 784 = 28²) is a picture: sample k as the image it is
        self._input_image = QLabel()
        self._input_image.setToolTip("the input layer's sample as the image it is")
        self._input_image.hide()
        bar.addWidget(self._input_image)
        bar.addStretch(1)
        self._caption = QLabel()
        self._caption.setWordWrap(True)
        self._readout = QLabel(" ")
        self._readout.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(bar)
        lay.addWidget(self._canvas, 1)
        lay.addWidget(self._readout)
        lay.addWidget(self._caption)
        self._apply_fonts()
        ctx.specChanged.connect(self.set_spec)
        ctx.datasetChanged.connect(self.set_dataset)
        ctx.notationChanged.connect(self.set_notation)
        ctx.selection.hovered.connect(self._selection_hovered)
        ctx.selection.selected.connect(self._selection_selected)
        self._dataset = getattr(ctx, "dataset", None)
        if ctx.spec is not None:
            self.set_spec(ctx.spec)

    # ------------------------------------------------------------ the selection API
    def select_edge(self, layer: int, i: int, j: int) -> None:
        """Outline arrow ``W[i, j]`` of engine layer ``layer`` (drawn even where thinned);
        ``layer < 0`` removes the outline."""
        self._canvas.set_selection("edge", (layer, i, j) if layer >= 0 else None)

    def select_neuron(self, layer: int, i: int) -> None:
        """Ring neuron ``i`` of engine layer ``layer`` (-1: input x_i); ``i < 0`` removes it."""
        self._canvas.set_selection("node", (layer + 1, i) if i >= 0 else None)

    def select_sample(self, k: int) -> None:
        """Fill the nodes with sample ``k`` (0-based row of the mini-batch), or the batch
        mean for ``k < 0`` (a selection that names a sample shows that one while it lasts)."""
        self._own_sample = MEAN if k < 0 else int(k)
        self._show_sample(self._own_sample)

    def _show_sample(self, k: int) -> None:
        k = MEAN if k < 0 else int(k)
        if k == self._sample:
            return
        self._sample = k
        self._node_box.blockSignals(True)
        self._node_box.setCurrentIndex(1 if k == MEAN else 0)
        self._node_box.blockSignals(False)
        if k != MEAN:                      # the box keeps k while the mean is shown
            self._k_box.blockSignals(True)
            self._k_box.setValue(k + 1)
            self._k_box.blockSignals(False)
        self._k_box.setEnabled(k != MEAN)
        self._update_caption()
        self._redraw()

    def selected_sample(self) -> int:
        """The sample the nodes show (0-based), or -1 for the batch mean."""
        return self._sample

    # ------------------------------------------------------------ settings
    def set_edge_quantity(self, quantity: str) -> None:
        """``"W"``, ``"dW"`` or ``"update"`` (−η·dW) on the arrows and bias squares."""
        if quantity not in QUANTITIES:
            raise ValueError(f"the arrows show one of {', '.join(QUANTITIES)}, not {quantity!r}")
        if quantity == self._quantity:
            return
        self._quantity = quantity
        self._edge_box.blockSignals(True)
        self._edge_box.setCurrentIndex(QUANTITIES.index(quantity))
        self._edge_box.blockSignals(False)
        self._update_caption()
        self._redraw()

    def edge_quantity(self) -> str:
        return self._quantity

    def set_spec(self, spec) -> None:
        """A new network: new nodes and arrows (made once here, recoloured per frame)."""
        if spec is None or spec == self._spec:
            return
        self._spec = spec
        self._snap = None
        self._build()

    def set_dataset(self, dataset) -> None:
        """A new data set: input and output labels, per-neuron maps for 2-D data."""
        if dataset is self._dataset:
            return
        self._dataset = dataset
        self._snap = None
        self._build()

    def set_notation(self, notation: str) -> None:
        """Arrows are the same in both notations; the texts name ``W_ij`` or ``W_ji``."""
        nt.check(notation)
        self._notation = notation
        self._update_caption()
        self._show_readout()

    def set_presentation(self, on: bool) -> None:
        self._presentation = bool(on)
        self._apply_fonts()
        self._canvas.set_presentation(on)

    def clear(self) -> None:
        """Training was reset: forget the last frame (the next one recolours everything)."""
        self._snap = None
        self._dirty = False
        self._build()

    def show_snapshot(self, snap) -> None:
        """Recolour arrows, biases and nodes from ``snap.step`` (kept if the panel is hidden)."""
        if snap is None or snap.step.backprop is None or not snap.step.weights:
            return
        self._snap = snap
        self._dirty = True
        if self.isVisible():
            self._draw()

    # ------------------------------------------------------------ reading back
    def graphics_view(self) -> GraphCanvas:
        return self._canvas

    def caption(self) -> str:
        return self._caption.text()

    def readout(self) -> str:
        return self._readout.text()

    def edge_color(self, layer: int, i: int, j: int) -> tuple[int, int, int] | None:
        """RGB of arrow (layer, i, j), or None where a thinned layer does not draw it."""
        pen = self._canvas.edge_pen(layer, i, j)
        return None if pen is None else pen.color().getRgb()[:3]

    def edge_width(self, layer: int, i: int, j: int) -> float | None:
        pen = self._canvas.edge_pen(layer, i, j)
        return None if pen is None else pen.widthF()

    def node_color(self, layer: int, i: int) -> tuple[int, int, int]:
        """RGB fill of neuron i of engine layer ``layer`` (-1: input x_i)."""
        return self._canvas.node_brush(layer + 1, i).getRgb()[:3]

    def bias_color(self, layer: int, i: int) -> tuple[int, int, int]:
        return self._canvas.bias_brush(layer + 1, i).getRgb()[:3]

    def edge_point(self, layer: int, i: int, j: int, t: float = 0.5):
        return self._canvas.edge_point(layer, i, j, t)

    def node_point(self, layer: int, i: int):
        return self._canvas.node_point(layer + 1, i)

    # ------------------------------------------------------------ internals
    def _sizes(self) -> list[int]:
        s = self._spec
        return [s.inputs] + [s.weight_shape(i)[0] for i in range(len(s.layers))]

    def _two_d(self) -> bool:
        ds = self._dataset
        return ds is not None and ds.n_features == 2 and self._spec.inputs == 2

    def _build(self) -> None:
        if self._spec is None:
            return
        sizes = self._sizes()
        L = len(sizes) - 1
        labels: list[list[str]] = [[] for _ in sizes]
        if sizes[0] <= 40:
            labels[0] = ["x" + nt.sub(j + 1) for j in range(sizes[0])]
        ds = self._dataset
        names = tuple(getattr(ds, "class_names", ()) or ()) if ds is not None else ()
        if len(names) == sizes[-1] and sizes[-1] <= 40:
            labels[-1] = [str(n) for n in names]
        elif sizes[-1] <= 40:
            labels[-1] = ["a" + nt.sup(L) + nt.sub(i + 1) for i in range(sizes[-1])]
        self._canvas.set_structure(sizes, self._headers(), labels, self._two_d())
        K = self._ctx.effective_batch_size() if hasattr(self._ctx, "effective_batch_size") else 1
        self._k_box.setRange(1, max(1, int(K)))
        self._update_caption()
        self._hover = None
        self._show_readout()

    def _headers(self) -> list[str]:
        spec = self._spec
        n0 = spec.inputs
        heads = [f"x\n{n0} inputs" if n0 > 40 else "inputs\nx"]
        L = len(spec.layers)
        for i, ly in enumerate(spec.layers):
            o = spec.owner(i)
            head = f"layer {i + 1}" + (" · output" if i == L - 1 else "")
            m = spec.weight_shape(i)[0]
            head += f"\n{ly.activation}" + (f" ({m})" if m > 40 else "")
            if o != i:
                head += f" · W{nt.sup(o + 1)}"
            heads.append(head)
        return heads

    def _update_caption(self) -> None:
        if self._spec is None:
            self._caption.setText("")
            return
        spec, oi = self._spec, self._notation == "out_in"
        sym = {"W": "W", "dW": "dW", "update": "−η·dW"}[self._quantity]
        bsym = {"W": "b", "dW": "db", "update": "−η·db"}[self._quantity]
        ij = "ᵢⱼ (row i, column j of W, out×in)" if oi else "ⱼᵢ (row j, column i of W, in×out)"
        lines = [f"Arrow from input j to neuron i = {sym}{ij}; red +, blue −, thicker = "
                 f"larger |{sym}|, each layer on its own scale ±max|{sym}| as its heatmap. "
                 f"Square on a neuron: its bias {bsym}."]
        if self._quantity == "update":
            opt = getattr(getattr(self._ctx, "config", None), "optimizer", "sgd")
            lines.append("−η·dW is the plain gradient step (the sum over a tied W's uses)"
                         + ("" if opt == "sgd" else f"; {opt} moves the weights by its own rule")
                         + ".")
        fill = "the batch mean of a" if self._sample == MEAN else \
            f"a for sample k = {self._sample + 1} of the mini-batch"
        lines.append(f"Node fill: {fill}"
                     + ("; small square maps: each neuron's output over the input plane."
                        if self._two_d() else "."))
        sizes = self._sizes()
        for i in range(len(spec.layers)):
            m, n = sizes[i + 1], sizes[i]
            k = self._canvas.thinned(i)
            if k:
                lines.append(f"Layer {i + 1}: showing the {k} strongest of {n} inputs per "
                             f"neuron (by |{sym}|), {m * k} of {m * n} arrows "
                             f"(more than {EDGE_LIMIT} would be an unreadable mesh).")
            o = spec.owner(i)
            if o != i:
                lines.append(f"Layer {i + 1} reuses W{nt.sup(o + 1)}: its arrows are the same "
                             f"weights as layer {o + 1}'s (one W, the same colours).")
        self._caption.setText("\n".join(lines))

    def _apply_fonts(self) -> None:
        big = self._presentation
        font = QFont(self.font())
        font.setPointSize(15 if big else 9)
        for w in (*self._bar_labels, self._edge_box, self._node_box, self._k_box,
                  self._caption, self._readout):
            w.setFont(font)

    def _node_mode_changed(self, index: int) -> None:
        self.select_sample(MEAN if index == 1 else self._k_box.value() - 1)

    def _redraw(self) -> None:
        if self._snap is not None:
            self._dirty = True
            if self.isVisible():
                self._draw()

    def _matches(self, step) -> bool:
        bp = step.backprop
        sizes = self._sizes()
        if len(bp.layers) != len(sizes) - 1:
            return False
        return all(ly.dW.shape == (sizes[i + 1], sizes[i]) for i, ly in enumerate(bp.layers))

    def _edge_values(self, step, i: int) -> tuple[np.ndarray, np.ndarray]:
        """``(V, v_b)`` of engine layer i for the chosen quantity: W and b, dW and db, or
        −η times the parameters' total gradients."""
        ly = step.backprop.layers[i]
        o = ly.owner
        if self._quantity == "W":
            return step.weights[f"W{o}"], step.weights[f"b{o}"]
        if self._quantity == "dW":
            return ly.dW, ly.db
        g = step.backprop.grads
        lr = np.float32(step.lr)
        return -lr * g[f"W{o}"], -lr * g[f"b{o}"]

    def _draw(self) -> None:
        if not self._dirty or self._snap is None or self._spec is None:
            return
        self._dirty = False
        step = self._snap.step
        if not self._matches(step):
            return
        bp = step.backprop
        K = int(bp.layers[0].a_prev.shape[0])
        if self._k_box.maximum() != K:
            self._k_box.setRange(1, K)
        k = min(self._sample, K - 1)
        cv = self._canvas
        maps = self._snap.neuron_maps
        for i in range(len(bp.layers)):
            V, vb = self._edge_values(step, i)
            s = _scale(V)
            cv.set_edges(i, V, s)
            cv.set_biases(i + 1, vb, s)
            if maps is not None and i < len(maps):
                cv.set_maps(i + 1, maps[i], _scale(maps[i]))
            else:
                cv.set_maps(i + 1, None, 1.0)
        for c, A in enumerate([bp.layers[0].a_prev] + [ly.a for ly in bp.layers]):
            vals = A.mean(axis=0) if k == MEAN else A[k]
            cv.set_nodes(c, vals, _scale(A))
        self._show_input_image(bp.layers[0].a_prev, k)
        if self._hover is not None:
            self._show_readout()

    def _show_input_image(self, X: np.ndarray, k: int) -> None:
        """Sample k (or the batch mean) of the input as its picture, when the input is
        an image (the data set's ``image_shape``, or a square width)."""
        ds = self._dataset
        shape = input_image_shape(X.shape[1], getattr(ds, "image_shape", None))
        self._input_image.setVisible(shape is not None)
        if shape is None:
            return
        pixels = X.mean(axis=0) if k == MEAN else X[k]
        side = 48 if not self._presentation else 72
        self._input_image.setPixmap(QPixmap.fromImage(to_qimage(pixels, shape)).scaled(
            side, side, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.FastTransformation))

    def input_image(self) -> QPixmap | None:
        """The picture of the input sample shown (None when the input is not an image)."""
        return self._input_image.pixmap() if self._input_image.isVisible() else None

    # ------------------------------------------------------------ hover and click
    def _selected_of(self, hit) -> Selected | None:
        """The selection of a canvas hit: an arrow is a cell of W (of dW while the arrows
        show dW); a neuron carries the sample its fill shows."""
        if hit is None:
            return None
        if hit[0] == "edge":
            kind = "dW" if self._quantity == "dW" else "W"
            return Selected(kind, hit[1], i=hit[2], j=hit[3], source=SOURCE)
        return Selected("neuron", hit[1] - 1, i=hit[2], k=self._sample, source=SOURCE)

    def _hovered(self, hit) -> None:
        self._hover = hit
        self._ctx.selection.hover(self._selected_of(hit))   # it outlines what is hovered
        if hit is None:
            self.edgeHovered.emit(-1, -1, -1)
            self.neuronHovered.emit(-1, -1)
        elif hit[0] == "edge":
            self.edgeHovered.emit(*hit[1:])
        else:
            self.neuronHovered.emit(hit[1] - 1, hit[2])
        self._show_readout()

    def _clicked(self, hit) -> None:
        self._ctx.selection.select(self._selected_of(hit))  # it outlines what is clicked
        if hit[0] == "edge":
            self.edgeClicked.emit(*hit[1:])
        else:
            self.neuronClicked.emit(hit[1] - 1, hit[2])

    def edit(self, hit) -> bool:
        """Double-click: type a new value for an arrow's weight W_ij, or a neuron's
        bias b_i (undoable; a value that is not a finite number is refused)."""
        if self._spec is None:
            return False
        weights = self._snap.step.weights if self._snap is not None else None
        if hit[0] == "edge":
            layer, i, j = hit[1:]
            return ask_weight(self, self._ctx, self._spec, weights, layer, i, j)
        if hit[1] >= 1:                                   # a neuron (not an input): its bias
            return ask_weight(self, self._ctx, self._spec, weights, hit[1] - 1, hit[2], None)
        return False

    def _selection_hovered(self, sel: Selected | None) -> None:
        cv = self._canvas
        edge, node = (sel.edge(), sel.neuron()) if sel is not None else (None, None)
        cv.set_selection("edge", edge, hover=True)
        cv.set_selection("node", (node[0] + 1, node[1]) if node else None, hover=True)
        self._follow_sample()

    def _selection_selected(self, sel: Selected | None) -> None:
        edge, node = (sel.edge(), sel.neuron()) if sel is not None else (None, None)
        self.select_edge(*(edge or (-1, -1, -1)))
        self.select_neuron(*(node or (-1, -1)))
        self._follow_sample()

    def _follow_sample(self) -> None:
        """Nodes show the sample the selection names (hovered, else clicked), else the
        one picked here."""
        cur = self._ctx.selection.current()
        self._show_sample(cur.k if cur is not None and cur.k >= 0 else self._own_sample)

    def _show_readout(self) -> None:
        self._readout.setText(self._readout_text() or " ")

    def _readout_text(self) -> str:
        hit, snap = self._hover, self._snap
        if hit is None or self._spec is None:
            return "Point at an arrow or a neuron for its numbers."
        if snap is None or not self._matches(snap.step):
            return ""
        step, oi = snap.step, self._notation == "out_in"
        bp = step.backprop
        if hit[0] == "edge":
            _, layer, r, c = hit
            ly = bp.layers[layer]
            o, s = ly.owner, nt.sup(layer + 1)
            idx = f"{nt.sub(r + 1)},{nt.sub(c + 1)}" if oi else f"{nt.sub(c + 1)},{nt.sub(r + 1)}"
            w = float(step.weights[f"W{o}"][r, c])
            d = float(ly.dW[r, c])
            tied = f" (= W{nt.sup(o + 1)}, tied)" if o != layer else ""
            return (f"W{s}{idx} = {format_value(w)}{tied},  dW{s}{idx} = {format_value(d)}:  "
                    f"layer {layer + 1}, input {c + 1} → neuron {r + 1}")
        col, i = hit[1], hit[2]
        A = bp.layers[0].a_prev if col == 0 else bp.layers[col - 1].a
        k = self._sample
        if k == MEAN:
            val, who = float(A[:, i].mean()), "batch mean"
        else:
            k = min(k, A.shape[0] - 1)
            val, who = float(A[k, i]), f"sample k = {k + 1}"
        if col == 0:
            return f"x{nt.sub(i + 1)} = a⁰{nt.sub(i + 1)} = {format_value(val)} ({who})"
        ly = bp.layers[col - 1]
        s, sub_i = nt.sup(col), nt.sub(i + 1)
        b = float(step.weights[f"b{ly.owner}"][i])
        text = f"a{s}{sub_i} = {format_value(val)} ({who}),  b{s}{sub_i} = {format_value(b)}"
        if k != MEAN:
            text += (f",  z{s}{sub_i} = {format_value(float(ly.z[k, i]))},  "
                     f"δ{s}{sub_i} = {format_value(float(ly.delta[k, i]))}")
        return text + f":  layer {col}, neuron {i + 1}"

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if self._dirty:
            QTimer.singleShot(0, self._draw)
