"""Activations and losses, written once for NumPy and CuPy (``xp``).

Each activation gives ``f(z)`` and ``f'(z)`` expressed through ``a = f(z)``
where that is cheaper. Each loss gives the per-sample cost, the cost summed
over the batch and the output error ``δ^L`` (the math contract of
ARCHITECTURE.md: ``δ^L = a − y`` for the matched pairings).

Accuracy: the cross-entropy losses are computed from the logits ``z`` in
log-sum-exp form, the way ``torch.nn.CrossEntropyLoss`` and
``BCEWithLogitsLoss`` do, wherever ``log a`` would not be exact (a
probability that has underflowed to a subnormal or to 0 has lost its
digits); each sample's cost is a sum of non-negative terms, so nothing
cancels. The sigmoid is ``e^{min(z,0)} / (1 + e^{−|z|})``,
accurate to rounding in both tails.

Speed: on small mini-batches every NumPy call costs microseconds whatever its
size, so the hot functions use few calls and no Python loop over samples.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

LEAKY_SLOPE = 0.01

#: log of the smallest normal float, by dtype character: below it, a probability has
#: lost relative precision (subnormal) and its log is no longer exact to rounding.
_LOG_TINY = {np.dtype(t).char: math.log(np.finfo(t).tiny) for t in ("float32", "float64")}

#: (loss, output activation) pairs whose output error is simply ``a − y``.
MATCHED = frozenset({
    ("cross_entropy", "softmax"),
    ("binary_cross_entropy", "sigmoid"),
    ("squared_error", "identity"),
})


def activate(name: str, z: Any, xp: Any) -> Any:
    """``a = f(z)``, shape (K, m)."""
    if name == "tanh":
        return xp.tanh(z)
    if name == "relu":
        return xp.maximum(z, 0)
    if name == "sigmoid":
        # σ(z) = 1/(1 + e^{−z}) for z ≥ 0 and e^{z}/(1 + e^{z}) for z < 0: e^{−|z|}
        # never overflows, and the lower tail keeps its relative precision (the
        # form 0.5·(1 + tanh(z/2)) cancels there: σ(−15) 2.6% off in float32)
        e = xp.abs(z)
        e *= -1
        xp.exp(e, out=e)                       # e^{−|z|} in (0, 1]
        a = xp.where(z >= 0, 1.0, e)           # a Python float: the dtype stays z's
        e += 1
        a /= e
        return a
    if name == "identity":
        return z
    if name == "leaky_relu":
        return xp.where(z > 0, z, z * LEAKY_SLOPE)
    if name == "softmax":
        e = z - z.max(axis=-1, keepdims=True)
        xp.exp(e, out=e)
        e /= e @ _ones(z.shape[-1], z.dtype, xp) if z.ndim == 2 else e.sum()
        return e
    raise ValueError(f"unknown activation {name!r}")


def derivative(name: str, z: Any, a: Any, xp: Any) -> Any:
    """Elementwise ``f'(z)``, shape (K, m). Softmax has a Jacobian, not this."""
    if name == "tanh":
        return 1 - a * a
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name == "sigmoid":
        return a * (1 - a)
    if name == "identity":
        return xp.ones_like(z)
    if name == "leaky_relu":
        return xp.where(z > 0, 1.0, LEAKY_SLOPE).astype(z.dtype)
    raise ValueError(f"f'(z) of {name!r} is a Jacobian; pair softmax with cross-entropy")


def backprop_activation(name: str, g: Any, z: Any, a: Any, xp: Any) -> Any:
    """``g ⊙ f'(z)`` (in place on ``g`` where possible): ``∂C/∂a → ∂C/∂z``."""
    if name == "identity":
        return g
    if name == "tanh":
        g *= 1 - a * a
        return g
    if name == "relu":
        g *= z > 0
        return g
    if name == "sigmoid":
        g *= a * (1 - a)
        return g
    g *= derivative(name, z, a, xp)
    return g


_ONES: dict[tuple[Any, int, str], Any] = {}


def _ones(m: int, dtype: Any, xp: Any) -> Any:
    """The (m, 1) column of ones that sums each row by a matrix product (NumPy sums
    short rows along an axis several times slower), made once per size and dtype."""
    key = (xp, m, dtype.char)
    ones = _ONES.get(key)
    if ones is None:
        ones = _ONES[key] = xp.ones((m, 1), dtype=dtype)
    return ones


def _log_softmax_parts(z: Any, a: Any, xp: Any) -> tuple[Any, Any, Any]:
    """``(s, lse, ones)`` with ``log softmax(z) = s − lse`` along the last axis.

    ``s = z − c`` for a per-row shift ``c`` and ``lse = log Σ_j e^{s_j}``, shape
    (K, 1) (or (1,) for one sample); ``ones`` is the (m, 1) column that sums a
    row by a matrix product. No ``log`` of a probability is taken, so a class
    whose probability underflows still gets its exact log-probability.

    Any ``c`` gives the same ``s − lse``; the usual ``c = max_j z_j`` needs a
    row-wise max, which NumPy computes slowly on short rows (40 µs for
    1024×10, more than the rest together). This uses the softmax-weighted mean
    ``c = Σ_j a_j z_j`` of the softmax output ``a``, a matrix product: since
    ``log Σ e^z = c + H(a)`` with the entropy ``0 ≤ H(a) ≤ log m``,
    ``max z − log m ≤ c ≤ max z``, so ``e^s ≤ m`` cannot overflow and
    ``Σ e^s ≥ 1`` cannot underflow.
    """
    ones = _ones(z.shape[-1], z.dtype, xp)
    az = a * z
    s = z - az @ ones
    e = xp.exp(s)
    lse = xp.log(e @ ones)
    return s, lse, ones


