"""The two notations of the seeds, as display helpers (no Qt, no engine change).

* ``"out_in"`` (seeds 000–002, the engine's own): ``W^l`` is m×n (out × in),
  ``z = a Wᵀ + b``, ``dW = (1/K) δᵀ a`` (m×n).
* ``"in_out"`` (seed 004 and most textbooks that write ``X W``): ``W^l`` is
  n×m (in × out), ``z = a W + b``, ``dW = (1/K) aᵀ δ`` (n×m).

The second is the transpose of the first: only ``W`` and ``dW`` are shown
transposed; ``a``, ``z``, ``δ`` (K×·) and ``b``, ``db`` are the same in both.
Engine layer ``i`` is displayed as layer ``l = i + 1``; ``a⁰ = X``.

The equations of one layer are built here as :class:`Equation` objects (a list
of clickable :class:`Term` s plus their live shapes), so every view renders
the same formulas; :mod:`bpviz.gui.classroom.equations` turns them into HTML.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.functions import MATCHED
from ..engine.spec import NetworkSpec

NOTATIONS = ("out_in", "in_out")
DEFAULT_NOTATION = "out_in"

#: Menu/tooltip text of each notation.
LABELS = {
    "out_in": "W out×in (m×n):  z = a Wᵀ + b,  dW = δᵀa",
    "in_out": "W in×out (n×m):  z = a W + b,  dW = aᵀδ",
}

#: The general formulas, per notation (no layer numbers).
FORMULAS = {
    "out_in": {"z": "z = a Wᵀ + b", "dW": "dW = (1/K) δᵀ a",
               "delta": "δˡ = (δˡ⁺¹ Wˡ⁺¹) ⊙ f'(zˡ)", "W": "W: m×n (out × in)"},
    "in_out": {"z": "z = a W + b", "dW": "dW = (1/K) aᵀ δ",
               "delta": "δˡ = (δˡ⁺¹ Wˡ⁺¹ᵀ) ⊙ f'(zˡ)", "W": "W: n×m (in × out)"},
}

_SUP = str.maketrans("0123456789+-=()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾")
_SUB = str.maketrans("0123456789+-=()k", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₖ")
T = "ᵀ"

#: Kinds whose displayed matrix is transposed in "in_out".
TRANSPOSED_KINDS = ("W", "dW")


def check(notation: str) -> str:
    """``notation`` if it is known, else ValueError naming the two."""
    if notation not in NOTATIONS:
        raise ValueError(f"unknown notation {notation!r}; use 'out_in' or 'in_out'")
    return notation


def sup(x: int | str) -> str:
    """``12 -> '¹²'``."""
    return str(x).translate(_SUP)


def sub(x: int | str) -> str:
    """``12 -> '₁₂'``, ``'k' -> 'ₖ'``."""
    return str(x).translate(_SUB)


def layer_number(i: int) -> int:
    """Displayed layer number of engine layer ``i`` (``a⁰ = X`` is the input)."""
    return i + 1


def symbol(kind: str, i: int) -> str:
    """The symbol of engine layer ``i``'s matrix: ``"W²"``, ``"dW²"``, ``"δ²"``, ``"a²"``.

    ``kind`` is one of ``W, b, dW, db, z, a, delta, a_prev`` (``a_prev`` is the
    layer's input ``a^{l-1}``, ``a⁰`` for the first layer).
    """
    l = layer_number(i)
    names = {"W": "W", "b": "b", "dW": "dW", "db": "db", "z": "z", "a": "a", "delta": "δ"}
    if kind == "a_prev":
        return "a" + sup(l - 1)
    return names[kind] + sup(l)


def transposed(kind: str, notation: str) -> bool:
    """Whether ``kind`` is shown as the transpose of the engine's matrix."""
    return check(notation) == "in_out" and kind in TRANSPOSED_KINDS


def display_matrix(kind: str, M: np.ndarray, notation: str) -> np.ndarray:
    """The engine's matrix as this notation shows it (``W``, ``dW``: ``Mᵀ`` in in_out)."""
    return M.T if transposed(kind, notation) and M.ndim == 2 else M


def display_shape(kind: str, shape: tuple[int, ...], notation: str) -> tuple[int, ...]:
    """The engine shape as displayed (swapped for W and dW in in_out)."""
    shape = tuple(shape)
    return shape[::-1] if transposed(kind, notation) and len(shape) == 2 else shape


def shape_text(shape: tuple[int, ...]) -> str:
    """``(32, 10) -> '32×10'``, ``(10,) -> '10'``."""
    return "×".join(str(int(s)) for s in shape)


def matrix_title(kind: str, i: int, shape: tuple[int, ...], notation: str) -> str:
    """Heatmap title with the symbol and the displayed shape, e.g. ``"dW² — 10×32"``."""
    return f"{symbol(kind, i)} — {shape_text(display_shape(kind, shape, notation))}"


def axis_labels(kind: str, notation: str) -> tuple[str, str]:
    """``(row_label, col_label)`` of a displayed matrix."""
    if kind in ("a_prev",):
        return "sample k", "input j"
    if kind in ("a", "z", "delta"):
        return "sample k", "neuron i"
    if kind in ("W", "dW"):
        out_in = ("neuron i (out)", "input j (in)")
        return out_in[::-1] if transposed(kind, notation) else out_in
    return "", "neuron i"


def product_text(notation: str, transpose_mark: str = T) -> str:
    """The batch product of the weight gradient: ``"δᵀa"`` or ``"aᵀδ"``."""
    return f"δ{transpose_mark}a" if check(notation) == "out_in" else f"a{transpose_mark}δ"


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
                        (a_prev, _op(" ", ""), w_term, _op(" + "), Term(b_sym, shape=f"({m})"))))
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
                                     "(seed 004)",
                    "binary_cross_entropy": "sigmoid + binary cross-entropy: σ' cancels",
                    "squared_error": "C = ½Σ(a−y)², identity output: f' = 1 (seed 003)"
                    }[spec.loss]
        else:
            rhs = (_op("("), a_out, _op(" − "), y, _op(")"), _op(" ⊙ "),
                   Term(f"{act}'(z{sup(l)})", "z", i, f"({K}×{m})"))
            note = "C = ½Σ(a−y)²: ∂C/∂a = a − y, times f'(z) (seed 003)"
        eqs.append(Equation(("delta", i), "output error", (d,), rhs, note=note))
    else:
        eqs.append(_backward(spec, i, K, notation, "backward error"))
    if i > 0:
        eqs.append(_backward(spec, i - 1, K, notation, f"back to layer {i}"))
    # gradients
    d_T = _m("delta", i, "δ" + sup(l) + (T if oi else ""), (m, K) if oi else (K, m))
    a_T = _m("a", i, "a" + sup(l - 1) + ("" if oi else T), (K, n) if oi else (n, K))
    prod = (d_T, _op(" ", ""), a_T) if oi else (a_T, _op(" ", ""), d_T)
    tied = f"this use's share; W{sup(o + 1)} gets the sum over its uses (seed 003)" \
        if o != i else ""
    eqs.append(Equation(("dW", i), "weight gradient",
                        (_m("dW", i, "dW" + sup(l), W_shape),), (*Kf, *prod), note=tied))
    eqs.append(Equation(("db", i), "bias gradient", (_m("db", i, "db" + sup(l), (m,)),),
                        (*Kf, _op("Σₖ ", ""), Term("δ" + sup(l) + sub("k"), "delta", i,
                                                   f" colsum({K}×{m})")),
                        note="column sums of δ (seed 004)"))
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


