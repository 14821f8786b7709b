"""Two runs side by side: run B differs from run A only in what the user changed.

A :class:`Comparison` holds two :class:`~bpviz.engine.trainer.Trainer` s on the
same data set with the same seed, so both draw the same mini-batches in the same
order and start from the same weights wherever the two networks have the same
shapes and initialiser. Run B changes one named thing (:data:`CHANGES`): the
hidden layers' activation, the optimizer, the learning rate, the initialiser,
the batch size, or the whole network spec. :meth:`Comparison.step` trains both
in lock step and returns both :class:`~bpviz.engine.records.StepRecord` s.

Each run is named by its difference ("sigmoid" vs "relu", "zeros" vs "glorot",
"SGD" vs "Adam", "lr 0.1" vs "lr 0.5"), so a legend can say which is which.

The comparison presets (:data:`COMPARISON_PRESETS`) tell the classic stories:
vanishing gradients (a deep sigmoid network against the same with relu: watch
‖δˡ‖ per layer), symmetry (zeros against Glorot initialisation: with zeros every
hidden unit stays equal) and SGD against Adam. Qt-free, like all of the engine;
the window is ``bpviz/gui/compare_window.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .errors import BpvizError
from .fitting import fit_to_data
from .network import Network
from .optim import OPTIMIZERS
from .presets import DataChoice
from .records import StepRecord
from .spec import HIDDEN_ACTIVATIONS, INITS, LayerSpec, NetworkSpec
from .trainer import TrainConfig, Trainer

#: What run B may change, and how the user names it.
CHANGES = {
    "activation": "activation of the hidden layers",
    "optimizer": "optimizer",
    "lr": "learning rate",
    "init": "initialiser",
    "batch_size": "batch size",
    "spec": "network",
}

#: How the runs name an optimizer.
OPTIMIZER_NAMES = {"sgd": "SGD", "momentum": "momentum", "adam": "Adam"}

#: The most steps one :meth:`Comparison.step` call trains.
MAX_STEPS = 1_000_000


def _number(x: float) -> str:
    """A learning rate as people write it: ``0.1``, ``0.005``, ``1e-05``."""
    return f"{x:g}"


def hidden_activation_name(spec: NetworkSpec) -> str:
    """The hidden layers' activation as one name ("sigmoid"), or the list when mixed."""
    acts = [ly.activation for ly in spec.layers[:-1]]
    if not acts:
        return "no hidden layer"
    return acts[0] if len(set(acts)) == 1 else "/".join(acts)


def _spec_name(spec: NetworkSpec, other: NetworkSpec) -> str:
    """The shortest description of ``spec`` that tells it from ``other``."""
    sizes = spec.describe().split(" ", 1)[0]
    return sizes if sizes != other.describe().split(" ", 1)[0] else spec.describe()


@dataclass(frozen=True)
class Change:
    """What run B changes: ``what`` (a key of :data:`CHANGES`) becomes ``value``."""

    what: str
    value: Any

    def describe(self) -> str:
        """E.g. ``"learning rate → 0.5"``."""
        v = self.value.describe() if isinstance(self.value, NetworkSpec) else self.value
        return f"{CHANGES.get(self.what, self.what)} → {v}"


def _bad(what: str, value: Any, allowed: str) -> BpvizError:
    return BpvizError(f"cannot compare: {CHANGES[what]} {value!r} is not valid; use {allowed}")


