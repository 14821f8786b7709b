"""Every symbol, shape text, axis label and transpose rule of the app (no Qt, no engine change).

One module, so the matrix panel, the equations, the phase strip and the
classroom views say the same thing.

* ``"out_in"`` (the notation of the Cross Validated question 'vectorized
  version of one of the backpropagation equations' and its answer; the
  engine's own): ``W^l`` is m×n (out × in), ``z = a Wᵀ + b``,
  ``dW = (1/K) δᵀ a`` (m×n).
* ``"in_out"`` (the notes on vectorizing over m examples, and most textbooks
  that write ``X W``): ``W^l`` is n×m (in × out), ``z = a W + b``,
  ``dW = (1/K) aᵀ δ`` (n×m).

The second is the transpose of the first: only ``W`` and ``dW`` are shown
transposed; ``a``, ``z``, ``δ`` (K×·) and ``b``, ``db`` are the same in both.

Layer numbering: the engine counts layers from 0 (``spec.layers[i]``,
``rec.layers[i]``, ``weights["W{i}"]``); the screen counts them from 1, so
engine layer ``i`` is displayed as ``l = i + 1``.

Matrix kinds (:data:`KINDS`) of engine layer ``i``: ``"a"`` is the layer's
**input** ``a^{l-1}`` (``a⁰ = X`` for the first layer: the ``a`` of
``dW = δᵀa``), ``"z"``, ``"delta"`` its pre-activations and error (K×m),
``"W"``, ``"dW"`` (m×n as the engine keeps them), ``"db"`` (m,). A bias or
``db`` vector ``(m,)`` is shown as a 1×m row, and its shape text is ``"1×m"``.
The output ``a^l`` of layer ``i`` is the ``"a"`` of layer ``i + 1``.

Phase kinds (of the phase stepper) are a separate list: ``z, a, loss, delta,
dW, db, update``; there ``"a"`` of layer ``i`` is its output ``a^l = f(z^l)``.
Their display texts (:func:`phase_chip`, :func:`phase_name`,
:func:`phase_equation`) live here too.

The equations of one layer are built here as :class:`Equation` objects (a list
of clickable :class:`Term` s plus their live shapes), so every view renders
the same formulas; :mod:`bpviz.gui.classroom.equations` turns them into HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..engine.functions import MATCHED

if TYPE_CHECKING:
    from ..engine.records import StepRecord
    from ..engine.spec import NetworkSpec

NOTATIONS = ("out_in", "in_out")
DEFAULT_NOTATION = "out_in"

#: Menu/tooltip text of each notation.
LABELS = {
    "out_in": "W out×in (m×n):  z = a Wᵀ + b,  dW = δᵀa",
    "in_out": "W in×out (n×m):  z = a W + b,  dW = aᵀδ",
}

#: The matrix kinds the views show, in the matrix panel's order.
KINDS = ("a", "delta", "z", "dW", "W", "db")
#: The bare name of each kind (check boxes, menus).
KIND_NAMES = {"a": "a", "delta": "δ", "z": "z", "dW": "dW", "W": "W", "db": "db"}

#: Axis names of the displayed matrices.
SAMPLE = "sample k"
NEURON = "neuron i"
INPUT = "input j"

_SUP = str.maketrans("0123456789+-=()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾")
_SUB = str.maketrans("0123456789+-=()aeijklmnox", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₗₘₙₒₓ")
T = "ᵀ"

#: The sources the notes under the equations cite.
REUSED_NOTES = "notes on the math of neural networks with reused weights"
M_NOTES = "notes on vectorizing over m examples"

#: Kinds whose displayed matrix is transposed in "in_out".
TRANSPOSED_KINDS = ("W", "dW")


def check(notation: str) -> str:
    """``notation`` if it is known, else ValueError naming the two."""
    if notation not in NOTATIONS:
        raise ValueError(f"unknown notation {notation!r}; use 'out_in' or 'in_out'")
    return notation


def sup(x: int | str) -> str:
    """``12 -> '¹²'`` (digits, signs and parentheses)."""
    return str(x).translate(_SUP)


def sub(x: int | str) -> str:
    """``12 -> '₁₂'``, ``'k' -> 'ₖ'`` (digits and the letters a e i j k l m n o x)."""
    return str(x).translate(_SUB)


def layer_number(i: int) -> int:
    """Displayed layer number of engine layer ``i`` (``a⁰ = X`` is the input)."""
    return i + 1


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown matrix kind {kind!r}; use one of {', '.join(KINDS)}")


def symbol(kind: str, i: int) -> str:
    """The bare symbol of engine layer ``i``'s matrix ``kind``.

    ``"a"`` is the layer's input ``a^{l-1}``: ``symbol("a", 0) == "a⁰"``,
    ``symbol("delta", 1) == "δ²"``, ``symbol("dW", 0) == "dW¹"``.
    """
    _check_kind(kind)
    if kind == "a":
        return "a" + sup(i)
    return KIND_NAMES[kind] + sup(layer_number(i))


def title_symbol(kind: str, i: int, notation: str = DEFAULT_NOTATION, reduction: str = "mean",
                 owner: int | None = None) -> str:
    """The symbol of a matrix panel title, with what it is.

    >>> title_symbol("a", 0)
    'a⁰ = X'
    >>> title_symbol("dW", 0, "in_out")
    'dW¹ = aᵀδ/K'
    >>> title_symbol("W", 0)
    'W¹ (out×in)'
    """
    check(notation)
    s = symbol(kind, i)
    if kind == "a" and i == 0:
        return "a⁰ = X"
    if kind == "dW":
        return f"{s} = {product_text(notation)}" + ("/K" if reduction == "mean" else "")
    if kind == "W":
        if owner is not None and owner != i:
            return f"{s} = W{sup(owner + 1)} (tied)"
        return f"{s} ({'in×out' if notation == 'in_out' else 'out×in'})"
    return s


def product_text(notation: str) -> str:
    """The batch product of the weight gradient: ``"δᵀa"`` or ``"aᵀδ"``."""
    return f"δ{T}a" if check(notation) == "out_in" else f"a{T}δ"


def transposed(kind: str, notation: str) -> bool:
    """Whether ``kind`` is shown as the transpose of the engine's matrix."""
    return check(notation) == "in_out" and kind in TRANSPOSED_KINDS


