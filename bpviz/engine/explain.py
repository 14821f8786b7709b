"""Explain one number of a mini-batch: how the engine computed it, with the numbers plugged in.

Pure functions over a :class:`~bpviz.engine.records.BackpropRecord`, the weights
the batch used, the spec and the step's optimizer settings. Each returns an
:class:`Explanation`: a few :class:`Line` s, each an equation of the math
contract of ARCHITECTURE.md whose right side is written out term by term with
the record's own numbers, its unrounded value (float64) and the engine's value.

* a cell of ``dW``: ``dW_ij = (1/K) Σ_k δ_ki a_kj`` (no 1/K with "sum"), the
  entry (i, j) of ``δᵀa`` (the Cross Validated question "vectorized version of
  one of the backpropagation equations" and its answer);
* a cell of ``δ``: hidden ``δ_ki = (Σ_r δ^{l+1}_kr W^{l+1}_ri) · f'(z_ki)``;
  output ``a_ki − y_ki`` for the pairs of :data:`~bpviz.engine.functions.MATCHED`,
  else ``(a_ki − y_ki) · f'(z_ki)`` (squared error);
* a cell of ``z`` or ``a``: ``z_ki = Σ_j a_kj W_ij + b_i``, ``a_ki = f(z_ki)``;
* ``db_i = (1/K) Σ_k δ_ki`` (notes on vectorizing over m examples);
* a tied parameter: ``∂C/∂W = Σ`` over the layers that use it (notes on the
  math of neural networks with reused weights);
* ``W`` or ``b``: this step's update with the optimizer's rule
  (:mod:`bpviz.engine.optim`); momentum and Adam need the optimizer's running
  sums, which live in the trainer, not in the record (:func:`update_rule`).

Everything here is in the engine's convention and 0-based indices: the symbols
and the notation (W out×in or in×out, 1-based display indices) are the GUI's
to write (``bpviz.gui.notation``). A :class:`Ref` names one number (which
matrix, which layer, which cell) so a view can both print and highlight it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .functions import MATCHED, activate, derivative
from .records import BackpropRecord, StepRecord
from .spec import NetworkSpec

#: The matrix kinds that can be explained (engine shapes: a, z, δ K×·; W, dW m×n; b, db (m,)).
EXPLAIN_KINDS = ("a", "z", "delta", "dW", "db", "W", "b")
#: A sum with more terms than this is printed with its middle elided.
MAX_TERMS = 8
#: Terms printed before and after the elided middle.
HEAD, TAIL = 4, 3


@dataclass(frozen=True)
class Ref:
    """One number: entry ``(row, col)`` of matrix ``kind`` of ``layer``, and its value.

    ``kind`` is one of ``"a"`` (``a^{layer}``: the input of engine layer ``layer``,
    ``a⁰ = X``, ``a^L`` the output), ``"z"``, ``"delta"``, ``"dW"``, ``"db"`` (of
    engine layer ``layer``), ``"W"``, ``"b"`` (of the owning layer ``layer``), ``"y"``
    (the target, layer = the output layer), ``"fprime"`` (``f'(z)`` of ``layer``),
    ``"gW"``, ``"gb"`` (the total gradient ``∂C/∂W``, ``∂C/∂b`` of owner ``layer``),
    ``"g"`` (that gradient plus the L1/L2 terms), ``"v"``, ``"m"``, ``"s"``
    (optimizer slots), ``"mhat"``, ``"shat"``, ``"new"`` (the parameter after the
    update), or a hyperparameter ``"lr"``, ``"mu"``, ``"l1"``, ``"l2"``, ``"beta1"``,
    ``"beta2"``, ``"eps"``, ``"t"`` (``layer`` -1, no row or column). ``row`` is the
    engine row (sample k for K×m matrices, neuron i for W, dW and the vectors);
    ``col`` the engine column (None for vectors and scalars).
    """

    kind: str
    layer: int
    row: int | None
    col: int | None
    value: float


@dataclass(frozen=True)
class Line:
    """One equation ``lhs = rule(...)`` with the numbers plugged in.

    Attributes
    ----------
    rule : which equation: ``"input"``, ``"z"``, ``"act"``, ``"delta_out"``,
        ``"delta_hidden"``, ``"dW"``, ``"db"``, ``"tied"``, ``"reg"``, ``"sgd"``,
        ``"velocity"``, ``"momentum"``, ``"adam_m"``, ``"adam_s"``, ``"adam"``.
    lhs : the number the line computes.
    terms : the products that are summed, each a tuple of factors (for ``"act"``
        with softmax: the row's ``z_kr``, one per term); every term, none elided.
    index : the summation letter (``"k"``, ``"j"``, ``"r"``, ``"u"`` for uses).
    scale : the factor before the sum (1/K with "mean", else 1).
    extra : the other numbers the rule reads (see each builder), in order.
    fn : the activation of ``"act"``, ``"delta_hidden"``, ``"delta_out"``.
    result : the right side, unrounded, in float64 (NaN when a number is missing).
    """

    rule: str
    lhs: Ref
    terms: tuple[tuple[Ref, ...], ...] = ()
    index: str = ""
    scale: float = 1.0
    extra: tuple[Ref, ...] = ()
    fn: str = ""
    result: float = math.nan

    def shown(self) -> tuple[tuple[int, ...], int, tuple[int, ...]]:
        """``(head, elided, tail)``: the term positions printed before and after the
        elided middle and how many are left out (0: all printed)."""
        return elide(len(self.terms))


@dataclass(frozen=True)
class Explanation:
    """How one number of the mini-batch was computed.

    Attributes
    ----------
    kind, layer, i, j : the cell asked for (engine kind, engine layer, engine row and
        column; j is -1 for the vectors db and b).
    lines : the equations, in the order they are read.
    total : the unrounded value the explanation computes (float64).
    value : the engine's own value of it (the record's; NaN if the record does not
        hold it, e.g. W after the update).
    cell : the record's value of the cell itself (``W_ij`` before the update).
    reads : the heatmaps the explanation reads, ``(kind, engine layer, axis, index)``
        with ``axis`` ``"row"`` or ``"col"`` of the engine's matrix (the matrix
        panel's kinds: ``"a"`` of layer l is its input ``a^{l-1}``).
    notes : sentences that go with it (what is missing, a tie).
    """

    kind: str
    layer: int
    i: int
    j: int
    lines: tuple[Line, ...]
    total: float
    value: float
    cell: float
    reads: tuple[tuple[str, int, str, int], ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpdateRule:
    """The optimizer's rule and, when known, its running sums for one cell.

    ``slots`` holds this cell's running sums *after* the step (``{"v": ...}`` for
    momentum, ``{"m": ..., "s": ...}`` for Adam, with ``t`` the step count), as the
    trainer has them right after the step; None when they are not available.
    """

    optimizer: str = "sgd"
    lr: float = 0.1
    l1: float = 0.0
    l2: float = 0.0
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    t: int | None = None
    slots: dict[str, float] | None = None


@dataclass(frozen=True)
class NeuronCard:
    """Everything about neuron ``i`` of engine layer ``layer`` for sample ``k``.

    ``inputs`` (n,) is row k of ``a^{l-1}``, ``weights`` (n,) row i of W (out×in),
    ``dW_row`` (n,) row i of this use's dW; ``z``, ``a``, ``delta``, ``db`` are
    the explanations of those numbers.
    """

    layer: int
    i: int
    k: int
    inputs: np.ndarray
    weights: np.ndarray
    bias: float
    dW_row: np.ndarray
    z: Explanation
    a: Explanation
    delta: Explanation
    db: Explanation


def elide(n: int) -> tuple[tuple[int, ...], int, tuple[int, ...]]:
    """The positions of ``n`` terms to print: all of them up to :data:`MAX_TERMS`,
    else the first :data:`HEAD` and last :data:`TAIL` with ``n − HEAD − TAIL`` elided."""
    if n <= MAX_TERMS:
        return tuple(range(n)), 0, ()
    return tuple(range(HEAD)), n - HEAD - TAIL, tuple(range(n - TAIL, n))


# ------------------------------------------------------------------ helpers
def _f(x: Any) -> float:
    return float(np.float64(x))


def _scale(spec: NetworkSpec, K: int) -> float:
    return 1.0 / K if spec.reduction == "mean" else 1.0


def _sum(terms: tuple[tuple[Ref, ...], ...]) -> float:
    """Σ over the terms of the product of their factors, in float64."""
    if not terms:
        return 0.0
    prods = np.prod(np.array([[r.value for r in t] for t in terms], dtype=np.float64), axis=1)
    return float(prods.sum())


def _act_value(rec: BackpropRecord, p: int) -> np.ndarray:
    """``a^p`` (K×·): the input of engine layer p, or the output for p = L."""
    return rec.layers[p].a_prev if p < len(rec.layers) else rec.layers[-1].a


def _check(rec: BackpropRecord, spec: NetworkSpec, kind: str, layer: int, i: int,
           j: int) -> None:
    if kind not in EXPLAIN_KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(EXPLAIN_KINDS)}")
    L = len(rec.layers)
    top = L if kind == "a" else L - 1
    if not 0 <= layer <= top:
        raise ValueError(f"layer {layer} is out of range 0..{top}")
    if kind == "a":
        shape = _act_value(rec, layer).shape
    elif kind in ("z", "delta"):
        shape = rec.layers[layer].z.shape
    elif kind in ("W", "dW"):
        shape = spec.weight_shape(layer)
    else:
        shape = (spec.layers[layer].units,)
    if len(shape) == 1:
        if not 0 <= i < shape[0]:
            raise ValueError(f"{kind} of layer {layer + 1} has {shape[0]} entries; got {i}")
    elif not (0 <= i < shape[0] and 0 <= j < shape[1]):
        raise ValueError(f"{kind} of layer {layer + 1} is {shape[0]}×{shape[1]}; got ({i}, {j})")


def _fprime(fn: str, z: float, a: float) -> float:
    return _f(derivative(fn, np.array([z]), np.array([a]), np)[0])


# ------------------------------------------------------------------ builders
def explain(rec: BackpropRecord, weights: dict[str, np.ndarray], spec: NetworkSpec, kind: str,
            layer: int, i: int, j: int = -1, *, y: np.ndarray | None = None,
            rule: UpdateRule | None = None) -> Explanation:
    """How entry (i, j) of matrix ``kind`` of engine ``layer`` was computed.

    Parameters
    ----------
    rec : the backprop of the mini-batch (K samples).
    weights : the parameters the batch used, ``{"W0": (m, n), "b0": (m,), ...}``.
    spec : the network.
    kind : one of :data:`EXPLAIN_KINDS`; ``"a"`` of layer p is ``a^p``, the input of
        engine layer p (``a⁰ = X``; p = L is the network's output).
    layer : engine layer (0-based); for ``"W"`` and ``"b"`` any layer that uses the
        parameter (its owner's W is explained).
    i, j : row and column as the engine stores the matrix (z, a, δ: sample k and
        neuron; W, dW: neuron i and input j); for ``db`` and ``b`` the neuron is ``i``.
    y : the targets of the batch (K, m) as the network encodes them; needed for the
        output layer's δ (without them that line has no numbers).
    rule : the optimizer's rule, for ``"W"`` and ``"b"`` (default: SGD with lr 0.1).
    """
    _check(rec, spec, kind, layer, i, j)
    if kind == "a":
        return _explain_a(rec, spec, layer, i, j)
    if kind == "z":
        return _explain_z(rec, weights, spec, layer, i, j)
    if kind == "delta":
        return _explain_delta(rec, weights, spec, layer, i, j, y)
    if kind == "dW":
        return _explain_dW(rec, spec, layer, i, j)
    if kind == "db":
        return _explain_db(rec, spec, layer, i)
    return _explain_update(rec, weights, spec, kind, layer, i, j, rule or UpdateRule())


def explain_step(step: StepRecord, spec: NetworkSpec, kind: str, layer: int, i: int,
                 j: int = -1, *, y: np.ndarray | None = None,
                 rule: UpdateRule | None = None) -> Explanation | None:
    """:func:`explain` on a step record (None if it holds no matrices). Without a
    ``rule`` the update is SGD at the step's learning rate."""
    if step.backprop is None or step.weights is None:
        return None
    return explain(step.backprop, step.weights, spec, kind, layer, i, j, y=y,
                   rule=rule or UpdateRule(lr=step.lr))


def _explain_a(rec: BackpropRecord, spec: NetworkSpec, p: int, k: int, i: int) -> Explanation:
    A = _act_value(rec, p)
    lhs = Ref("a", p, k, i, _f(A[k, i]))
    if p == 0:
        line = Line("input", lhs, result=lhs.value)
        return Explanation("a", p, k, i, (line,), lhs.value, lhs.value, lhs.value,
                           notes=("a⁰ = X: an input of the data set, nothing computed",))
    l = p - 1                                           # the engine layer that made it
    fn = spec.layers[l].activation
    Z = rec.layers[l].z
    zref = Ref("z", l, k, i, _f(Z[k, i]))
    row = np.asarray(Z[k], dtype=np.float64)
    terms: tuple[tuple[Ref, ...], ...] = ()
    if fn == "softmax":
        terms = tuple((Ref("z", l, k, r, float(row[r])),) for r in range(row.size))
        result = _f(activate(fn, row[None, :], np)[0, i])
    else:
        result = _f(activate(fn, np.array([zref.value]), np)[0])
    line = Line("act", lhs, terms, "r", extra=(zref,), fn=fn, result=result)
    return Explanation("a", p, k, i, (line,), result, lhs.value, lhs.value,
                       reads=(("z", l, "row", k),))


def _explain_z(rec: BackpropRecord, weights: dict[str, np.ndarray], spec: NetworkSpec,
               l: int, k: int, i: int) -> Explanation:
    ly = rec.layers[l]
    o = ly.owner
    W, b = weights[f"W{o}"], weights[f"b{o}"]
    terms = tuple((Ref("a", l, k, j, _f(ly.a_prev[k, j])), Ref("W", o, i, j, _f(W[i, j])))
                  for j in range(W.shape[1]))
    bias = Ref("b", o, i, None, _f(b[i]))
    total = _sum(terms) + bias.value
    lhs = Ref("z", l, k, i, _f(ly.z[k, i]))
    line = Line("z", lhs, terms, "j", extra=(bias,), result=total)
    return Explanation("z", l, k, i, (line,), total, lhs.value, lhs.value,
                       reads=(("a", l, "row", k), ("W", l, "row", i)))


def _explain_delta(rec: BackpropRecord, weights: dict[str, np.ndarray], spec: NetworkSpec,
                   l: int, k: int, i: int, y: np.ndarray | None) -> Explanation:
    L = len(rec.layers)
    ly = rec.layers[l]
    fn = spec.layers[l].activation
    lhs = Ref("delta", l, k, i, _f(ly.delta[k, i]))
    zref = Ref("z", l, k, i, _f(ly.z[k, i]))
    aref = Ref("a", l + 1, k, i, _f(ly.a[k, i]))
    notes: tuple[str, ...] = ()
    if l == L - 1:
        matched = (spec.loss, fn) in MATCHED
        if y is None:
            yref = Ref("y", l, k, i, math.nan)
            notes = ("the targets y of this batch are not known here",)
        else:
            yref = Ref("y", l, k, i, _f(np.asarray(y)[k, i]))
        result = aref.value - yref.value
        extra: tuple[Ref, ...] = (aref, yref)
        if not matched:
            fp = Ref("fprime", l, k, i, _fprime(fn, zref.value, aref.value))
            result *= fp.value
            extra = (aref, yref, fp, zref)
        line = Line("delta_out", lhs, (), "", extra=extra, fn=fn, result=result)
        return Explanation("delta", l, k, i, (line,), result, lhs.value, lhs.value,
                           reads=(("z", l, "row", k),), notes=notes)
    nxt = rec.layers[l + 1]
    o = nxt.owner
    W = weights[f"W{o}"]
    terms = tuple((Ref("delta", l + 1, k, r, _f(nxt.delta[k, r])), Ref("W", o, r, i, _f(W[r, i])))
                  for r in range(W.shape[0]))
    fp = Ref("fprime", l, k, i, _fprime(fn, zref.value, aref.value))
    result = _sum(terms) * fp.value
    line = Line("delta_hidden", lhs, terms, "r", extra=(fp, zref, aref), fn=fn, result=result)
    return Explanation("delta", l, k, i, (line,), result, lhs.value, lhs.value,
                       reads=(("delta", l + 1, "row", k), ("W", l + 1, "col", i),
                              ("z", l, "row", k)))


def _uses(rec: BackpropRecord, owner: int) -> tuple[int, ...]:
    return tuple(u for u, ly in enumerate(rec.layers) if ly.owner == owner)


def _tied_line(rec: BackpropRecord, owner: int, param: str, i: int, j: int | None) -> Line:
    """``∂C/∂W^o_ij = Σ_u dW^u_ij`` over the layers u that use owner o's parameter."""
    uses = _uses(rec, owner)
    if param == "W":
        terms = tuple((Ref("dW", u, i, j, _f(rec.layers[u].dW[i, j])),) for u in uses)
        lhs = Ref("gW", owner, i, j, _f(rec.grads[f"W{owner}"][i, j]))
    else:
        terms = tuple((Ref("db", u, i, None, _f(rec.layers[u].db[i])),) for u in uses)
        lhs = Ref("gb", owner, i, None, _f(rec.grads[f"b{owner}"][i]))
    return Line("tied", lhs, terms, "u", result=_sum(terms))


def _tie_note(uses: tuple[int, ...], owner: int) -> str:
    names = ", ".join(str(u + 1) for u in uses)
    return (f"layers {names} use one W and b (layer {owner + 1}'s): the update uses the sum "
            "of their gradients (notes on the math of neural networks with reused weights)")


def _explain_dW(rec: BackpropRecord, spec: NetworkSpec, l: int, i: int, j: int) -> Explanation:
    ly = rec.layers[l]
    K = ly.delta.shape[0]
    terms = tuple((Ref("delta", l, k, i, _f(ly.delta[k, i])),
                   Ref("a", l, k, j, _f(ly.a_prev[k, j]))) for k in range(K))
    scale = _scale(spec, K)
    total = scale * _sum(terms)
    lhs = Ref("dW", l, i, j, _f(ly.dW[i, j]))
    lines = [Line("dW", lhs, terms, "k", scale, result=total)]
    uses = _uses(rec, ly.owner)
    notes = ()
    if len(uses) > 1:
        lines.append(_tied_line(rec, ly.owner, "W", i, j))
        notes = (_tie_note(uses, ly.owner),)
    return Explanation("dW", l, i, j, tuple(lines), total, lhs.value, lhs.value,
                       reads=(("delta", l, "col", i), ("a", l, "col", j)), notes=notes)


def _explain_db(rec: BackpropRecord, spec: NetworkSpec, l: int, i: int) -> Explanation:
    ly = rec.layers[l]
    K = ly.delta.shape[0]
    terms = tuple((Ref("delta", l, k, i, _f(ly.delta[k, i])),) for k in range(K))
    scale = _scale(spec, K)
    total = scale * _sum(terms)
    lhs = Ref("db", l, i, None, _f(ly.db[i]))
    lines = [Line("db", lhs, terms, "k", scale, result=total)]
    uses = _uses(rec, ly.owner)
    notes = ()
    if len(uses) > 1:
        lines.append(_tied_line(rec, ly.owner, "b", i, None))
        notes = (_tie_note(uses, ly.owner),)
    return Explanation("db", l, i, -1, tuple(lines), total, lhs.value, lhs.value,
                       reads=(("delta", l, "col", i),), notes=notes)


def _hyper(kind: str, value: float) -> Ref:
    return Ref(kind, -1, None, None, float(value))


def _explain_update(rec: BackpropRecord, weights: dict[str, np.ndarray], spec: NetworkSpec,
                    kind: str, layer: int, i: int, j: int, rule: UpdateRule) -> Explanation:
    """``θ ← θ − η·update(g)`` for one entry of W (i, j) or b (i) of ``layer``'s owner."""
    o = spec.owner(layer)
    uses = _uses(rec, o)
    is_W = kind == "W"
    col = j if is_W else None
    p = float(weights[f"{kind}{o}"][i, j] if is_W else weights[f"b{o}"][i])
    param = Ref(kind, o, i, col, p)
    lines: list[Line] = []
    notes: list[str] = []
    if len(uses) > 1:
        tl = _tied_line(rec, o, kind, i, col)
        lines.append(tl)
        notes.append(_tie_note(uses, o))
        grad = tl.lhs
    else:
        d = rec.layers[o].dW[i, j] if is_W else rec.layers[o].db[i]
        grad = Ref("dW" if is_W else "db", o, i, col, _f(d))
    g = grad
    if is_W and (rule.l1 or rule.l2):
        gval = grad.value + rule.l2 * p + rule.l1 * float(np.sign(p))
        g = Ref("g", o, i, col, gval)
        lines.append(Line("reg", g, extra=(grad, _hyper("l2", rule.l2), param,
                                           _hyper("l1", rule.l1)), result=gval))
    lr = _hyper("lr", rule.lr)
    new = Ref("new", o, i, col, math.nan)
    slots = rule.slots or {}
    if rule.optimizer == "momentum":
        v = Ref("v", o, i, col, float(slots.get("v", math.nan)))
        lines.append(Line("velocity", v, extra=(_hyper("mu", rule.momentum), g),
                          result=v.value))
        total = p - rule.lr * v.value
        lines.append(Line("momentum", new, extra=(param, lr, v), result=total))
        if "v" not in slots:
            notes.append("momentum's running sum v lives in the trainer, not in this record: "
                         "pause training to see its value")
    elif rule.optimizer == "adam":
        t = rule.t if rule.t is not None else -1
        m = Ref("m", o, i, col, float(slots.get("m", math.nan)))
        s = Ref("s", o, i, col, float(slots.get("s", math.nan)))
        b1, b2 = _hyper("beta1", rule.beta1), _hyper("beta2", rule.beta2)
        tt = _hyper("t", t)
        mhat = Ref("mhat", o, i, col, m.value / (1.0 - rule.beta1 ** t) if t > 0 else math.nan)
        shat = Ref("shat", o, i, col, s.value / (1.0 - rule.beta2 ** t) if t > 0 else math.nan)
        lines.append(Line("adam_m", mhat, extra=(m, b1, tt, g), result=mhat.value))
        lines.append(Line("adam_s", shat, extra=(s, b2, tt, g), result=shat.value))
        eps = _hyper("eps", rule.eps)
        total = p - rule.lr * mhat.value / (math.sqrt(shat.value) + rule.eps) \
            if math.isfinite(shat.value) and shat.value >= 0 else math.nan
        lines.append(Line("adam", new, extra=(param, lr, mhat, shat, eps), result=total))
        if "m" not in slots:
            notes.append("Adam's running means m and s live in the trainer, not in this record: "
                         "pause training to see their values")
    else:
        total = p - rule.lr * g.value
        lines.append(Line("sgd", new, extra=(param, lr, g), result=total))
    lines[-1] = replace(lines[-1], lhs=replace(new, value=total))
    return Explanation(kind, layer, i, j if is_W else -1, tuple(lines), total, math.nan, p,
                       reads=tuple(("dW" if is_W else "db", u, "row" if is_W else "col", i)
                                   for u in uses),
                       notes=tuple(notes))


def explain_neuron(rec: BackpropRecord, weights: dict[str, np.ndarray], spec: NetworkSpec,
                   layer: int, i: int, k: int, *, y: np.ndarray | None = None) -> NeuronCard:
    """Neuron ``i`` of engine ``layer`` for sample ``k``: its inputs (row k of
    ``a^{l-1}``), weights (row i of W), bias, ``z``, ``a``, ``δ``, ``db`` and its row of dW."""
    _check(rec, spec, "z", layer, k, i)
    ly = rec.layers[layer]
    o = ly.owner
    return NeuronCard(
        layer, i, k,
        np.asarray(ly.a_prev[k], dtype=np.float64),
        np.asarray(weights[f"W{o}"][i], dtype=np.float64),
        _f(weights[f"b{o}"][i]),
        np.asarray(ly.dW[i], dtype=np.float64),
        _explain_z(rec, weights, spec, layer, k, i),
        _explain_a(rec, spec, layer + 1, k, i),
        _explain_delta(rec, weights, spec, layer, k, i, y),
        _explain_db(rec, spec, layer, i),
    )


# ------------------------------------------------------------------ inputs from elsewhere
def batch_targets(spec: NetworkSpec, y_train: np.ndarray, batch_index: np.ndarray) -> np.ndarray:
    """The targets of a mini-batch (K, m) as the network encodes them (one-hot rows,
    a 0/1 column, or regression targets), in float64: the ``y`` of the output δ."""
    from .network import Network

    net = Network(replace(spec, init="zeros"), seed=0, dtype="float64")
    Y = np.asarray(y_train)[np.asarray(batch_index)]
    return np.asarray(net.encode_targets(Y, len(Y)), dtype=np.float64)


def update_rule(optimizer: Any, key: str, index: tuple[int, ...]) -> UpdateRule:
    """The rule of a live :class:`~bpviz.engine.optim.Optimizer` with the running sums of
    parameter ``key`` (``"W0"``, ``"b1"``, ...) at ``index``, as they are now (right after
    the trainer's last step). Run it on the training thread (a trainer job)."""
    state = optimizer.state_dict(to_host=lambda v: v)     # no copies: one entry is read
    slots: dict[str, float] = {}
    for name, arr in state.get("slots", {}).items():
        slot, _, k = name.partition(".")
        if k == key:
            slots[slot] = float(np.asarray(arr)[index])
    return UpdateRule(optimizer=state["name"], lr=state["lr"], l1=state["l1"], l2=state["l2"],
                      momentum=state.get("momentum", 0.9), beta1=state.get("beta1", 0.9),
                      beta2=state.get("beta2", 0.999), eps=state.get("eps", 1e-8),
                      t=int(state["t"]), slots=slots or None)
