"""Activations and losses, written once for NumPy and CuPy (``xp``).

Each activation gives ``f(z)`` and ``f'(z)`` expressed through ``a = f(z)``
where that is cheaper. Each loss gives the per-sample cost, the cost summed
over the batch and the output error ``δ^L`` (DESIGN.md §2).

Speed: on small mini-batches every NumPy call costs microseconds whatever its
size, so the hot functions use few calls (see :func:`total_loss`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

LEAKY_SLOPE = 0.01

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
        # 1/(1+e^{-z}) written through tanh: no overflow warning for large |z|
        a = xp.tanh(z * 0.5)
        a += 1
        a *= 0.5
        return a
    if name == "identity":
        return z
    if name == "leaky_relu":
        return xp.where(z > 0, z, z * LEAKY_SLOPE)
    if name == "softmax":
        e = z - z.max(axis=-1, keepdims=True)
        xp.exp(e, out=e)
        e /= e.sum(axis=-1, keepdims=True)
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


def sample_losses(loss: str, z: Any, a: Any, y: Any, xp: Any) -> Any:
    """Cost ``C_k`` of every sample, shape (K,), computed stably from ``z``."""
    if loss == "squared_error":
        d = a - y
        return 0.5 * (d * d).sum(axis=-1)
    if loss == "cross_entropy":
        # -Σ y log softmax(z) = -Σ y (z - max - log Σ e^{z-max})
        zmax = z.max(axis=-1, keepdims=True)
        lse = xp.log(xp.exp(z - zmax).sum(axis=-1, keepdims=True)) + zmax
        return -(y * (z - lse)).sum(axis=-1)
    if loss == "binary_cross_entropy":
        # -[y log σ(z) + (1-y) log(1-σ(z))] = softplus(z) - y z
        return (xp.logaddexp(0, z) - y * z).sum(axis=-1)
    raise ValueError(f"unknown loss {loss!r}")


def total_loss(loss: str, z: Any, a: Any, y: Any, xp: Any) -> float:
    """``Σ_k C_k``: the cost summed over the rows (or of one sample, for 1-D input).

    Equal to ``sample_losses(...).sum()`` to rounding, with fewer operations.
    Cross-entropy is ``−Σ y log a`` while no probability has underflowed to
    0 (then ``log a`` is exact to rounding); otherwise it falls back to the
    stable form through ``z``.
    """
    if loss == "squared_error":
        d = a - y
        return 0.5 * float(xp.vdot(d, d))
    if loss == "cross_entropy":
        with np.errstate(divide="ignore", invalid="ignore"):  # log 0: the fallback below
            C = -float(xp.vdot(y, xp.log(a)))
        if math.isfinite(C):
            return C
    elif loss == "binary_cross_entropy":
        return float(xp.logaddexp(0, z).sum() - xp.vdot(y, z))
    return float(sample_losses(loss, z, a, y, xp).sum())


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