def display_matrix(kind: str, M: np.ndarray, notation: str) -> np.ndarray:
    """The engine's matrix as this notation shows it (``W``, ``dW``: ``Mᵀ`` in in_out)."""
    return M.T if transposed(kind, notation) and M.ndim == 2 else M


def display_shape(kind: str, shape: tuple[int, ...], notation: str) -> tuple[int, ...]:
    """The engine shape as displayed: swapped for W and dW in in_out; ``(m,)`` as ``(1, m)``."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        return (1, shape[0])
    return shape[::-1] if transposed(kind, notation) and len(shape) == 2 else shape


def shape_text(shape: tuple[int, ...]) -> str:
    """``(32, 10) -> '32×10'``; a vector ``(10,)`` is drawn as a row: ``'1×10'``."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        shape = (1, shape[0])
    return "×".join(str(s) for s in shape)


def title(kind: str, i: int, shape: tuple[int, ...], notation: str = DEFAULT_NOTATION,
          reduction: str = "mean", owner: int | None = None) -> str:
    """A matrix panel title, e.g. ``'δ² — 32×8'``; ``shape`` is the shape as displayed."""
    return f"{title_symbol(kind, i, notation, reduction, owner)} — {shape_text(shape)}"


def axis_labels(kind: str, notation: str = DEFAULT_NOTATION) -> tuple[str, str]:
    """``(row_label, col_label)`` of a displayed matrix of ``kind``."""
    _check_kind(kind)
    if kind == "a":
        return SAMPLE, INPUT
    if kind in ("delta", "z"):
        return SAMPLE, NEURON
    if kind in ("dW", "W"):
        return (INPUT, NEURON) if transposed(kind, notation) else (NEURON, INPUT)
    return "", NEURON


def spec_shape(spec: NetworkSpec, kind: str, i: int, K: int,
               notation: str = DEFAULT_NOTATION) -> tuple[int, int]:
    """The displayed shape of ``kind`` for engine layer ``i`` of ``spec`` (batch size ``K``)."""
    _check_kind(kind)
    m, n = spec.weight_shape(i)
    if kind == "a":
        return (K, n)
    if kind in ("delta", "z"):
        return (K, m)
    if kind in ("dW", "W"):
        return (n, m) if transposed(kind, notation) else (m, n)
    return (1, m)


