"""Undo / redo of the controller's edits (Edit ▸ Undo, Ctrl+Z; Redo, Ctrl+Shift+Z).

One :class:`QUndoStack` (``Controller.undo_stack``) holds every kind of edit:

- **weight edits** (:class:`bpviz.gui.weight_edit.WeightEditCommand`): one
  entry of W or b, set back bitwise;
- **network, data and Reset** (:class:`ModelStateCommand`): these build new
  weights, so undo and redo *swap the whole model*: the network spec, the data
  choice and data set, the settings, the weights and the trainer's state
  (step, optimizer slots, sampler) are taken from the training thread and the
  other state is put back. Undoing a network change therefore brings back the
  previous network **with the weights it had trained** (not fresh ones), and
  redo brings back the new network as it was when undone; the weight edits
  below it on the stack stay valid, because the weights they edited are back.
  The plots start again from the restored step (their history is not kept);
- **training settings** (:class:`ConfigCommand`): learning rate, optimizer,
  batch size, L1/L2, method ...: undo sets only the fields the edit changed
  back, the weights and the training done since stay. Edits of the same
  fields within :data:`MERGE_S` seconds (a slider drag, a spin box held down)
  are one entry.

Every command is pushed *after* its change has been made (the change is checked
and may fail first), so its first :meth:`redo` does nothing. Opening a session,
a preset or New starts a new document and clears the stack.

The stack is bounded in bytes as well as in entries: the earlier networks and
data sets it holds (:func:`held_nbytes`) stay within :data:`UNDO_MAX_BYTES`. A
model edit that would pass it makes the stack forget the earlier edits first (and
one that alone would pass it is not undoable); the controller says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtGui import QUndoCommand

from ..engine.checkpoints import arrays_nbytes
from ..engine.presets import DataChoice
from ..engine.spec import NetworkSpec
from ..engine.trainer import TrainConfig

#: Seconds within which edits of the same settings merge into one undo entry.
MERGE_S = 1.5
#: How many edits the stack keeps (each network or data entry holds a copy of the weights).
UNDO_LIMIT = 50
#: The most memory the stack may hold in earlier networks and data sets (weights,
#: optimizer state, curve records, a data set no longer in use).
UNDO_MAX_BYTES = 256 << 20
#: What the user reads for each setting in "Undo learning rate 0.1 → 0.03".
SETTING_NAMES = {"lr": "learning rate", "batch_size": "batch size", "l1": "L1", "l2": "L2",
                 "optimizer": "optimizer", "method": "backprop method", "momentum": "momentum"}


@dataclass(frozen=True)
class ModelState:
    """Everything a network or data edit replaces, held for undo.

    Attributes
    ----------
    spec : the network.
    data_choice, dataset : the data choice and the data set it loaded (held, not
        copied: data sets are not changed in place).
    config : the training settings.
    weights : host copies of the parameters, ``{"W0": (m, n), "b0": (m,), ...}``.
    trainer_state : :meth:`Trainer.state_dict`, arrays copied.
    history : the curves' step records then (scalars only, bounded in bytes), for an
        edit that discards some (continuing from a kept step); None: the curves keep
        what they have up to the restored step.
    """

    spec: NetworkSpec
    data_choice: DataChoice
    dataset: Any
    config: TrainConfig
    weights: dict[str, np.ndarray]
    trainer_state: dict[str, Any]
    history: tuple[Any, ...] | None = None


def held_nbytes(states: Iterable[ModelState], in_use: Any = None) -> int:
    """About how many bytes ``states`` keep alive: their weights, trainer states and curve
    records, and each data set once, but not ``in_use`` (the window's own)."""
    from .snapshot import record_nbytes

    total, seen = 0, {id(in_use)}
    for st in states:
        total += arrays_nbytes(st.weights) + arrays_nbytes(st.trainer_state)
        total += sum(record_nbytes(r) for r in st.history or ())
        if id(st.dataset) not in seen:
            seen.add(id(st.dataset))
            total += arrays_nbytes([getattr(st.dataset, k, None)
                                    for k in ("X_train", "y_train", "X_test", "y_test")])
    return total


class ModelStateCommand(QUndoCommand):
    """A network, data or Reset edit: undo and redo swap the model state.

    Parameters
    ----------
    text : what Edit ▸ Undo says, e.g. ``"network 2-8-1"``.
    swap : ``swap(state) -> state``: install ``state``, return the one it replaced
        (the controller's ``_swap_state``).
    before : the state the edit replaced.
    """

    def __init__(self, text: str, swap: Callable[[ModelState], ModelState | None],
                 before: ModelState) -> None:
        super().__init__(text)
        self._swap = swap
        self._other: ModelState | None = before
        self._pushed = False

    def redo(self) -> None:
        if not self._pushed:      # the edit was made before the push
            self._pushed = True
            return
        self._exchange()

    def undo(self) -> None:
        self._exchange()

    def state(self) -> ModelState | None:
        """The model state this entry holds (the one before the edit, or after it once
        undone)."""
        return self._other

    def _exchange(self) -> None:
        if self._other is not None:
            self._other = self._swap(self._other)


class ConfigCommand(QUndoCommand):
    """A change of training settings; undo sets back the fields it changed.

    Parameters
    ----------
    apply : ``apply(changes) -> bool``, sets the settings without pushing (the
        controller's ``_apply_config``).
    old, new : the changed fields before and after, ``{"lr": 0.1}``.
    """

    ID = 1001

    def __init__(self, apply: Callable[[dict[str, Any]], bool], old: dict[str, Any],
                 new: dict[str, Any]) -> None:
        super().__init__()
        self._apply = apply
        self.old, self.new = dict(old), dict(new)
        self._pushed = False
        self._t = time.monotonic()
        self._name()

    def _name(self) -> None:
        self.setText(", ".join(f"{SETTING_NAMES.get(k, k)} {_fmt(self.old[k])} → "
                               f"{_fmt(self.new[k])}" for k in self.new))

    def id(self) -> int:  # noqa: A003 - Qt API
        return self.ID

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt API
        """Merge a following edit of the same fields made within :data:`MERGE_S` seconds."""
        if not isinstance(other, ConfigCommand) or set(other.new) != set(self.new) \
                or other._t - self._t > MERGE_S:
            return False
        self.new, self._t = dict(other.new), other._t
        self._name()
        self.setObsolete(self.new == self.old)   # back where it started: no entry
        return True

    def redo(self) -> None:
        if not self._pushed:
            self._pushed = True
            return
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)