def apply_change(spec: NetworkSpec, config: TrainConfig, data: Any,
                 change: Change) -> tuple[NetworkSpec, TrainConfig, tuple[str, str]]:
    """Run B's spec and settings, and the names of A and B.

    Parameters
    ----------
    spec, config : run A's network (fitted to ``data``) and settings.
    data : the data set both runs train on.
    change : what B changes.

    Returns
    -------
    (spec_b, config_b, (name_a, name_b))

    Raises
    ------
    BpvizError
        One line: an unknown change, an invalid value, or a value that leaves B
        equal to A.
    """
    what, value = change.what, change.value
    if what not in CHANGES:
        raise BpvizError(f"cannot compare: unknown change {what!r}; B may change one of "
                         + ", ".join(CHANGES))
    spec_b, config_b = spec, config
    if what == "activation":
        if value not in HIDDEN_ACTIVATIONS:
            raise _bad(what, value, "one of " + ", ".join(HIDDEN_ACTIVATIONS))
        if len(spec.layers) < 2:
            raise BpvizError("cannot compare activations: the network has no hidden layer; "
                             "add one in the layer editor")
        layers = tuple(replace(ly, activation=value) for ly in spec.layers[:-1])
        spec_b = replace(spec, layers=(*layers, spec.layers[-1]))
        names = (hidden_activation_name(spec), value)
    elif what == "optimizer":
        if value not in OPTIMIZERS:
            raise _bad(what, value, "one of " + ", ".join(OPTIMIZERS))
        config_b = replace(config, optimizer=value)
        names = (OPTIMIZER_NAMES[config.optimizer], OPTIMIZER_NAMES[value])
    elif what == "lr":
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value <= 0:
            raise _bad(what, value, "a number > 0, e.g. 0.5")
        config_b = replace(config, lr=float(value))
        names = (f"lr {_number(config.lr)}", f"lr {_number(float(value))}")
    elif what == "init":
        if value not in INITS:
            raise _bad(what, value, "one of " + ", ".join(INITS))
        spec_b = replace(spec, init=value)
        names = (spec.init, value)
    elif what == "batch_size":
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise _bad(what, value, "a whole number >= 1, e.g. 64")
        config_b = replace(config, batch_size=int(value))
        names = (f"batch {config.batch_size}", f"batch {int(value)}")
    else:  # spec
        if isinstance(value, dict):
            value = NetworkSpec.from_dict(value)
        if not isinstance(value, NetworkSpec):
            raise _bad(what, value, "a network spec")
        spec_b = fit_to_data(value, data).spec
        names = (_spec_name(spec, spec_b), _spec_name(spec_b, spec))
    try:
        config_b.validate()
        spec_b.validate()
    except BpvizError as exc:
        raise BpvizError(f"cannot compare: {exc}") from None
    if spec_b == spec and config_b == config:
        raise BpvizError(f"cannot compare: B's {CHANGES[what]} is {names[1]}, the same as "
                         "A's; choose a different value")
    if names[0] == names[1]:
        names = (f"A: {names[0]}", f"B: {names[1]}")
    return spec_b, config_b, names


class Comparison:
    """Two trainers, A and B, on the same data and seed; B differs only by ``change``.

    Parameters
    ----------
    spec : run A's network; fitted to ``data`` (``fit_to_data``).
    data : the data set (a ``Dataset``) both runs train on.
    config : run A's settings; both runs use its seed (weights and batch order).
    change : what run B changes (a :class:`Change`).
    backend : ``"numpy"`` or ``"cupy"`` (both runs on the same one).

    Attributes
    ----------
    a, b : the two :class:`Trainer` s.
    names : ``(name_a, name_b)``, each run named by its difference.

    Raises
    ------
    BpvizError
        If the change is unknown or invalid; then nothing is built.
    """

    def __init__(self, spec: NetworkSpec, data: Any, config: TrainConfig, change: Change,
                 backend: str = "numpy") -> None:
        spec = fit_to_data(spec, data).spec
        config = config.validate()
        spec_b, config_b, names = apply_change(spec, config, data, change)
        self.change = change
        self.names = names
        self.data = data
        self._specs = (spec, spec_b)
        self._configs = (config, config_b)
        self._backend = backend
        self.diverged: str | None = None
        self.a, self.b = self._build()

    def _build(self) -> tuple[Trainer, Trainer]:
        (sa, sb), (ca, cb) = self._specs, self._configs
        net_a = Network(sa, seed=ca.seed, backend=self._backend)
        net_b = Network(sb, seed=ca.seed, backend=self._backend)
        if sa.init == sb.init:
            # the same start wherever the shapes agree (a changed spec draws in another order)
            wa, wb = net_a.get_weights(), net_b.get_weights()
            same = {k: v for k, v in wa.items() if k in wb and wb[k].shape == v.shape}
            net_b.set_weights({**wb, **same})
        return Trainer(net_a, self.data, ca), Trainer(net_b, self.data, cb)

    @property
    def trainers(self) -> tuple[Trainer, Trainer]:
        return self.a, self.b

    @property
    def step_count(self) -> int:
        """Mini-batches trained so far (the same for both runs)."""
        return self.a.step

    def reset(self) -> None:
        """Both runs back to step 0, from the same start and batch order as before."""
        self.diverged = None
        self.a, self.b = self._build()

    def step(self, n: int = 1, matrices: bool = False) -> tuple[StepRecord, StepRecord]:
        """Train both runs ``n`` mini-batches in lock step; the last records of A and B.

        ``matrices``: the last records carry the matrices (``Trainer.request_matrices``).
        Stops early when a run diverges (its record has ``diverged``); after that
        :attr:`diverged` names it and further steps raise :class:`BpvizError`
        until :meth:`reset`.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) \
                or not 1 <= n <= MAX_STEPS:
            raise BpvizError(f"steps must be a whole number from 1 to {MAX_STEPS}, got {n!r}")
        if self.diverged is not None:
            raise BpvizError(f"run {self.diverged} diverged; press Reset (or lower the "
                             "learning rate) to go on")
        for i in range(int(n)):
            if matrices and i == n - 1:
                self.a.request_matrices()
                self.b.request_matrices()
            ra, rb = self.a.train_step(), self.b.train_step()
            bad = [name for name, r in zip(self.names, (ra, rb), strict=True) if r.diverged]
            if bad:
                self.diverged = " and ".join(bad)
                break
        return ra, rb

    def current_records(self) -> tuple[StepRecord, StepRecord]:
        """Both runs' records of the current weights (no update), with matrices."""
        return self.a.current_record(), self.b.current_record()