def record_matrix(step: StepRecord, kind: str, i: int,
                  notation: str = DEFAULT_NOTATION) -> np.ndarray | None:
    """The matrix ``kind`` of engine layer ``i`` from a StepRecord, as displayed.

    ``a`` is the layer's input ``a^{l-1}`` (K×n); ``dW`` is this use's gradient
    (for a tied layer, its own contribution); ``W`` is the weight the layer uses
    (its owner's). In ``"in_out"`` ``W`` and ``dW`` come back transposed. None if
    the record has no matrices.
    """
    _check_kind(kind)
    bp = step.backprop
    if bp is None or i >= len(bp.layers):
        return None
    ly = bp.layers[i]
    if kind == "W":
        if not step.weights or f"W{ly.owner}" not in step.weights:
            return None
        M = step.weights[f"W{ly.owner}"]
    else:
        M = {"a": ly.a_prev, "delta": ly.delta, "z": ly.z, "db": ly.db, "dW": ly.dW}[kind]
    return display_matrix(kind, M, notation)


# ------------------------------------------------------------------ phases
#: Row and column names of the matrix each phase computes (dW: see :func:`phase_axis_labels`).
_PHASE_AXES = {"z": (SAMPLE, NEURON), "a": (SAMPLE, NEURON), "delta": (SAMPLE, NEURON),
               "loss": ("", SAMPLE), "db": ("", NEURON)}


def phase_chip(kind: str, layer: int) -> str:
    """The short symbol of a phase in the strip: ``z²``, ``δ¹``, ``C``, ``W,b ←``.

    For phase kind ``"a"`` it is the layer's output ``a^l`` (``a²`` for layer 1).
    """
    s = sup(layer + 1)
    return {"z": f"z{s}", "a": f"a{s}", "loss": "C", "delta": f"δ{s}", "dW": f"dW{s}",
            "db": f"db{s}", "update": "W,b ←"}[kind]


def phase_matrix_name(kind: str, layer: int) -> str:
    """The name of the matrix a phase computed (heatmap titles): ``"δ²"``, ``"Cₖ per sample"``."""
    return "Cₖ per sample" if kind == "loss" else phase_chip(kind, layer)


def phase_axis_labels(kind: str, notation: str = DEFAULT_NOTATION) -> tuple[str, str]:
    """``(row_label, col_label)`` of the matrix a phase computed."""
    if kind == "dW":
        return axis_labels("dW", notation)
    return _PHASE_AXES.get(kind, ("", ""))


def phase_heatmap(kind: str, layer: int, n_layers: int) -> tuple[str, int] | None:
    """The matrix-panel heatmap ``(matrix kind, engine layer)`` showing what a phase computed.

    The panel's ``"a"`` of layer ``i`` is that layer's input, so the output
    ``a^l`` of engine layer ``i`` (phase kind ``"a"``) is the ``"a"`` of layer
    ``i + 1`` (none for the network's output); the loss and the update have none.
    """
    if kind in ("z", "delta", "dW", "db"):
        return kind, layer
    if kind == "a" and layer + 1 < n_layers:
        return "a", layer + 1
    return None


def phase_name(kind: str, layer: int, spec: NetworkSpec) -> str:
    """A short label for the phase list, e.g. ``"backward δ²"``."""
    L = len(spec.layers)
    s = sup(layer + 1)
    return {
        "z": f"forward z{s}",
        "a": f"forward a{s}",
        "loss": "loss C",
        "delta": f"output error δ{s}" if layer == L - 1 else f"backward δ{s}",
        "dW": f"gradient dW{s}",
        "db": f"gradient db{s}",
        "update": "update W, b",
    }[kind]


def phase_equation(kind: str, layer: int, spec: NetworkSpec,
                   notation: str = DEFAULT_NOTATION) -> str:
    """The equation of a phase, plain text, in ``notation`` (W out×in or in×out).

    ``layer`` is the engine layer (-1 for the update); built from the kind, the
    layer and the spec only.
    """
    oi = check(notation) == "out_in"
    L = len(spec.layers)
    s, p = sup(layer + 1), sup(layer)
    K = "(1/K) " if spec.reduction == "mean" else ""
    if kind == "z":
        o = sup(spec.owner(layer) + 1)
        return f"z{s} = a{p} W{o}{T if oi else ''} + b{o}"
    if kind == "a":
        return f"a{s} = {spec.layers[layer].activation}(z{s})"
    if kind == "loss":
        return f"C = {K}Σₖ Cₖ(a{s}, y)"
    if kind == "delta":
        if layer == L - 1:
            if (spec.loss, spec.layers[layer].activation) in MATCHED:
                return f"δ{s} = a{s} − y"
            return f"δ{s} = (a{s} − y) ⊙ f'(z{s})"
        n = sup(layer + 2)
        w = f"W{sup(spec.owner(layer + 1) + 1)}" + ("" if oi else T)
        return f"δ{s} = (δ{n} {w}) ⊙ f'(z{s})"
    if kind == "dW":
        return f"dW{s} = {K}δ{s}{T} a{p}" if oi else f"dW{s} = {K}a{p}{T} δ{s}"
    if kind == "db":
        return f"db{s} = {K}Σₖ δ{s}ₖ"
    if kind == "update":
        return "W ← W − η·dW,  b ← b − η·db"
    raise ValueError(f"unknown phase kind {kind!r}")