# ------------------------------------------------------------------ phases
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


def _w(spec: NetworkSpec, i: int) -> str:
    return f"W{sup(spec.owner(i) + 1)}"


def phase_equation(kind: str, layer: int, spec: NetworkSpec) -> str:
    """The phase's equation in the engine's notation (W out × in), plain text."""
    L = len(spec.layers)
    s, p = sup(layer + 1), sup(layer)
    o = sup(spec.owner(layer) + 1) if layer >= 0 else ""
    K = "(1/K) " if spec.reduction == "mean" else ""
    if kind == "z":
        return f"z{s} = a{p} W{o}ᵀ + b{o}"
    if kind == "a":
        return f"a{s} = {spec.layers[layer].activation}(z{s})"
    if kind == "loss":
        return f"C = {K}Σₖ Cₖ({'a' + s}, y)"
    if kind == "delta":
        if layer == L - 1:
            act = spec.layers[layer].activation
            if (spec.loss, act) in MATCHED:
                return f"δ{s} = a{s} − y"
            return f"δ{s} = (a{s} − y) ⊙ f'(z{s})"
        n = sup(layer + 2)
        return f"δ{s} = (δ{n} {_w(spec, layer + 1)}) ⊙ f'(z{s})"
    if kind == "dW":
        return f"dW{s} = {K}δ{s}ᵀ a{p}"
    if kind == "db":
        return f"db{s} = {K}Σₖ δ{s}ₖ"
    if kind == "update":
        return "W ← W − η·dW,  b ← b − η·db"
    raise ValueError(f"unknown phase kind {kind!r}")
