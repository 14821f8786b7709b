"""The one policy that fits a network to a data set.

The window, the command line and sessions all ask this module what network a
spec becomes on a data set, so a preset on the same data builds the same
network everywhere. The rules:

- the input layer takes the data's ``d`` features and the output layer gets
  the units the task needs (:func:`output_units`); these sizes follow the data
  by definition, and the network's description shows them, so they are not
  reported as changes;
- regression (``n_classes == 0``): the loss must be squared error (with
  ``C = ½Σ(a−y)²``); a classification loss becomes squared error with an
  identity output layer;
- more than two classes: binary cross-entropy cannot hold them, so it becomes
  cross-entropy with a softmax output layer (squared error and cross-entropy
  are kept);
- two classes: the spec's loss is kept (binary cross-entropy with one sigmoid
  output, cross-entropy with two softmax outputs, or squared error with one
  output);
- a tied layer (one that reuses another layer's ``W`` and ``b``) whose weight
  shape no longer matches after the resize gets its own weights.

Every change of the output layer's activation, of the loss or of a tie is
returned as one plain sentence in :attr:`Fitted.changes`: the caller must tell
the user (the window's status bar, one line on stderr on the command line).
A loss is never changed silently.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .spec import LayerSpec, NetworkSpec

#: How the sentences of :attr:`Fitted.changes` name the losses.
LOSS_WORDS = {
    "squared_error": "squared error",
    "cross_entropy": "cross-entropy",
    "binary_cross_entropy": "binary cross-entropy",
}


@dataclass(frozen=True)
class Fitted:
    """A spec fitted to a data set, and what the user must be told.

    Attributes
    ----------
    spec : NetworkSpec
        The fitted, validated spec: ``inputs == d`` features, output units as
        the task needs.
    changes : tuple of str
        One plain sentence per change of the output activation, the loss or a
        tie, e.g. ``"output layer: sigmoid → softmax and loss: binary
        cross-entropy → cross-entropy, because the data has 3 classes"``.
        Empty when only the sizes followed the data.
    """

    spec: NetworkSpec
    changes: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        """The changes as one line (empty if none), e.g. for a status bar."""
        return "; ".join(self.changes)


def output_units(n_classes: int, n_targets: int, loss: str) -> int:
    """Output units a task needs.

    Parameters
    ----------
    n_classes : int
        Classes C of the data; 0 for regression.
    n_targets : int
        Regression targets t (ignored for classification).
    loss : str
        The (already fitted) loss.

    Returns
    -------
    int
        ``t`` for regression; one unit (a 0/1 output) for two classes unless
        the loss is cross-entropy; ``C`` otherwise.
    """
    if n_classes == 0:
        return int(n_targets)
    if n_classes == 2 and loss != "cross_entropy":
        return 1
    return int(n_classes)


def _task_words(data: Any) -> str:
    """Why a loss had to change, e.g. ``the data has 3 classes``."""
    if data.n_classes == 0:
        t = data.n_targets
        return f"the data is a regression set ({t} target number{'s' if t != 1 else ''})"
    return f"the data has {data.n_classes} classes"


def _fit_loss(spec: NetworkSpec, n_classes: int) -> tuple[str, str]:
    """``(loss, output activation)`` the task allows, as close to ``spec`` as possible."""
    loss, act = spec.loss, spec.layers[-1].activation
    if n_classes == 0 and loss != "squared_error":
        return "squared_error", "identity"
    if n_classes > 2 and loss == "binary_cross_entropy":
        return "cross_entropy", "softmax"
    return loss, act


def _untie(spec: NetworkSpec) -> tuple[NetworkSpec, list[str]]:
    """``spec`` with every tie whose weight shapes no longer match removed."""
    layers, said = list(spec.layers), []
    for i, ly in enumerate(spec.layers):
        j = ly.tie_to
        if j is None or not 0 <= j < i:
            continue
        mine, theirs = spec.weight_shape(i), spec.weight_shape(j)
        if mine != theirs:
            layers[i] = LayerSpec(ly.units, ly.activation)
            said.append(
                f"layer {i + 1} no longer reuses layer {j + 1}'s weights and gets its own, "
                f"because on this data its W is {mine[0]}×{mine[1]} and layer {j + 1}'s is "
                f"{theirs[0]}×{theirs[1]}"
            )
    return replace(spec, layers=tuple(layers)), said


def fit_to_data(spec: NetworkSpec, data: Any) -> Fitted:
    """Fit ``spec`` to ``data`` by the rules of this module.

    Parameters
    ----------
    spec : NetworkSpec
        The network the user chose (a preset's, the layer editor's, a file's).
    data : Dataset
        Anything with ``n_features`` (d), ``n_classes`` (C, 0 for regression)
        and ``n_targets`` (t).

    Returns
    -------
    Fitted
        The validated spec (``inputs = d``; output layer ``t``, 1 or ``C``
        units) and the sentences that describe each change the user must be
        told about. A spec that already fits comes back equal, with no change.

    Raises
    ------
    SpecError
        If the spec is invalid for a reason fitting does not touch.
    """
    if not spec.layers:
        spec.validate()  # raises: the network needs at least one layer
    loss, act = _fit_loss(spec, data.n_classes)
    changes: list[str] = []
    if (loss, act) != (spec.loss, spec.layers[-1].activation):
        parts = []
        if act != spec.layers[-1].activation:
            parts.append(f"output layer: {spec.layers[-1].activation} → {act}")
        if loss != spec.loss:
            parts.append(f"loss: {LOSS_WORDS.get(spec.loss, spec.loss)} → {LOSS_WORDS[loss]}")
        changes.append(" and ".join(parts) + f", because {_task_words(data)}")
        last = spec.layers[-1]
        spec = replace(spec, layers=(*spec.layers[:-1], replace(last, activation=act)), loss=loss)
    spec = spec.with_io(int(data.n_features), output_units(data.n_classes, data.n_targets, loss))
    spec, untied = _untie(spec)
    return Fitted(spec.validate(), tuple(changes + untied))


def default_spec(data: Any) -> NetworkSpec:
    """A sensible network for a data set that comes without one.

    Two tanh hidden layers of 16 units for a few features, one of 32 for many
    (more than 16, e.g. 8×8 images); a softmax output with cross-entropy for
    classes, an identity output with squared error for regression.

    Parameters
    ----------
    data : Dataset
        Anything with ``n_features``, ``n_classes`` and ``n_targets``.

    Returns
    -------
    NetworkSpec
        A validated spec that already fits ``data`` (fitting it changes nothing).
    """
    many = data.n_features > 16
    hidden = (LayerSpec(32, "tanh"),) if many else (LayerSpec(16, "tanh"), LayerSpec(16, "tanh"))
    if data.n_classes > 0:
        loss, act = "cross_entropy", "softmax"
    else:
        loss, act = "squared_error", "identity"
    out = LayerSpec(output_units(data.n_classes, data.n_targets, loss), act)
    return NetworkSpec(int(data.n_features), (*hidden, out), loss=loss).validate()


__all__ = ["LOSS_WORDS", "Fitted", "default_spec", "fit_to_data", "output_units"]
