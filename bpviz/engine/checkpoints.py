"""Checkpoints of a training run, bounded in bytes: continue exactly from a past step.

A :class:`Checkpoint` is everything that decides the rest of a run: the weights,
the optimizer's state (momentum's velocity, Adam's moments and step count), the
settings and the batch sampler (its random generator, the epoch's order and the
position in it), taken by :meth:`Trainer.checkpoint <bpviz.engine.trainer.Trainer.checkpoint>`.
Training is deterministic on one backend and dtype, so restoring the newest
checkpoint at or before step ``s`` and training the steps between again
(:meth:`Trainer.replay_to <bpviz.engine.trainer.Trainer.replay_to>`) puts the
trainer in exactly the state it had after step ``s``: continuing from there
reproduces the original run bitwise.

Replaying is only exact while nothing but training changed the state. Anything
else (new settings, a hand-edited weight, a phase stepped by hand) is a
*barrier* (:meth:`CheckpointStore.barrier`): a step after it is reached only
from a checkpoint taken after it, which the caller takes before training on.

The store is bounded in bytes (:attr:`CheckpointStore.max_bytes`): past it the
checkpoint whose loss widens the gaps least relative to its age is dropped (the
newest is always kept, the old ones stay spread over the run), so a far-back
step may need a longer replay, never an inexact one.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import BpvizError

#: Bytes counted per checkpoint for its Python objects (dicts, generator state).
OVERHEAD = 2048


def arrays_nbytes(obj: Any) -> int:
    """Bytes of the arrays in ``obj`` (nested dicts and lists)."""
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if isinstance(obj, dict):
        return sum(arrays_nbytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(arrays_nbytes(v) for v in obj)
    return 0


def densest(steps: Sequence[int]) -> int:
    """Which of the kept ``steps`` (ascending, at least 3) to drop when over a byte
    budget: the inner one whose loss widens the gap around it least relative to its
    age, so the newest and the oldest stay and the old ones stay spread over the run.
    Shared by this store and the timeline's history."""
    newest = steps[-1]
    cost = [(steps[j + 1] - steps[j - 1]) / (newest - steps[j] + 1)
            for j in range(1, len(steps) - 1)]
    return 1 + int(np.argmin(cost))


@dataclass(frozen=True)
class Checkpoint:
    """The state of a run after ``step`` mini-batches.

    Attributes
    ----------
    step : mini-batches trained.
    weights : host copies of the parameters, ``{"W0": (m, n), "b0": (m,), ...}``.
    state : :meth:`Trainer.state_dict`, its arrays copied (settings, optimizer,
        sampler).
    nbytes : bytes it holds (arrays plus :data:`OVERHEAD`).
    """

    step: int
    weights: dict[str, np.ndarray]
    state: dict[str, Any]
    nbytes: int

    @classmethod
    def of(cls, step: int, weights: dict[str, np.ndarray], state: dict[str, Any]
           ) -> Checkpoint:
        return cls(int(step), weights, state,
                   OVERHEAD + arrays_nbytes(weights) + arrays_nbytes(state))


class CheckpointStore:
    """Checkpoints of one run, ascending by step, within ``max_bytes``.

    Written by the training thread, read by the GUI (:meth:`plan`); one lock
    guards the lists, checkpoints are immutable.
    """

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self._lock = threading.Lock()
        self._cps: list[Checkpoint] = []
        #: per checkpoint: how many barriers had been set when it was taken
        self._after: list[int] = []
        #: ``(n, step)``: the n-th barrier (counting from 0) and its step, in order
        self._barriers: list[tuple[int, int]] = []
        self._n = 0
        self.max_bytes = int(max_bytes)
        self.nbytes = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._cps)

    def steps(self) -> list[int]:
        with self._lock:
            return [c.step for c in self._cps]

    # ------------------------------------------------------------ writing
    def add(self, cp: Checkpoint) -> None:
        """Keep ``cp`` as the newest (any kept at or after its step are dropped first:
        the run went back there, or the state changed at that step)."""
        with self._lock:
            self._drop_from(cp.step)
            self._cps.append(cp)
            self._after.append(self._n)
            self.nbytes += cp.nbytes
            self._fit()

    def barrier(self, step: int) -> None:
        """The state changed outside training when ``step`` mini-batches were done: no
        replay may run from a checkpoint taken before now to a step after ``step``."""
        with self._lock:
            self._barriers.append((self._n, int(step)))
            self._n += 1

    def drop_after(self, step: int) -> None:
        """Forget what lies after ``step`` (the run continues from there)."""
        with self._lock:
            self._drop_from(step + 1)
            self._barriers = [b for b in self._barriers if b[1] <= step]

    def clear(self) -> None:
        """Forget everything (another run)."""
        with self._lock:
            self._cps, self._after, self._barriers, self.nbytes = [], [], [], 0

    def set_budget(self, max_bytes: int) -> None:
        with self._lock:
            self.max_bytes = max(0, int(max_bytes))
            self._fit()

    # ------------------------------------------------------------ reading
    def plan(self, step: int) -> tuple[Checkpoint, int]:
        """``(checkpoint, n)``: the newest checkpoint from which ``n`` steps of training
        reach step ``step`` exactly; :class:`BpvizError` saying why if none does."""
        step = int(step)
        with self._lock:
            keys = [c.step for c in self._cps]
            i = bisect.bisect_right(keys, step) - 1
            if i < 0:
                oldest = f"; the oldest kept is step {keys[0]:,}" if keys else ""
                raise BpvizError(f"step {step:,} cannot be restored exactly: no checkpoint "
                                 f"at or before it is kept{oldest}")
            cp, after = self._cps[i], self._after[i]
            crossed = [b for n, b in self._barriers if n >= after and b < step]
            if crossed:
                raise BpvizError(
                    f"step {step:,} cannot be restored exactly: after step {crossed[0]:,} "
                    "the weights or settings changed outside training (an edit, new "
                    "settings or a phase stepped by hand); continue from a step before "
                    "or after that")
            return cp, step - cp.step

    # ------------------------------------------------------------ internals
    def _drop_from(self, step: int) -> None:
        while self._cps and self._cps[-1].step >= step:
            self.nbytes -= self._cps.pop().nbytes
            self._after.pop()

    def _fit(self) -> None:
        C = self._cps
        while self.nbytes > self.max_bytes and C:
            n = len(C)
            drop = densest([c.step for c in C]) if n > 2 else 0
            self.nbytes -= C.pop(drop).nbytes
            self._after.pop(drop)
        # a barrier set before the oldest checkpoint was taken can no longer matter
        first = min(self._after, default=self._n)
        self._barriers = [b for b in self._barriers if b[0] >= first]