def _bce_terms(z: Any, y: Any, xp: Any) -> Any:
    """``softplus(z) − y z`` per element, shape of ``z``: the binary cross-entropy
    ``−[y log σ(z) + (1 − y) log(1 − σ(z))]`` of each output.

    Written as ``(max(z, 0) − y z) + log(1 + e^{−|z|})``: the first part is
    exactly ``max(±z, 0)`` for a 0/1 target and is taken first, so a sample
    that is right with a large logit keeps its small cost (no 800 − 800 after
    the small term has been rounded away), and ``e^{−|z|}`` never overflows.
    """
    r = xp.maximum(z, 0)
    r -= y * z
    t = xp.abs(z)
    t *= -1
    xp.exp(t, out=t)
    xp.log1p(t, out=t)
    r += t
    return r


def sample_losses(loss: str, z: Any, a: Any, y: Any, xp: Any) -> Any:
    """Cost ``C_k`` of every sample, shape (K,), computed stably from ``z``.

    * squared error: ``½ Σ_j (a_kj − y_kj)²``;
    * cross-entropy: ``−Σ_j y_kj log softmax(z_k)_j = (Σ_j y_kj)·lse_k − Σ_j y_kj s_kj``
      with ``s = z − c``, ``lse = log Σ e^s`` (see :func:`_log_softmax_parts`;
      ``a`` must be ``softmax(z)``, it only picks the shift ``c``);
    * binary cross-entropy: ``Σ_j softplus(z_kj) − y_kj z_kj``.

    The same arithmetic as :func:`total_loss`, so ``total_loss == sum`` of
    these to rounding.
    """
    if loss == "squared_error":
        d = a - y
        return 0.5 * (d * d).sum(axis=-1)
    if loss == "cross_entropy":
        s, lse, ones = _log_softmax_parts(z, a, xp)
        return (lse * (y @ ones) - (y * s) @ ones)[..., 0]
    if loss == "binary_cross_entropy":
        return _bce_terms(z, y, xp).sum(axis=-1)
    raise ValueError(f"unknown loss {loss!r}")


def total_loss(loss: str, z: Any, a: Any, y: Any, xp: Any) -> float:
    """``Σ_k C_k``: the cost summed over the rows (or of one sample, for 1-D input).

    ``z`` and ``a`` are (K, m) or (m,); ``y`` has their shape. The formulas
    are those of :func:`sample_losses` (log-sum-exp from ``z`` for the
    cross-entropies), summed with fewer calls: equal to
    ``sample_losses(...).sum()`` to rounding. Cross-entropy takes ``−Σ y log a``
    instead while no probability has left the normal floats (then ``log a`` is
    exact to rounding, and this runs every training step).
    """
    if loss == "squared_error":
        d = a - y
        return 0.5 * float(xp.vdot(d, d))
    if loss == "cross_entropy":
        # Fast path: while every probability is a normal float, log a is exact to
        # rounding and −Σ y log a costs two calls; a probability that underflowed
        # to a subnormal or 0 (a logit gap past ~87 in float32, ~708 in float64)
        # sends the batch to the log-sum-exp form through z.
        with np.errstate(divide="ignore"):
            log_a = xp.log(a)
        if float(log_a.min()) >= _LOG_TINY.get(a.dtype.char, math.inf):
            return -float(xp.vdot(y, log_a))
        s, lse, ones = _log_softmax_parts(z, a, xp)
        return float(xp.vdot(y @ ones, lse) - xp.vdot(y, s))
    if loss == "binary_cross_entropy":
        return float(_bce_terms(z, y, xp).sum())
    raise ValueError(f"unknown loss {loss!r}")


def output_delta(loss: str, activation: str, z: Any, a: Any, y: Any, xp: Any) -> Any:
    """``δ^L = ∂C_k/∂z^L``, shape (K, m), no 1/K inside.

    Softmax + cross-entropy, sigmoid + binary cross-entropy and identity +
    squared error all give ``a − y``; otherwise ``(∂C/∂a) ⊙ f'(z)``.
    """
    if (loss, activation) in MATCHED:
        return a - y
    if loss == "squared_error":
        return backprop_activation(activation, a - y, z, a, xp)
    if loss == "binary_cross_entropy":
        return backprop_activation(activation, (a - y) / (a * (1 - a)), z, a, xp)
    raise ValueError(f"cross-entropy needs a softmax output, got {activation!r}")
