"""An engineer's view of a network: dead and saturated units, update-to-weight ratios.

Computed from one published step's :class:`~bpviz.engine.records.BackpropRecord`
(host arrays, shapes as in the math contract of ARCHITECTURE.md: ``a^l`` and
``z^l`` are K×m, one sample per row, one unit per column), with a few
reductions per layer, so it costs little for every network size.

* **Dead unit**: column i of ``a^l`` is exactly zero for every sample of the
  batch. For a ReLU layer this is a unit that is never active over the batch
  (``z ≤ 0`` for every sample): no gradient flows through it.
* **Saturated unit** (sigmoid and tanh layers only): ``|z| > 3`` for more than
  95 % of the batch, where ``f'(z)`` is under 0.05 (sigmoid) or 0.01 (tanh) and
  the unit barely learns. An output layer whose error is ``δ^L = a^L − y``
  (sigmoid with binary cross-entropy) is not counted: there ``f'`` does not
  enter δ, and a large ``|z|`` only means a confident output.
* **Update-to-weight ratio** of layer l: ``‖ΔW‖ / ‖W‖`` (Frobenius norms) with
  ``ΔW`` the update the optimizer applied to the layer's weights (momentum,
  Adam and L1/L2 included), or ``η·dW`` with ``dW`` the layer's total gradient
  when no applied update is given. A rule of thumb wants it near ``1e-3``: far
  below, the layer learns slowly; far above, it is unstable. A tied layer
  reports the ratio of the weights it uses (its owner's).

The index arrays are the columns of ``a^l``, ``z^l`` and ``δ^l`` (and the rows
of ``W^l``) that a view outlines; they are 0-based, as every engine index.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .functions import MATCHED
from .records import BackpropRecord
from .spec import NetworkSpec

#: ``|z|`` above this counts as saturated (for sigmoid and tanh units)
SATURATION_Z = 3.0
#: a unit is saturated when more than this share of the batch is beyond SATURATION_Z
SATURATION_SHARE = 0.95
#: the activations that saturate
SATURATING = ("sigmoid", "tanh")
#: the rule of thumb for the update-to-weight ratio
RULE_OF_THUMB = 1e-3
#: what ``UnitStats.update`` says the ratio's numerator is
APPLIED = "applied update"
LR_GRADIENT = "η·dW"

DEAD_RULE = ("dead: the unit's activation is 0 for every sample of the batch "
             "(a ReLU never active)")
SATURATION_RULE = (f"saturated (sigmoid, tanh): |z| > {SATURATION_Z:g} for more than "
                   f"{SATURATION_SHARE:.0%} of the batch")


@dataclass(frozen=True)
class LayerUnits:
    """Dead and saturated units of one layer on one mini-batch.

    Attributes
    ----------
    units : m, the layer's number of units (columns of ``a^l``)
    dead : (d,) int64, 0-based indices of the dead units, ascending
    saturated : (s,) int64, 0-based indices of the saturated units, ascending
        (empty for a layer that does not saturate)
    can_saturate : whether the saturation rule applies to this layer (see :func:`saturates`)
    """

    units: int
    dead: np.ndarray
    saturated: np.ndarray
    can_saturate: bool = False

    @property
    def n_dead(self) -> int:
        return int(self.dead.size)

    @property
    def n_saturated(self) -> int:
        return int(self.saturated.size)


@dataclass(frozen=True)
class UnitStats:
    """Per-layer unit health and update ratios of one step (see the module's rules).

    Attributes
    ----------
    layers : one :class:`LayerUnits` per layer, in engine order
    ratios : (L,) update-to-weight ratio of each layer; NaN where ``‖W‖ = 0``
    update : what the ratio's numerator is: :data:`APPLIED` or :data:`LR_GRADIENT`
    """

    layers: tuple[LayerUnits, ...]
    ratios: tuple[float, ...]
    update: str


def dead_units(a: np.ndarray) -> np.ndarray:
    """0-based indices of the columns of ``a`` (K, m) that are zero for every sample."""
    return np.flatnonzero(~np.any(a, axis=0)).astype(np.int64)


def saturated_units(z: np.ndarray) -> np.ndarray:
    """0-based indices of the columns of ``z`` (K, m) with ``|z| > SATURATION_Z`` for
    more than ``SATURATION_SHARE`` of the K samples."""
    beyond = np.count_nonzero(np.abs(z) > SATURATION_Z, axis=0)
    return np.flatnonzero(beyond > SATURATION_SHARE * z.shape[0]).astype(np.int64)


def saturates(spec: NetworkSpec, layer: int) -> bool:
    """Whether layer ``layer`` of ``spec`` can stall by saturation: a sigmoid or tanh
    layer, except an output whose δ is ``a − y`` (f' does not enter it)."""
    act = spec.layers[layer].activation
    if act not in SATURATING:
        return False
    last = layer == len(spec.layers) - 1
    return not (last and (spec.loss, act) in MATCHED)


def unit_stats(rec: BackpropRecord, spec: NetworkSpec, weights: Mapping[str, np.ndarray],
               lr: float, applied: Mapping[str, float] | None = None) -> UnitStats:
    """Dead and saturated units of every layer and the update-to-weight ratios.

    Parameters
    ----------
    rec : the step's backprop record; ``a`` and ``z`` of layer l are (K, m_l).
    spec : the network's spec (activations, loss, tied layers).
    weights : ``{"W{j}": (m, n), ...}`` the weights the backprop used.
    lr : the learning rate η.
    applied : ``{"W{j}": ‖ΔW^j‖}``, the norm of the update the optimizer applied
        to each weight matrix; None to use ``η·‖dW^j‖`` of the total gradients.

    Returns
    -------
    UnitStats
    """
    layers = []
    ratios = []
    for l, ly in enumerate(rec.layers):
        can = saturates(spec, l)
        sat = saturated_units(ly.z) if can else np.empty(0, np.int64)
        layers.append(LayerUnits(int(ly.a.shape[1]), dead_units(ly.a), sat, can))
        key = f"W{ly.owner}"
        w = float(np.linalg.norm(weights[key]))
        step = applied[key] if applied is not None else lr * float(np.linalg.norm(rec.grads[key]))
        ratios.append(step / w if w > 0 and math.isfinite(w) else math.nan)
    return UnitStats(tuple(layers), tuple(ratios), LR_GRADIENT if applied is None else APPLIED)
