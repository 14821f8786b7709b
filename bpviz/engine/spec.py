"""Network specifications: plain, validated, serialisable descriptions.

A :class:`NetworkSpec` says what a network *is* (sizes, activations, loss,
tied layers); a :class:`~bpviz.engine.network.Network` holds its weights.
Specs are frozen so the GUI can compare them and the trainer can trust them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .errors import SpecError

HIDDEN_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu")
ACTIVATIONS = (*HIDDEN_ACTIVATIONS, "softmax")
LOSSES = ("squared_error", "cross_entropy", "binary_cross_entropy")
REDUCTIONS = ("mean", "sum")
INITS = ("glorot", "he", "normal", "zeros")

#: Limits that keep a network drawable and trainable on a laptop.
MAX_UNITS = 4096
MAX_INPUTS = 100_000
MAX_LAYERS = 32

_LOSS_ALIASES = {
    "mse": "squared_error",
    "squared": "squared_error",
    "ce": "cross_entropy",
    "crossentropy": "cross_entropy",
    "bce": "binary_cross_entropy",
}

#: The output activation each loss needs (None: any but softmax).
LOSS_OUTPUT = {
    "cross_entropy": "softmax",
    "binary_cross_entropy": "sigmoid",
    "squared_error": None,
}


@dataclass(frozen=True)
class LayerSpec:
    """One fully connected layer: ``units`` neurons with ``activation``.

    ``tie_to=j`` makes the layer reuse layer ``j``'s ``W`` and ``b`` (the notes
    on the math of neural networks with reused weights); layer ``j`` must come
    earlier and have the same ``W`` shape.
    """

    units: int
    activation: str = "tanh"
    tie_to: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"units": self.units, "activation": self.activation}
        if self.tie_to is not None:
            d["tie_to"] = self.tie_to
        return d


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec. ``layer`` is None for network-wide fields."""

    field: str
    message: str
    layer: int | None = None

    def __str__(self) -> str:
        where = f"layer {self.layer + 1}: " if self.layer is not None else ""  # as shown
        return where + self.message


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass(frozen=True)
class NetworkSpec:
    """A multilayer perceptron: ``inputs`` features, then ``layers`` in order.

    The last layer is the output layer. ``loss`` is one of :data:`LOSSES`
    (aliases ``mse``, ``ce``, ``bce`` accepted); ``reduction`` is ``"mean"``
    (gradients carry 1/K) or ``"sum"``; ``init`` is one of :data:`INITS`.
    """

    inputs: int
    layers: tuple[LayerSpec, ...] = field(default_factory=tuple)
    loss: str = "squared_error"
    reduction: str = "mean"
    init: str = "glorot"

    def __post_init__(self) -> None:
        layers = tuple(
            LayerSpec(**ly) if isinstance(ly, dict) else ly for ly in (self.layers or ())
        )
        object.__setattr__(self, "layers", layers)
        if isinstance(self.loss, str):
            loss = self.loss.strip().lower()
            object.__setattr__(self, "loss", _LOSS_ALIASES.get(loss, loss))

    # ------------------------------------------------------------------ checks
    def problems(self) -> list[Problem]:
        """Everything wrong with this spec, as messages that say how to fix it."""
        out: list[Problem] = []
        if not _is_int(self.inputs) or not 1 <= self.inputs <= MAX_INPUTS:
            out.append(Problem("inputs", f"inputs must be a whole number from 1 to "
                                         f"{MAX_INPUTS}, got {self.inputs!r}"))
        if not self.layers:
            out.append(Problem("layers", "the network needs at least one layer"))
        if len(self.layers) > MAX_LAYERS:
            out.append(Problem("layers", f"at most {MAX_LAYERS} layers, got {len(self.layers)}"))
        if self.loss not in LOSSES:
            out.append(Problem("loss", f"unknown loss {self.loss!r}; use one of "
                                       + ", ".join(LOSSES)))
        if self.reduction not in REDUCTIONS:
            out.append(Problem("reduction", f"unknown reduction {self.reduction!r}; "
                                            "use 'mean' or 'sum'"))
        if self.init not in INITS:
            out.append(Problem("init", f"unknown initialiser {self.init!r}; use one of "
                                       + ", ".join(INITS)))
        last = len(self.layers) - 1
        for i, ly in enumerate(self.layers):
            if not isinstance(ly, LayerSpec):
                out.append(Problem("layer", f"not a layer: {ly!r}", i))
                continue
            if not _is_int(ly.units) or not 1 <= ly.units <= MAX_UNITS:
                out.append(Problem("units", f"units must be a whole number from 1 to "
                                            f"{MAX_UNITS}, got {ly.units!r}", i))
            if ly.activation not in ACTIVATIONS:
                out.append(Problem("activation", f"unknown activation {ly.activation!r}; "
                                                 "use one of " + ", ".join(ACTIVATIONS), i))
            elif ly.activation == "softmax" and i != last:
                out.append(Problem("activation", "softmax belongs on the output layer only; "
                                                 "pick tanh or relu here", i))
            if ly.tie_to is not None:
                out.extend(self._tie_problems(i))
        if self.layers and self.loss in LOSSES and isinstance(self.layers[-1], LayerSpec):
            act = self.layers[-1].activation
            need = LOSS_OUTPUT[self.loss]
            if need is not None and act != need:
                out.append(Problem("activation", f"{self.loss} needs a {need} output layer, "
                                                 f"got {act}; change the output activation "
                                                 "or the loss", last))
            if need is None and act == "softmax":
                out.append(Problem("activation", "softmax needs the cross_entropy loss; "
                                                 "change the loss or the output activation",
                                   last))
        return out

    def _tie_problems(self, i: int) -> list[Problem]:
        ly = self.layers[i]
        j = ly.tie_to
        if not _is_int(j) or not 0 <= j < i:
            return [Problem("tie_to", f"tie_to must name an earlier layer by its index "
                                      f"counted from 0 (0..{i - 1}), got {j!r}", i)]
        if self.layers[j].tie_to is not None:
            return [Problem("tie_to", f"layer {j + 1} is itself tied; tie to layer "
                                      f"{self.layers[j].tie_to + 1} instead", i)]
        mine, theirs = self.weight_shape(i), self.weight_shape(j)
        if mine != theirs:
            return [Problem("tie_to", f"cannot reuse layer {j + 1}'s weights: W is "
                                      f"{theirs[0]}×{theirs[1]} there but "
                                      f"{mine[0]}×{mine[1]} here", i)]
        return []

    def validate(self) -> NetworkSpec:
        """Raise :class:`SpecError` listing every problem; return self if none."""
        probs = self.problems()
        if probs:
            raise SpecError("invalid network: " + "; ".join(str(p) for p in probs))
        return self

    # ------------------------------------------------------------------ shapes
    def in_size(self, i: int) -> int:
        """Number of inputs n of layer i."""
        return self.inputs if i == 0 else self.layers[i - 1].units

    def weight_shape(self, i: int) -> tuple[int, int]:
        """Shape (m, n) of layer i's W, out × in."""
        return (self.layers[i].units, self.in_size(i))

    def owner(self, i: int) -> int:
        """Index of the layer whose parameters layer i uses."""
        t = self.layers[i].tie_to
        return i if t is None else t

    @property
    def outputs(self) -> int:
        return self.layers[-1].units

    def n_params(self) -> int:
        total = 0
        for i in range(len(self.layers)):
            if self.layers[i].tie_to is None:
                m, n = self.weight_shape(i)
                total += m * n + m
        return total

    def with_io(self, inputs: int, outputs: int) -> NetworkSpec:
        """A copy with the input size and the output layer's units replaced."""
        layers = list(self.layers)
        if layers:
            layers[-1] = LayerSpec(outputs, layers[-1].activation, layers[-1].tie_to)
        return NetworkSpec(inputs, tuple(layers), self.loss, self.reduction, self.init)

    def describe(self) -> str:
        """E.g. ``2-8-8-3 (tanh, tanh, softmax; cross_entropy)``; a tied layer reads
        ``tanh=W1``: it reuses the W of layer 1 (layers counted from 1, as shown)."""
        sizes = "-".join(str(s) for s in [self.inputs, *(ly.units for ly in self.layers)])
        acts = ", ".join(ly.activation + (f"=W{ly.tie_to + 1}" if ly.tie_to is not None else "")
                         for ly in self.layers)
        return f"{sizes} ({acts}; {self.loss})"

    # ------------------------------------------------------------------ dicts
    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs,
            "layers": [ly.to_dict() for ly in self.layers],
            "loss": self.loss,
            "reduction": self.reduction,
            "init": self.init,
        }

    @classmethod
    def from_dict(cls, d: Any) -> NetworkSpec:
        """Build and validate a spec from plain data (e.g. parsed JSON)."""
        if not isinstance(d, dict):
            raise SpecError(f"a network spec must be a JSON object, got {type(d).__name__}")
        unknown = set(d) - {"inputs", "layers", "loss", "reduction", "init"}
        if unknown:
            raise SpecError(f"unknown spec keys: {', '.join(sorted(map(repr, unknown)))}; "
                            "allowed: inputs, layers, loss, reduction, init")
        if "inputs" not in d or "layers" not in d:
            raise SpecError("a network spec needs 'inputs' and 'layers'")
        raw_layers = d["layers"]
        if not isinstance(raw_layers, list):
            raise SpecError("'layers' must be a list of {units, activation, tie_to}")
        layers = []
        for i, ly in enumerate(raw_layers):
            if not isinstance(ly, dict) or "units" not in ly:
                raise SpecError(f"layer {i + 1} must be an object with 'units'")
            extra = set(ly) - {"units", "activation", "tie_to"}
            if extra:
                keys = ", ".join(sorted(map(repr, extra)))
                raise SpecError(f"layer {i + 1}: unknown keys {keys}; "
                                "allowed: units, activation, tie_to")
            layers.append(LayerSpec(ly["units"], ly.get("activation", "tanh"), ly.get("tie_to")))
        for key in ("loss", "reduction", "init"):
            if key in d and not isinstance(d[key], str):
                raise SpecError(f"'{key}' must be a string")
        spec = cls(
            inputs=d["inputs"],
            layers=tuple(layers),
            loss=d.get("loss", "squared_error"),
            reduction=d.get("reduction", "mean"),
            init=d.get("init", "glorot"),
        )
        return spec.validate()


def check_positive(name: str, value: Any, *, integer: bool = False) -> None:
    """Raise :class:`SpecError` unless ``value`` is a finite number > 0."""
    ok = _is_int(value) if integer else isinstance(value, (int, float)) and not isinstance(
        value, bool)
    if not ok or not math.isfinite(value) or value <= 0:
        kind = "a whole number" if integer else "a number"
        raise SpecError(f"{name} must be {kind} > 0, got {value!r}")