# ------------------------------------------------------------------ equations
@dataclass(frozen=True)
class Term:
    """One piece of an equation.

    ``kind``/``layer`` name the heatmap a click highlights (None for
    operators); ``shape`` is the text of this piece in the shapes line, e.g.
    ``"(32×10)"`` for a matrix, ``"+"`` for an operator, ``""`` to leave it out.
    """

    text: str
    kind: str | None = None
    layer: int | None = None
    shape: str = ""


@dataclass(frozen=True)
class Equation:
    """An equation of one layer: ``lhs = rhs`` with a shapes line.

    ``key`` is the ``(phase kind, engine layer)`` it belongs to (phase
    stepping highlights it); ``label`` says what it is ("forward", ...).
    """

    key: tuple[str, int]
    label: str
    lhs: tuple[Term, ...]
    rhs: tuple[Term, ...]
    note: str = ""
    rel: str = "="

    def text(self) -> str:
        return f"{_join(self.lhs)} {self.rel} {_join(self.rhs)}"

    def shapes(self) -> str:
        left = "".join(t.shape for t in self.lhs)
        right = "".join(t.shape for t in self.rhs)
        return f"{left} {self.rel} {right}" if left or right else ""


def _join(terms: tuple[Term, ...]) -> str:
    return "".join(t.text for t in terms)


def _m(kind: str, i: int, text: str, shape: tuple[int, ...], hl_kind: str | None = None,
       hl_layer: int | None = None) -> Term:
    """A matrix term: clickable, with its shape in parentheses."""
    return Term(text, hl_kind or kind, i if hl_layer is None else hl_layer,
                "(" + shape_text(shape) + ")")


def _op(text: str, shape: str | None = None) -> Term:
    return Term(text, None, None, text if shape is None else shape)


_LOSS_TEXT = {
    "squared_error": "Cₖ = ½ ‖aᴸₖ − yₖ‖²  (squared error)",
    "cross_entropy": "Cₖ = −Σᵢ yₖᵢ log aᴸₖᵢ  (cross-entropy)",
    "binary_cross_entropy": "Cₖ = −Σᵢ [yₖᵢ log aᴸₖᵢ + (1−yₖᵢ) log(1−aᴸₖᵢ)]",
}

_OPT_NOTE = {"momentum": "momentum: dW is first folded into a running sum v; W ← W − η v",
             "adam": "Adam: W moves by η times a normalised running mean of dW"}


