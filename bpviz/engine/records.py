"""What the engine hands out: frozen records of host NumPy arrays.

Views read these and nothing else: no CuPy array, no layer object. Shapes
follow the math contract of ARCHITECTURE.md (K samples, layer l has W of
shape m×n).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .unit_stats import UnitStats


@dataclass(frozen=True)
class LayerRecord:
    """The matrices of one layer for one mini-batch.

    Attributes
    ----------
    a_prev : (K, n) input activations ``a^{l-1}`` (``X`` for the first layer)
    z : (K, m) pre-activations ``z = a^{l-1} Wᵀ + b``
    a : (K, m) activations ``a = f(z)``
    delta : (K, m) errors ``δ = ∂C_k/∂z``, one row per sample, no 1/K inside
    dW : (m, n) this use's gradient ``(1/K) δᵀ a^{l-1}`` (no 1/K with "sum")
    db : (m,) this use's bias gradient, the column sums of δ (over K for "mean")
    owner : index of the layer whose W and b this layer uses (itself if untied)
    """

    a_prev: np.ndarray
    z: np.ndarray
    a: np.ndarray
    delta: np.ndarray
    dW: np.ndarray
    db: np.ndarray
    owner: int


@dataclass(frozen=True)
class BackpropRecord:
    """One backprop on one mini-batch; the weights are not changed.

    ``grads`` maps ``"W{j}"``/``"b{j}"`` of every parameter-owning layer j to
    its total gradient: the sum of ``dW``/``db`` over every layer that uses it.
    """

    loss: float
    layers: tuple[LayerRecord, ...]
    grads: dict[str, np.ndarray]
    method: str
    batch_size: int

    @property
    def output(self) -> np.ndarray:
        return self.layers[-1].a


@dataclass(frozen=True)
class StepRecord:
    """What the trainer yields after one mini-batch.

    ``backprop`` and ``weights`` are filled only when matrices were asked for
    (they cost a copy); ``test_loss``/``test_accuracy`` and
    ``train_eval_loss``/``train_eval_accuracy`` only on evaluation steps.
    ``accuracy`` is None for regression. ``loss`` is the data loss of the
    batch; ``penalty`` the L1/L2 term at the weights it used (0 without
    regularisation); :attr:`objective` their sum. ``units`` (dead and saturated
    units per layer, update-to-weight ratios; see ``bpviz.engine.unit_stats``)
    comes with the matrices, like ``grad_norms``.
    """

    step: int
    epoch: int
    loss: float
    accuracy: float | None
    backprop_ms: float
    method: str
    batch_size: int
    lr: float
    batch_index: np.ndarray | None = None
    backprop: BackpropRecord | None = None
    weights: dict[str, np.ndarray] | None = None
    test_loss: float | None = None
    test_accuracy: float | None = None
    train_eval_loss: float | None = None
    train_eval_accuracy: float | None = None
    diverged: bool = False
    grad_norms: dict[str, float] = field(default_factory=dict)
    penalty: float = 0.0
    units: UnitStats | None = None

    @property
    def objective(self) -> float:
        """``loss + penalty``: the data loss plus the L1/L2 term, what the optimizer
        minimises (equal to ``loss`` without regularisation)."""
        return self.loss + self.penalty
