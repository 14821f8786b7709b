"""Optimizers (SGD, momentum, Adam) with L1/L2 regularisation.

An optimizer updates the network's parameters in place from the total
gradients of a backprop (tied uses already summed). Regularisation adds
``l2·W + l1·sign(W)`` to the gradient of every weight matrix (never to a
bias), i.e. the penalty ``l2/2·‖W‖² + l1·‖W‖₁``, *before* the optimizer's
own update: ``l2`` is classic L2 regularisation (``weight_decay`` of
``torch.optim.SGD`` and ``torch.optim.Adam``), not AdamW's decoupled decay.

Each optimizer follows the PyTorch convention, so that a run can be
reproduced there (the tests compare 200 steps with ``torch.optim``):

* ``sgd``: ``θ ← θ − lr·g`` (``torch.optim.SGD``);
* ``momentum``: ``torch.optim.SGD(momentum=μ)`` with ``dampening=0`` and
  ``nesterov=False``;
* ``adam``: ``torch.optim.Adam`` (Algorithm 1 of Kingma & Ba, eps outside
  the bias-corrected root).

All scalars are Python floats: a NumPy scalar times a float32 array is
float64 under NumPy 2, so one NumPy scalar would silently double every
product of the step. Float32 parameters and slots stay float32.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import BpvizError

OPTIMIZERS = ("sgd", "momentum", "adam")


def check_hyper(name: str, value: Any, *, low: float = 0.0, strict: bool = False,
                high: float = math.inf) -> float:
    """``value`` as a float in range, else a :class:`BpvizError` saying so."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise BpvizError(f"{name} must be a number, got {value!r}") from None
    bad = not math.isfinite(v) or v < low or (strict and v == low) or v > high
    if bad:
        op = ">" if strict else ">="
        hi = f" and <= {high:g}" if math.isfinite(high) else ""
        raise BpvizError(f"{name} must be a finite number {op} {low:g}{hi}, got {value!r}")
    return v


class Optimizer:
    """Gradient descent step ``θ ← θ − lr·update(g)``; subclasses define ``update``."""

    name = "sgd"

    def __init__(self, lr: float = 0.1, l1: float = 0.0, l2: float = 0.0, **_: Any) -> None:
        self.lr = check_hyper("learning rate", lr, strict=True, high=1e3)
        self.l1 = check_hyper("L1", l1, high=10.0)
        self.l2 = check_hyper("L2", l2, high=10.0)
        self.t = 0

    def step(self, params: dict[str, Any], grads: dict[str, Any], xp: Any) -> None:
        """Update ``params`` in place from ``grads`` (same keys and shapes)."""
        self.t += 1
        for k, g in grads.items():
            p = params[k]
            if k[0] == "W" and (self.l1 or self.l2):
                g = g + self.l2 * p if self.l2 else g.copy()
                if self.l1:
                    g += self.l1 * xp.sign(p)
            p -= self.update(k, g, xp)

    def update(self, key: str, g: Any, xp: Any) -> Any:
        return self.lr * g

    # -------------------------------------------------------------- state
    def state_dict(self, to_host: Any = np.asarray) -> dict[str, Any]:
        """Hyperparameters and slot arrays (host NumPy) for saving."""
        return {"name": self.name, "lr": self.lr, "l1": self.l1, "l2": self.l2, "t": self.t,
                **self._hyper(), "slots": {k: to_host(v) for k, v in self._slots().items()}}

    def load_state_dict(self, state: dict[str, Any], xp: Any) -> None:
        self.t = int(state.get("t", 0))
        self._load_slots({k: xp.asarray(v) for k, v in state.get("slots", {}).items()})

    def _hyper(self) -> dict[str, float]:
        return {}

    def _slots(self) -> dict[str, Any]:
        return {}

    def _load_slots(self, slots: dict[str, Any]) -> None:
        pass