def layer_equations(spec, i: int, K: int, notation: str = DEFAULT_NOTATION,
                    lr: float | None = None, optimizer: str = "sgd") -> list[Equation]:
    """Forward, loss (output layer), δ, dW, db and update equations of engine layer ``i``.

    ``spec`` is a :class:`~bpviz.engine.spec.NetworkSpec`; ``K`` the batch size.
    Shapes are those displayed in ``notation`` (W and dW transposed in in_out).
    """
    check(notation)
    L = len(spec.layers)
    l = layer_number(i)
    m, n = spec.weight_shape(i)
    o = spec.owner(i)                       # whose W and b this layer uses (tied layers)
    act = spec.layers[i].activation
    oi = notation == "out_in"
    W_shape = (m, n) if oi else (n, m)
    w_sym = "W" + sup(o + 1)
    b_sym = "b" + sup(o + 1)
    mean = spec.reduction == "mean"
    Kf = [_op("(1/K) ", f"(1/{K})")] if mean else []
    eqs: list[Equation] = []

    # forward
    a_prev = _m("a", i, "a" + sup(l - 1), (K, n))
    if oi:
        w_term = _m("W", o, w_sym + T, (n, m))
    else:
        w_term = _m("W", o, w_sym, (n, m))
    z = _m("z", i, "z" + sup(l), (K, m))
    eqs.append(Equation(("z", i), "forward", (z,),
                        (a_prev, _op(" ", ""), w_term, _op(" + "),
                         Term(b_sym, shape=f"({shape_text((m,))})"))))
    eqs.append(Equation(("a", i), "activation", (_m("a", i, "a" + sup(l), (K, m),
                                                    hl_layer=i + 1),),
                        (_op(f"{act}(", ""), Term("z" + sup(l), "z", i, f"{act}({K}×{m})"),
                         _op(")", ""))))
    # loss and output error
    if i == L - 1:
        eqs.append(Equation(("loss", i), "loss", (_op("C", "scalar"),),
                            (*Kf, _op("Σₖ Cₖ", f"Σ over {K} samples")),
                            note=_LOSS_TEXT.get(spec.loss, "").replace("ᴸ", sup(L))))
    if i == L - 1:
        a_out = _m("a", i, "a" + sup(l), (K, m), hl_layer=i + 1)
        y = _op("y", f"({K}×{m})")
        d = _m("delta", i, "δ" + sup(l), (K, m))
        if (spec.loss, act) in MATCHED:
            rhs = (a_out, _op(" − "), y)
            note = {"cross_entropy": "softmax + cross-entropy: the softmax Jacobian cancels "
                                     f"({M_NOTES})",
                    "binary_cross_entropy": "sigmoid + binary cross-entropy: σ' cancels",
                    "squared_error": f"C = ½Σ(a−y)², identity output: f' = 1 ({REUSED_NOTES})"
                    }[spec.loss]
        else:
            rhs = (_op("("), a_out, _op(" − "), y, _op(")"), _op(" ⊙ "),
                   Term(f"{act}'(z{sup(l)})", "z", i, f"({K}×{m})"))
            note = f"C = ½Σ(a−y)²: ∂C/∂a = a − y, times f'(z) ({REUSED_NOTES})"
        eqs.append(Equation(("delta", i), "output error", (d,), rhs, note=note))
    else:
        eqs.append(_backward(spec, i, K, notation, "backward error"))
    if i > 0:
        eqs.append(_backward(spec, i - 1, K, notation, f"back to layer {i}"))
    # gradients
    d_T = _m("delta", i, "δ" + sup(l) + (T if oi else ""), (m, K) if oi else (K, m))
    a_T = _m("a", i, "a" + sup(l - 1) + ("" if oi else T), (K, n) if oi else (n, K))
    prod = (d_T, _op(" ", ""), a_T) if oi else (a_T, _op(" ", ""), d_T)
    tied = f"this use's share; W{sup(o + 1)} gets the sum over its uses " \
        f"({REUSED_NOTES})" if o != i else ""
    eqs.append(Equation(("dW", i), "weight gradient",
                        (_m("dW", i, "dW" + sup(l), W_shape),), (*Kf, *prod), note=tied))
    eqs.append(Equation(("db", i), "bias gradient", (_m("db", i, "db" + sup(l), (m,)),),
                        (*Kf, _op("Σₖ ", ""), Term("δ" + sup(l) + sub("k"), "delta", i,
                                                   f" colsum({K}×{m})")),
                        note=f"column sums of δ ({M_NOTES})"))
    eqs.append(Equation(("update", -1), "update",
                        (_m("W", o, w_sym, W_shape),),
                        (_m("W", o, w_sym, W_shape), _op(" − η ", " − η"),
                         _m("dW", o if o != i else i, "dW" + sup(o + 1), W_shape)),
                        note=_OPT_NOTE.get(optimizer, ("" if lr is None else f"η = {lr:g}; ")
                                           + "b the same with db"),
                        rel="←"))
    return eqs


def _backward(spec, j: int, K: int, notation: str, label: str) -> Equation:
    """``δ^{j+1} = (δ^{j+2} W^{j+2}) ⊙ f'(z^{j+1})`` (engine layers j, j+1)."""
    l = layer_number(j)
    nxt = j + 1
    m2, m = spec.weight_shape(nxt)            # W of layer j+1 is m2×m (out × in)
    o = spec.owner(nxt)
    act = spec.layers[j].activation
    oi = notation == "out_in"
    w = _m("W", o, "W" + sup(o + 1) + ("" if oi else T), (m2, m))
    return Equation(("delta", j), label, (_m("delta", j, "δ" + sup(l), (K, m)),),
                    (_op("(", "("), _m("delta", nxt, "δ" + sup(l + 1), (K, m2)), _op(" ", ""),
                     w, _op(")", ")"), _op(" ⊙ "),
                     Term(f"{act}'(z{sup(l)})", "z", j, f"({K}×{m})")))
