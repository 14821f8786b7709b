"""Phase stepping: one mini-batch of backprop, one phase at a time.

A :class:`PhaseStepper` walks the trainer's next mini-batch through the phases
a teacher would write on the board, in the order of :func:`phase_plan`, for L
layers (engine layer ``i`` is the displayed layer ``l = i + 1``):

1. forward, layer by layer: ``z^l = a^{l-1} W^lᵀ + b^l`` then ``a^l = f(z^l)``
2. the loss ``C = (1/K) Σ_k C_k`` (shown as the per-sample costs ``C_k``)
3. from the output layer back: ``δ^l``, then ``dW^l = (1/K) δ^lᵀ a^{l-1}`` and
   ``db^l`` (the output error ``δ^L`` first, then
   ``δ^l = (δ^{l+1} W^{l+1}) ⊙ f'(z^l)``)
4. the update, by the trainer's own optimizer

That is ``5L + 2`` phases. The stepper does not compute anything itself: it
runs the network's one vectorized backprop (:meth:`Network.phases
<bpviz.engine.network.Network.phases>`) one phase at a time, and hands the
finished result to the trainer (:meth:`Trainer.finish_batch
<bpviz.engine.trainer.Trainer.finish_batch>`), exactly as
:meth:`Trainer.train_step` does. So after the update the weights are bitwise
those of one ordinary vectorized step on the same batch. The display text of
each phase (names, equations) belongs to the GUI's notation module.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .network import PHASE_KINDS, BackpropResult, phase_plan
from .records import StepRecord

__all__ = ["PHASE_KINDS", "PhaseRecord", "PhaseStepper", "phase_plan"]


@dataclass(frozen=True)
class PhaseRecord:
    """One phase of one mini-batch.

    Attributes
    ----------
    kind : one of :data:`PHASE_KINDS`.
    layer : engine layer index (0-based; displayed as ``layer + 1``); the
        output layer for ``"loss"``, -1 for ``"update"`` (every layer).
    matrix : host array just computed (z, a, δ: K×m; dW: m×n; db: (m,);
        loss: the per-sample costs C_k, (K,)), or None for the update.
    index, total : position of this phase in the batch (0-based) and ``5L + 2``.
    step : the trainer's step count of this batch (before its update).
    batch_index : rows of the training set in this mini-batch.
    loss : the batch cost, once computed (None before the loss phase).
    step_record : on the update phase, the :class:`StepRecord` of the finished
        step (loss, accuracy, the backprop record and the weights the batch
        used): what :meth:`Trainer.train_step` returns (its ``backprop_ms`` is
        NaN: a batch stepped one phase at a time is not timed); None otherwise.
    """

    kind: str
    layer: int
    matrix: np.ndarray | None
    index: int
    total: int
    step: int
    batch_index: np.ndarray
    loss: float | None = None
    step_record: StepRecord | None = None


class PhaseStepper:
    """Advance one phase of one mini-batch per :meth:`next` call.

    Parameters
    ----------
    trainer : a :class:`~bpviz.engine.trainer.Trainer`; the stepper takes its
        next mini-batch, runs the network's vectorized backprop on it one phase
        at a time, and lets the trainer finish the step (optimizer update, step
        count, record) at the update phase.

    If the trainer moved on in between (an ordinary step ran, or the network
    was replaced), the half-done batch is dropped and a new one begins.
    """

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer
        self._gen: Generator[PhaseRecord, None, None] | None = None
        self._net: Any = None
        self._step = -1
        self.last: PhaseRecord | None = None

    @property
    def plan(self) -> tuple[tuple[str, int], ...]:
        return phase_plan(self.trainer.net.spec)

    @property
    def in_batch(self) -> bool:
        """True while a mini-batch is half done (the next phase is not its first)."""
        return self._gen is not None and not self._stale()

    def _stale(self) -> bool:
        return self.trainer.net is not self._net or self.trainer.step != self._step

    def reset(self) -> None:
        """Drop the half-done batch; the next call starts a new one."""
        self._gen = None
        self.last = None

    def next(self) -> PhaseRecord:
        """Compute and return the next phase (starting a new batch when needed)."""
        if self._gen is None or self._stale():
            self._gen = self._batch()
        rec = next(self._gen, None)
        if rec is None:
            self._gen = self._batch()
            rec = next(self._gen)
        self.last = rec
        return rec

    def run_batch(self) -> list[PhaseRecord]:
        """Every remaining phase of the current (or a new) batch, update included."""
        out = [self.next()]
        while out[-1].kind != "update":
            out.append(self.next())
        return out

    # ------------------------------------------------------------------ one batch
    def _batch(self) -> Generator[PhaseRecord, None, None]:
        tr = self.trainer
        step = tr.step
        idx, X, Y = tr.begin_batch()            # as train_step: batch, checkpoint
        net = tr.net
        host = net.backend.to_host
        self._net, self._step = net, step
        bidx = np.array(idx, copy=True)
        total = len(phase_plan(net.spec))
        index = 0
        loss: float | None = None
        gen = net.phases(X, Y, trace=True)
        while True:
            try:
                ph = next(gen)
            except StopIteration as stop:
                result: BackpropResult = stop.value
                break
            if ph.kind == "loss":
                loss = ph.cost
            yield PhaseRecord(ph.kind, ph.layer, np.array(host(ph.value), copy=True), index,
                              total, step, bidx, loss)
            index += 1
        tr.request_matrices()
        # a batch computed across many GUI round trips has no backprop time to report
        done = tr.finish_batch(idx, result, math.nan)
        self._step = tr.step
        yield PhaseRecord("update", -1, None, index, total, step, bidx, done.loss, done)
