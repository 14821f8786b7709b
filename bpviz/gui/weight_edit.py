"""Editing one weight or bias from the window, undoable (Edit ▸ Undo / Redo).

The user clicks a cell of W (or a bias) and types a value, as in TensorFlow
Playground. The edit is checked here, on the GUI thread, against the network
spec (layer and entry exist) and the number rule of the engine
(:func:`bpviz.engine.optim.check_hyper`: a finite number that float32 can
hold); then it goes as a job through the controller's one queue
(``run_on_trainer``), where :meth:`bpviz.engine.network.Network.set_parameter`
sets the entry and returns the exact value it replaced, and a fresh snapshot
of the current weights is published so every view shows the new weight at once.

Each edit is one :class:`WeightEditCommand` on a :class:`QUndoStack`: undo
sets the old value back **bitwise** (the old float32 entry, widened to a
Python float without rounding, casts back to the same bits). The old value is
read on the training thread when the edit runs, so an edit while training
plays restores exactly what the weight was at that moment.

Indices here are the engine's: layer ``l`` (0-based), ``W`` entry ``(i, j)`` =
neuron i of the layer, input j (out × in), bias entry ``i``. A tied layer
edits its owner's W and b, shared by every use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from ..engine.errors import BpvizError
from ..engine.optim import check_hyper
from . import notation as nt

if TYPE_CHECKING:
    from ..engine.spec import NetworkSpec
    from ..engine.trainer import Trainer
    from .contract import PanelContext

#: The largest |value| accepted from the window: what float32 (training) can hold.
MAX_ABS_VALUE = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class WeightEdit:
    """One checked edit.

    Attributes
    ----------
    key : ``"W{owner}"`` or ``"b{owner}"``, the engine's parameter.
    index : ``(i, j)`` of W (out × in) or ``(i,)`` of b, 0-based.
    value : the new value.
    name : what the user reads, e.g. ``"W¹ (neuron 2 ← input 1)"`` (numbered from 1).
    """

    key: str
    index: tuple[int, ...]
    value: float
    name: str


def _entry(k: Any, size: int, what: str) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < size:
        raise BpvizError(f"{what} {k!r} is not in 0..{size - 1}")
    return int(k)


def check_edit(spec: NetworkSpec, layer: int, i: int, j: int | None, value: Any) -> WeightEdit:
    """Check an edit of ``W[i, j]`` (or of ``b[i]`` when ``j`` is None) of engine layer ``layer``.

    Parameters
    ----------
    spec : the network.
    layer, i, j : engine layer (0-based), neuron i (row of W, m of them) and
        input j (column of W, n of them); ``j=None`` for the bias.
    value : a number, or the text the user typed (``"0.5"``, ``"-1e-3"``).

    Raises
    ------
    BpvizError
        No such layer or entry, or a value that is not a finite number.
    """
    layer = _entry(layer, len(spec.layers), "layer")
    owner = spec.owner(layer)
    m, n = spec.weight_shape(layer)
    i = _entry(i, m, "neuron")
    tied = f", shared by the layers tied to layer {owner + 1}" if owner != layer else ""
    if j is None:
        key, index, name = f"b{owner}", (i,), f"b{nt.sup(owner + 1)} (neuron {i + 1}{tied})"
    else:
        j = _entry(j, n, "input")
        key, index = f"W{owner}", (i, j)
        name = f"W{nt.sup(owner + 1)} (neuron {i + 1} ← input {j + 1}{tied})"
    if isinstance(value, bool) or not isinstance(value, (str, int, float, np.integer,
                                                          np.floating)):
        raise BpvizError(f"{name} must be a number, got {value!r}")
    v = check_hyper(name, value, low=-MAX_ABS_VALUE, high=MAX_ABS_VALUE)
    return WeightEdit(key, index, v, name)


class WeightEditCommand(QUndoCommand):
    """One edit on the undo stack; :meth:`redo` applies it, :meth:`undo` restores the old value.

    Parameters
    ----------
    edit : the checked edit.
    run_on_trainer : the context's ``run_on_trainer(job, done, error)``.
    publish : ``publish(trainer)``, on the training thread after each change: a
        snapshot of the current weights for every view.
    error : where a failed job's message goes.
    """

    def __init__(self, edit: WeightEdit, run_on_trainer: Callable[..., None],
                 publish: Callable[[Trainer], None], error: Callable[[str], None]) -> None:
        super().__init__(f"{edit.name} = {edit.value:g}")
        self.edit = edit
        self._run = run_on_trainer
        self._publish = publish
        self._error = error
        self._old: list[float] = []   # the exact value replaced, set on the training thread

    @property
    def old_value(self) -> float | None:
        """The value the first :meth:`redo` replaced (None until its job has run)."""
        return self._old[0] if self._old else None

    def redo(self) -> None:
        e = self.edit

        def job(tr: Trainer) -> float:
            old = tr.net.set_parameter(e.key, e.index, e.value)
            if not self._old:
                self._old.append(old)
            self._publish(tr)
            return old

        self._run(job, _ignore, self._error)

    def undo(self) -> None:
        e = self.edit

        def job(tr: Trainer) -> None:
            if self._old:   # jobs run in order: the redo's job has run (or failed) before
                tr.net.set_parameter(e.key, e.index, self._old[0])
                self._publish(tr)

        self._run(job, _ignore, self._error)


def _ignore(_value: Any) -> None:
    """A job's result nobody needs."""


def push_weight_edit(ctx: PanelContext, stack: QUndoStack, publish: Callable[[Trainer], None],
                     layer: int, i: int, j: int | None, value: Any) -> WeightEditCommand:
    """Check an edit against ``ctx.spec`` and push it on ``stack`` (which applies it).

    Raises :class:`BpvizError` (nothing pushed, nothing changed) if the edit is bad.
    """
    cmd = WeightEditCommand(check_edit(ctx.spec, layer, i, j, value), ctx.run_on_trainer,
                            publish, ctx.message.emit)
    stack.push(cmd)
    return cmd


def ask_weight(parent: QWidget, ctx: PanelContext, spec: NetworkSpec,
               weights: dict[str, np.ndarray] | None, layer: int, i: int, j: int | None) -> bool:
    """Ask for a new value of W_ij (or b_i when ``j`` is None) of engine layer ``layer``
    in a small dialog prefilled with the current value (from ``weights``, the latest
    snapshot's), then ``ctx.set_weight``: undoable, and a value that is not a finite
    number is refused with a message. True if an edit was made."""
    owner = spec.owner(layer)
    key = f"{'W' if j is not None else 'b'}{owner}"
    where = (f"W{nt.sup(owner + 1)}: neuron i = {i + 1}, input j = {j + 1}" if j is not None
             else f"b{nt.sup(owner + 1)}: neuron i = {i + 1}")
    current = ""
    if weights and key in weights:
        try:
            current = f"{float(weights[key][(i, j) if j is not None else i]):.9g}"
        except IndexError:
            current = ""
    text, ok = QInputDialog.getText(
        parent, "Edit weight", f"{where}\nnew value (Edit ▸ Undo puts the old one back):",
        QLineEdit.EchoMode.Normal, current)
    if not ok:
        return False
    return bool(ctx.set_weight(layer, i, j, text))