class Momentum(Optimizer):
    """Heavy ball: ``v ← μ v + g``, ``θ ← θ − lr v`` (``v`` starts at 0).

    This is ``torch.optim.SGD(lr, momentum=μ, dampening=0, nesterov=False)``:
    PyTorch starts its buffer at the first gradient, which is ``μ·0 + g``.
    (Some texts write ``v ← μ v − lr g``, ``θ ← θ + v``; with a constant ``lr``
    that is the same sequence of parameters.)
    """

    name = "momentum"

    def __init__(self, lr: float = 0.1, momentum: float = 0.9, **kw: Any) -> None:
        super().__init__(lr, **kw)
        self.momentum = check_hyper("momentum", momentum, high=0.9999)
        self.v: dict[str, Any] = {}

    def update(self, key: str, g: Any, xp: Any) -> Any:
        v = self.v.get(key)
        if v is None:
            v = self.v[key] = xp.zeros_like(g)
        v *= self.momentum
        v += g
        return self.lr * v

    def _hyper(self) -> dict[str, float]:
        return {"momentum": self.momentum}

    def _slots(self) -> dict[str, Any]:
        return {f"v.{k}": v for k, v in self.v.items()}

    def _load_slots(self, slots: dict[str, Any]) -> None:
        self.v = {k[2:]: v for k, v in slots.items() if k.startswith("v.")}


class Adam(Optimizer):
    """Adam: Algorithm 1 of Kingma & Ba (2015), as ``torch.optim.Adam`` computes it.

    With ``g`` the gradient (L2 and L1 terms already added) and ``t`` the
    step count from 1::

        m ← β₁ m + (1 − β₁) g            v ← β₂ v + (1 − β₂) g²
        m̂ = m / (1 − β₁ᵗ)                v̂ = v / (1 − β₂ᵗ)
        θ ← θ − lr · m̂ / (√v̂ + eps)

    ``eps`` is added to the bias-corrected root √v̂, not to √v (adding it
    before the correction, the paper's "efficient" reordering, makes eps
    effectively √(1 − β₂ᵗ) times smaller in early steps and drifts from
    PyTorch). The slot ``v`` is stored under the key ``s``.
    """

    name = "adam"

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, **kw: Any) -> None:
        super().__init__(lr, **kw)
        self.beta1 = check_hyper("beta1", beta1, high=0.9999)
        self.beta2 = check_hyper("beta2", beta2, high=0.99999)
        self.eps = check_hyper("eps", eps, strict=True)
        self.m: dict[str, Any] = {}
        self.s: dict[str, Any] = {}

    def update(self, key: str, g: Any, xp: Any) -> Any:
        if key not in self.m:
            self.m[key], self.s[key] = xp.zeros_like(g), xp.zeros_like(g)
        m, s = self.m[key], self.s[key]
        m *= self.beta1
        m += (1.0 - self.beta1) * g
        s *= self.beta2
        s += (1.0 - self.beta2) * (g * g)
        # Python floats: float32 slots stay float32 (a NumPy scalar would promote)
        bc1 = 1.0 - self.beta1 ** self.t
        bc2_root = math.sqrt(1.0 - self.beta2 ** self.t)
        denom = xp.sqrt(s)
        denom /= bc2_root                    # √v̂
        denom += self.eps                    # √v̂ + eps
        upd = m / denom
        upd *= self.lr / bc1                 # lr · m̂ / (√v̂ + eps)
        return upd

    def _hyper(self) -> dict[str, float]:
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def _slots(self) -> dict[str, Any]:
        return {**{f"m.{k}": v for k, v in self.m.items()},
                **{f"s.{k}": v for k, v in self.s.items()}}

    def _load_slots(self, slots: dict[str, Any]) -> None:
        self.m = {k[2:]: v for k, v in slots.items() if k.startswith("m.")}
        self.s = {k[2:]: v for k, v in slots.items() if k.startswith("s.")}


_CLASSES = {"sgd": Optimizer, "momentum": Momentum, "adam": Adam}


def make_optimizer(name: str, **hyper: Any) -> Optimizer:
    """An optimizer by name (``sgd``, ``momentum``, ``adam``) with its hyperparameters."""
    key = str(name).strip().lower()
    if key not in _CLASSES:
        raise BpvizError(f"unknown optimizer {name!r}; use one of {', '.join(OPTIMIZERS)}")
    return _CLASSES[key](**hyper)


def penalty(params: dict[str, Any], l1: float, l2: float, xp: Any) -> float:
    """The regularisation term ``l2/2·Σ‖W‖² + l1·Σ‖W‖₁`` over the weight matrices
    (not the biases) whose gradient :meth:`Optimizer.step` adds; 0 without L1/L2."""
    total = 0.0
    for k, p in params.items():
        if k[0] != "W":
            continue
        if l2:
            total += 0.5 * l2 * float(xp.vdot(p, p))
        if l1:
            total += l1 * float(xp.abs(p).sum())
    return total
