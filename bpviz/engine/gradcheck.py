"""Gradient check: backprop against central differences, in float64.

For each parameter entry θ the central difference ``n = (C(θ+h) − C(θ−h)) / 2h``
is compared with the backprop gradient ``g``; the reported error is

    |g − n| / max(|g|, |n|, floor),   floor = 64·ε·max(|C|, 10⁻⁶) / (h·tol)

with C the cost of the mini-batch, ε the float64 machine epsilon and ``tol``
the tolerance (10⁻⁶ by default). ``64·ε·|C|/h`` is a pessimistic bound on the
rounding noise of a central difference, so the floor is the gradient size at
which that noise would be exactly ``tol`` of it: an entry above the floor is
held to its plain relative error, an entry below it to an absolute error of
``tol·floor`` (it is too small for central differences to check relatively).

The floor scales with the cost, as the noise does: as training brings C down,
the gradient shrinks and so does the floor (on xor after 30,000 steps,
C ≈ 1.5·10⁻⁴, the gradient ≈ 10⁻⁵ and the floor ≈ 2·10⁻⁶), so a relative
error of 10⁻⁴ in any entry larger than ``floor/100`` (≈ 1.4·10⁻⁴·|C| with the
defaults) is reported. (A floor fixed at ``|C| = 1`` hid errors up to 4·10⁻³
there.) A real bug (a missing ``f'(z)``, a transposed product) is far above
the floor.
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
    ``floor`` is the floor of the error (see the module docstring).
    """

    analytic: dict[str, np.ndarray]
    numeric: dict[str, np.ndarray]
    rel_error: dict[str, np.ndarray]
    checked: dict[str, np.ndarray]
    floor: float = 0.0

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


#: The loss level below which the floor stops shrinking (a perfect fit, C = 0,
#: would otherwise leave no room at all for rounding noise).
LOSS_MIN = 1e-6


def noise_floor(loss: float, h: float, tol: float = TOLERANCE) -> float:
    """Gradient size below which central differences cannot reach ``tol``:
    ``64·ε·max(|C|, LOSS_MIN) / (h·tol)``, a pessimistic bound on the rounding
    noise of a central difference of a cost of size ``|C|``, divided by ``tol``."""
    return 64 * np.finfo(np.float64).eps * max(abs(loss), LOSS_MIN) / h / tol


def compare(analytic: dict[str, np.ndarray], numeric: dict[str, np.ndarray],
            checked: dict[str, np.ndarray], loss: float, h: float,
            tol: float = TOLERANCE) -> GradCheck:
    """Score backprop gradients against central differences taken with step ``h``.

    ``analytic``, ``numeric`` and ``checked`` (boolean masks) map each
    parameter name to arrays of its shape; ``loss`` is the cost C at the
    unperturbed parameters. Unchecked entries score 0.
    """
    floor = noise_floor(loss, h, tol)
    rel = {key: np.where(checked[key], relative_error(g, numeric[key], floor), 0.0)
           for key, g in analytic.items()}
    return GradCheck(dict(analytic), dict(numeric), rel, dict(checked), floor)


def gradcheck(
    net: Network,
    X: Any,
    Y: Any,
    *,
    h: float = 1e-6,
    max_entries: int | None = 2000,
    seed: int = 0,
    broken: bool = False,
    tol: float = TOLERANCE,
) -> GradCheck:
    """Compare ``net``'s vectorized gradient with central differences.

    The check runs on a float64 NumPy copy of ``net`` (its weights unchanged).
    ``broken=True`` drops ``f'(z)`` from the backward pass, a deliberate bug
    that shows what a failing check looks like. ``tol`` is the tolerance the
    result will be judged by; it sets the noise term of the floor.
    """
    work = Network(net.spec, seed=net.seed, dtype="float64", backend="numpy")
    work.set_weights(net.get_weights())
    Xd, Yd = work.prepare(np.asarray(X), np.asarray(Y))
    grads = work.gradients(Xd, Yd, "vectorized", drop_fprime=broken).grads
    C = work.forward_cost(Xd, Yd)[0]
    rng = np.random.default_rng(seed)
    analytic, numeric, checked = {}, {}, {}
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
    return compare(analytic, numeric, checked, C, h, tol)