# ------------------------------------------------------------------ presets


@dataclass(frozen=True)
class ComparisonPreset:
    """A classic story told by two runs.

    Attributes
    ----------
    name : short key ("vanishing-gradients").
    title : one line for menus.
    watch : what to look at, one or two sentences.
    spec, data, config : run A.
    change : what run B changes.
    view : the matrix kind to show first (a key of the notation module's kinds).
    layer : the engine layer to show first (0-based).
    """

    name: str
    title: str
    watch: str
    spec: NetworkSpec
    data: DataChoice
    config: TrainConfig
    change: Change
    view: str = "delta"
    layer: int = 0

    def build(self, backend: str = "numpy") -> Comparison:
        """The comparison, on a freshly made data set."""
        return Comparison(self.spec, self.data.load(), self.config, self.change, backend)


def _mlp(sizes: tuple[int, ...], hidden: str, out: str, loss: str,
         init: str = "glorot") -> NetworkSpec:
    layers = tuple(LayerSpec(u, hidden) for u in sizes[1:-1]) + (LayerSpec(sizes[-1], out),)
    return NetworkSpec(sizes[0], layers, loss=loss, init=init).validate()


_CIRCLE = DataChoice("circle", noise=0.1, test_fraction=0.2, seed=0)
_SPIRAL = DataChoice("spiral", noise=0.0, test_fraction=0.2, seed=0, standardize=True)

COMPARISON_PRESETS: dict[str, ComparisonPreset] = {p.name: p for p in (
    ComparisonPreset(
        "vanishing-gradients", "Vanishing gradients: deep sigmoid vs relu",
        "Watch ‖δˡ‖ per layer: each sigmoid derivative is at most 1/4, so δ shrinks layer "
        "by layer on its way back to layer 1; with relu it keeps its size.",
        _mlp((2, 8, 8, 8, 8, 8, 2), "sigmoid", "softmax", "cross_entropy"), _CIRCLE,
        TrainConfig(batch_size=32, lr=0.5, optimizer="sgd", seed=0), Change("activation", "relu"),
        view="delta", layer=0),
    ComparisonPreset(
        "symmetry", "Symmetry: zeros vs Glorot initialisation",
        "With all weights zero every hidden unit computes the same thing and gets the same "
        "gradient, so they stay equal forever (identical columns of a and rows of dW); "
        "random weights break the symmetry.",
        _mlp((2, 8, 1), "sigmoid", "sigmoid", "binary_cross_entropy", init="zeros"), _CIRCLE,
        TrainConfig(batch_size=16, lr=0.5, optimizer="sgd", seed=0), Change("init", "glorot"),
        view="W", layer=0),
    ComparisonPreset(
        "sgd-vs-adam", "SGD vs Adam on the spiral",
        "The same gradients, two update rules: Adam scales each weight's step by its own "
        "gradient history and winds the spiral much sooner than plain SGD at the same "
        "learning rate.",
        _mlp((2, 16, 16, 16, 1), "tanh", "sigmoid", "binary_cross_entropy"), _SPIRAL,
        TrainConfig(batch_size=32, lr=0.01, optimizer="sgd", seed=0), Change("optimizer", "adam"),
        view="dW", layer=1),
)}


def comparison_preset(name: str) -> ComparisonPreset:
    """The comparison preset ``name``; :class:`BpvizError` listing the names if unknown."""
    if not isinstance(name, str) or name not in COMPARISON_PRESETS:
        raise BpvizError(f"unknown comparison {name!r}; choose one of "
                         + ", ".join(COMPARISON_PRESETS))
    return COMPARISON_PRESETS[name]


__all__ = ["CHANGES", "COMPARISON_PRESETS", "Change", "Comparison", "ComparisonPreset",
           "apply_change", "comparison_preset", "hidden_activation_name"]
