"""One selection shared by every panel: what the mouse points at, and what was clicked.

The network-graph panel, the matrix heatmaps, the data view and the explain panel
all show the same thing: the arrow from input j into neuron i of layer l is the
entry ``W^l[i, j]`` (row i, column j of the out × in matrix, as in the Cross
Validated question 'vectorized version of one of the backpropagation equations'
and its answer), neuron i of layer l is row i of ``W^l`` and ``dW^l`` and column
i of ``z^l``, ``δ^l`` and ``a^l``, and sample k is row k of every ``a``, ``z`` and
``δ`` of the mini-batch. So no panel talks to another: each reports what the
mouse is on to the one :class:`Selection` (``ctx.selection``) and draws what the
selection says, translating it to its own display (the in × out notation, a
node of the graph, a point of the data set) itself.

* :class:`Selected` is the value: a frozen dataclass in **engine indices and
  engine orientation** (layers from 0, rows and columns of the matrices as the
  engine keeps them, whatever the notation on screen).
* :class:`SelectionModel` is the logic (no Qt): the hovered value (transient) and
  the selected one (a click, sticky until another click or :meth:`clear`).
* :class:`Selection` is the QObject the controller owns: the model plus the
  signals ``hovered(object)`` and ``selected(object)`` (a :class:`Selected` or
  None).
* :func:`marks` is the one rule of what lights up in which matrix: a dict of
  :class:`Marks` per (kind, engine layer), in engine orientation; a view turns a
  mark into its display with :meth:`Marks.display` (the notation module decides
  which kinds are transposed).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from . import notation as nt

#: What a selection can name: a cell of a matrix kind of :data:`bpviz.gui.notation.KINDS`
#: (an arrow of the graph is a cell of ``W`` or ``dW``), a neuron, or a sample.
SELECT_KINDS = (*nt.KINDS, "neuron", "sample")


@dataclass(frozen=True)
class Selected:
    """One thing of the network, in engine indices and engine orientation.

    Parameters
    ----------
    kind : str
        ``"W"`` or ``"dW"`` (a cell of the m×n matrix, out × in; an arrow of the graph
        is a cell of W, or of dW while the graph shows the gradient), ``"z"``,
        ``"delta"`` (a cell of the K×m matrix), ``"a"`` (a cell of the layer's
        **input** ``a^{l-1}``, K×n, as in :mod:`bpviz.gui.notation`), ``"db"`` (entry i
        of the m-vector), ``"neuron"`` (neuron i of ``layer``) or ``"sample"``
        (row k of the mini-batch).
    layer : int
        Engine layer (0-based; displayed as ``layer + 1``). For ``"neuron"``, -1 is the
        input layer (``x_i``). -1 for ``"sample"``.
    i : int
        The neuron of ``layer`` (output side): the row of ``W``/``dW``, the column of
        ``z``/``δ``, the entry of ``db``; -1 if none.
    j : int
        The input of ``layer``: the column of ``W``/``dW`` and of ``a`` (``a^{l-1}``),
        i.e. neuron j of the layer before; -1 if none.
    k : int
        The sample: row k of the mini-batch (rows of ``a``, ``z``, ``δ``), -1 if none.
        For ``"neuron"`` the sample the graph's nodes show (-1: the batch mean).
    source : str
        Which panel made it (``"matrices"``, ``"graph"``, ...): for reading only; every
        panel draws the value the same way whoever made it.
    """

    kind: str
    layer: int = -1
    i: int = -1
    j: int = -1
    k: int = -1
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind not in SELECT_KINDS:
            raise ValueError(f"unknown selection kind {self.kind!r}; use one of "
                             f"{', '.join(SELECT_KINDS)}")
        for name in ("layer", "i", "j", "k"):
            object.__setattr__(self, name, int(getattr(self, name)))

    # ------------------------------------------------------------ made from a cell
    @classmethod
    def cell(cls, kind: str, layer: int, row: int, col: int, source: str = "") -> Selected:
        """Cell ``(row, col)`` of the **engine's** matrix ``kind`` of ``layer`` (a
        display cell must be turned into the engine's first: transpose W and dW in the
        in × out notation, see :func:`bpviz.gui.notation.transposed`)."""
        if kind in ("W", "dW"):
            return cls(kind, layer, i=row, j=col, source=source)
        if kind in ("z", "delta"):
            return cls(kind, layer, i=col, k=row, source=source)
        if kind == "a":
            return cls(kind, layer, j=col, k=row, source=source)
        if kind == "db":
            return cls(kind, layer, i=col, source=source)
        raise ValueError(f"{kind!r} is not a matrix kind")

    def engine_cell(self) -> tuple[int, int] | None:
        """``(row, col)`` of the cell in the engine's matrix ``(kind, layer)`` (db: row 0),
        or None for a neuron or a sample."""
        if self.kind in ("W", "dW"):
            return (self.i, self.j)
        if self.kind in ("z", "delta"):
            return (self.k, self.i)
        if self.kind == "a":
            return (self.k, self.j)
        if self.kind == "db":
            return (0, self.i)
        return None

    # ------------------------------------------------------------ what it names
    def edge(self) -> tuple[int, int, int] | None:
        """The arrow ``(layer, i, j)`` (``W[i, j]`` of engine ``layer``), or None."""
        if self.kind in ("W", "dW") and min(self.layer, self.i, self.j) >= 0:
            return (self.layer, self.i, self.j)
        return None

    def neuron(self) -> tuple[int, int] | None:
        """The neuron ``(layer, i)`` it belongs to (layer -1: input ``x_i``), or None:
        a neuron itself, the column of a ``z``/``δ`` cell, the entry of ``db``, and for a
        cell of ``a`` (``a^{l-1}``) neuron j of the layer before."""
        if self.kind in ("neuron", "z", "delta", "db") and self.i >= 0:
            return (self.layer, self.i)
        if self.kind == "a" and self.j >= 0:
            return (self.layer - 1, self.j)
        return None

    def sample(self) -> int:
        """The row k of the mini-batch it names, or -1."""
        return self.k


@dataclass(frozen=True)
class Marks:
    """What to light in one matrix: a cell, a row and a column (-1: none)."""

    cell: tuple[int, int] | None = None
    row: int = -1
    col: int = -1

    def display(self, kind: str, notation: str) -> Marks:
        """The same marks in the displayed matrix of ``kind`` (transposed where the
        notation shows the engine's matrix transposed)."""
        if not nt.transposed(kind, notation):
            return self
        cell = None if self.cell is None else (self.cell[1], self.cell[0])
        return Marks(cell, self.col, self.row)


NO_MARKS = Marks()


def marks(sel: Selected | None, n_layers: int) -> dict[tuple[str, int], Marks]:
    """What lights up in which matrix ``(kind, engine layer)``, in engine orientation.

    * the cell itself, in its own matrix;
    * an arrow (a cell of ``W`` or ``dW``): cell (i, j) of ``W`` and of ``dW`` of its
      layer; a cell of ``dW`` also lights the columns it is made of, column i of ``δ``
      and column j of ``a`` (``dW_ij = (1/K) Σ_k δ_ki a_kj``);
    * a neuron i of layer l: row i of ``W^l`` and ``dW^l`` (its arrows in), its bias
      (``db^l`` entry i), column i of ``z^l`` and ``δ^l``, column i of ``a^l`` (the ``a``
      of layer l + 1) and column i of ``W^{l+1}`` and ``dW^{l+1}`` (its arrows out);
      an input ``x_i``: column i of ``a⁰`` and of ``W¹``, ``dW¹``;
    * a sample k (any selection with ``k >= 0``): row k of every ``a``, ``z`` and ``δ``.
    """
    out: dict[tuple[str, int], dict] = {}

    def put(kind: str, layer: int, **kw) -> None:
        if 0 <= layer < n_layers:
            out.setdefault((kind, layer), {}).update(kw)

    if sel is None:
        return {}
    cell = sel.engine_cell()
    if cell is not None:
        put(sel.kind, sel.layer, cell=cell)
    edge = sel.edge()
    if edge is not None:
        layer, i, j = edge
        put("W", layer, cell=(i, j))
        put("dW", layer, cell=(i, j))
        if sel.kind == "dW":
            put("delta", layer, col=i)
            put("a", layer, col=j)
    if sel.kind == "neuron" and sel.i >= 0:
        layer, i = sel.layer, sel.i
        for kind in ("W", "dW"):
            put(kind, layer, row=i)
            put(kind, layer + 1, col=i)
        put("db", layer, cell=(0, i))
        put("z", layer, col=i)
        put("delta", layer, col=i)
        put("a", layer + 1, col=i)
    if sel.k >= 0:
        for layer in range(n_layers):
            for kind in ("a", "z", "delta"):
                put(kind, layer, row=sel.k)
    return {key: Marks(**kw) for key, kw in out.items()}


class SelectionModel:
    """The hovered and the selected :class:`Selected` (no Qt).

    The hovered value follows the mouse and goes back to None when it leaves; the
    selected one stays until another click or :meth:`clear`. What a view shows is
    :meth:`current`: the hovered value while there is one, else the selected one.
    """

    def __init__(self) -> None:
        self.hovered: Selected | None = None
        self.selected: Selected | None = None

    def hover(self, sel: Selected | None) -> bool:
        """Point at ``sel`` (None: at nothing); True if that changed anything."""
        changed = sel != self.hovered
        self.hovered = sel
        return changed

    def select(self, sel: Selected | None) -> bool:
        """Click on ``sel`` (None: unselect); True if that changed anything."""
        changed = sel != self.selected
        self.selected = sel
        return changed

    def current(self) -> Selected | None:
        return self.hovered if self.hovered is not None else self.selected


class Selection(QObject):
    """The one selection of the window (``ctx.selection``): panels report to it and draw it.

    Signals
    -------
    hovered(object) : the hovered :class:`Selected`, or None when the mouse left.
    selected(object) : the clicked :class:`Selected`, or None after :meth:`clear`.
    """

    hovered = Signal(object)
    selected = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = SelectionModel()

    def hover(self, sel: Selected | None) -> None:
        """The mouse is on ``sel`` (None: on nothing); emits ``hovered`` if it changed."""
        if self._model.hover(sel):
            self.hovered.emit(sel)

    def select(self, sel: Selected | None) -> None:
        """``sel`` was clicked; emits ``selected`` if it changed."""
        if self._model.select(sel):
            self.selected.emit(sel)

    def clear(self, *_args: object) -> None:
        """Forget both (a new network or data set: the indices mean nothing any more)."""
        self.hover(None)
        self.select(None)

    def hovered_value(self) -> Selected | None:
        return self._model.hovered

    def selected_value(self) -> Selected | None:
        return self._model.selected

    def current(self) -> Selected | None:
        """The hovered value while there is one, else the selected one."""
        return self._model.current()
