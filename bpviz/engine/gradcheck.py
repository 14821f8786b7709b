"""Gradient check: backprop against central differences, in float64.

For each parameter entry θ, ``(C(θ+h) − C(θ−h)) / 2h`` is compared with the
backprop gradient; the relative error is ``|g − n| / max(|g|, |n|, floor)``.
Central differences carry a rounding error of about ``ε·|C|/h`` whatever the
gradient, so an entry much smaller than that cannot be checked relatively:
the floor is the gradient size at which a pessimistic rounding bound
(``64·ε·max(|C|, 1)/h``) would be exactly :data:`TOLERANCE` of it. A real bug
(a missing ``f'(z)``, a transposed product) is far above that floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .network import Network

#: Relative errors below this count as agreement.
TOLERANCE = 1e-6


@dataclass(frozen=True)
class GradCheck:
    """Per parameter: backprop gradient, numeric gradient and relative error.

    ``checked`` marks the entries that were differenced (all of them unless a
    parameter has more than ``max_entries``); unchecked entries have error 0.
    """

    analytic: dict[str, np.ndarray]
    numeric: dict[str, np.ndarray]
    rel_error: dict[str, np.ndarray]
    checked: dict[str, np.ndarray]

    @property
    def max_rel_error(self) -> dict[str, float]:
        return {k: float(v.max()) if v.size else 0.0 for k, v in self.rel_error.items()}

    @property
    def worst(self) -> float:
        return max(self.max_rel_error.values(), default=0.0)

    def passed(self, tol: float = TOLERANCE) -> bool:
        return self.worst < tol


def relative_error(g: np.ndarray, n: np.ndarray, floor: float) -> np.ndarray:
    """``|g − n| / max(|g|, |n|, floor)`` elementwise."""
    return np.abs(g - n) / np.maximum(np.maximum(np.abs(g), np.abs(n)), floor)


def noise_floor(loss: float, h: float, tol: float = TOLERANCE) -> float:
    """Gradient size below which central differences cannot reach ``tol``."""
    return 64 * np.finfo(np.float64).eps * max(abs(loss), 1.0) / h / tol


def gradcheck(
    net: Network,
    X: Any,
    Y: Any,
    *,
    h: float = 1e-6,
    max_entries: int | None = 2000,
    seed: int = 0,
    broken: bool = False,
) -> GradCheck:
    """Compare ``net``'s vectorized gradient with central differences.

    The check runs on a float64 NumPy copy of ``net`` (its weights unchanged).
    ``broken=True`` drops ``f'(z)`` from the backward pass, a deliberate bug
    that shows what a failing check looks like.
    """
    work = Network(net.spec, seed=net.seed, dtype="float64", backend="numpy")
    work.set_weights(net.get_weights())
    Xd, Yd = work.prepare(np.asarray(X), np.asarray(Y))
    grads = work.gradients(Xd, Yd, "vectorized", drop_fprime=broken).grads
    floor = noise_floor(work.forward_cost(Xd, Yd)[0], h)
    rng = np.random.default_rng(seed)
    analytic, numeric, rel, checked = {}, {}, {}, {}
    for key, p in work.params.items():
        g = np.asarray(grads[key], dtype=np.float64)
        num = np.zeros_like(p)
        mask = np.zeros(p.shape, dtype=bool)
        flat_idx = np.arange(p.size)
        if max_entries is not None and p.size > max_entries:
            flat_idx = rng.choice(p.size, size=max_entries, replace=False)
        mask.flat[flat_idx] = True
        flat = p.reshape(-1)                 # a view: perturb in place
        for i in flat_idx:
            old = flat[i]
            flat[i] = old + h
            up = work.forward_cost(Xd, Yd)[0]
            flat[i] = old - h
            down = work.forward_cost(Xd, Yd)[0]
            flat[i] = old
            num.flat[i] = (up - down) / (2 * h)
        analytic[key], numeric[key], checked[key] = g, num, mask
        rel[key] = np.where(mask, relative_error(g, num, floor), 0.0)
    return GradCheck(analytic, numeric, rel, checked)
