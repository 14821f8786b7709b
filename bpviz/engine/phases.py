"""Phase stepping: one mini-batch of backprop, one phase at a time.

A :class:`PhaseStepper` walks the trainer's next mini-batch through the phases
a teacher would write on the board (DESIGN.md §2), in this order, for L
layers (engine layer ``i`` is the displayed layer ``l = i + 1``):

1. forward, layer by layer: ``z^l = a^{l-1} W^lᵀ + b^l`` then ``a^l = f(z^l)``
2. the loss ``C = (1/K) Σ_k C_k``
3. the output error ``δ^L``
4. each ``δ^l = (δ^{l+1} W^{l+1}) ⊙ f'(z^l)`` backwards
5. ``dW^l = (1/K) δ^lᵀ a^{l-1}`` and ``db^l`` for every layer, last first
6. the update, by the trainer's own optimizer

That is ``5L + 2`` phases, each computed when it is stepped (the vectorized
formulas, so they equal the engine's matrices to rounding). The update applies
the trainer's optimizer to the gradients of the engine's own backprop of the
batch (the same call ``train_step`` makes), so after it the weights are exactly
those of one ordinary :meth:`Trainer.train_step` on the same batch. The stepper
only reads the trainer's batch order, data and optimizer; it never imports Qt.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .functions import MATCHED, activate, backprop_activation, output_delta, sample_losses
from .records import BackpropRecord, StepRecord
from .spec import NetworkSpec

PHASE_KINDS = ("z", "a", "loss", "delta", "dW", "db", "update")

_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def sup(i: int) -> str:
    """``12 -> '¹²'``: a layer number as a Unicode superscript."""
    return str(i).translate(_SUP)


@dataclass(frozen=True)
class PhaseRecord:
    """One phase of one mini-batch.

    Attributes
    ----------
    name : short label, e.g. ``"forward z²"``.
    layer : engine layer index (0-based; displayed as ``layer + 1``); the
        output layer for ``"loss"``, -1 for ``"update"`` (every layer).
    kind : one of :data:`PHASE_KINDS`.
    matrix : host array just computed (z, a, δ: K×m; dW: m×n; db: (m,);
        loss: the per-sample costs C_k, (K,)), or None for the update.
    equation : the equation of this phase in the engine's notation (W out×in).
    index, total : position of this phase in the batch (0-based) and ``5L + 2``.
    step : the trainer's step count of this batch (before its update).
    batch_index : rows of the training set in this mini-batch.
    loss : the batch cost, once computed (None before the loss phase).
    record : on the update phase, the whole batch as a :class:`BackpropRecord`
        (gradients of the weights before the update); None otherwise.
    weights : on the update phase, host copies of the weights the batch used
        (before the update); None otherwise.
    """

    name: str
    layer: int
    kind: str
    matrix: np.ndarray | None
    equation: str
    index: int
    total: int
    step: int
    batch_index: np.ndarray
    loss: float | None = None
    record: BackpropRecord | None = None
    weights: dict[str, np.ndarray] | None = None


def phase_plan(spec: NetworkSpec) -> tuple[tuple[str, int], ...]:
    """The ``(kind, layer)`` of every phase of one mini-batch, in order."""
    L = len(spec.layers)
    plan: list[tuple[str, int]] = []
    for i in range(L):
        plan += [("z", i), ("a", i)]
    plan.append(("loss", L - 1))
    plan += [("delta", i) for i in range(L - 1, -1, -1)]
    for i in range(L - 1, -1, -1):
        plan += [("dW", i), ("db", i)]
    plan.append(("update", -1))
    return tuple(plan)


def phase_name(kind: str, layer: int, spec: NetworkSpec) -> str:
    """A short label for the phase list, e.g. ``"backward δ²"``."""
    L = len(spec.layers)
    s = sup(layer + 1)
    return {
        "z": f"forward z{s}",
        "a": f"forward a{s}",
        "loss": "loss C",
        "delta": f"output error δ{s}" if layer == L - 1 else f"backward δ{s}",
        "dW": f"gradient dW{s}",
        "db": f"gradient db{s}",
        "update": "update W, b",
    }[kind]


def _w(spec: NetworkSpec, i: int) -> str:
    return f"W{sup(spec.owner(i) + 1)}"


def phase_equation(kind: str, layer: int, spec: NetworkSpec) -> str:
    """The phase's equation in the engine's notation (W out × in), plain text."""
    L = len(spec.layers)
    s, p = sup(layer + 1), sup(layer)
    o = sup(spec.owner(layer) + 1) if layer >= 0 else ""
    K = "(1/K) " if spec.reduction == "mean" else ""
    if kind == "z":
        return f"z{s} = a{p} W{o}ᵀ + b{o}"
    if kind == "a":
        return f"a{s} = {spec.layers[layer].activation}(z{s})"
    if kind == "loss":
        return f"C = {K}Σₖ Cₖ({'a' + s}, y)"
    if kind == "delta":
        if layer == L - 1:
            act = spec.layers[layer].activation
            if (spec.loss, act) in MATCHED:
                return f"δ{s} = a{s} − y"
            return f"δ{s} = (a{s} − y) ⊙ f'(z{s})"
        n = sup(layer + 2)
        return f"δ{s} = (δ{n} {_w(spec, layer + 1)}) ⊙ f'(z{s})"
    if kind == "dW":
        return f"dW{s} = {K}δ{s}ᵀ a{p}"
    if kind == "db":
        return f"db{s} = {K}Σₖ δ{s}ₖ"
    if kind == "update":
        return "W ← W − η·dW,  b ← b − η·db"
    raise ValueError(f"unknown phase kind {kind!r}")


class PhaseStepper:
    """Advance one phase of one mini-batch per :meth:`next` call.

    Parameters
    ----------
    trainer : a :class:`~bpviz.engine.trainer.Trainer`; the stepper takes its
        next mini-batch, computes every phase with the trainer's network, and
        applies the trainer's optimizer at the update phase (the trainer's step
        count and epoch advance as in ``train_step``).

    If the trainer moved on in between (an ordinary step ran, or the network
    was replaced), the half-done batch is dropped and a new one begins.
    """

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer
        self._gen: Iterator[PhaseRecord] | None = None
        self._net: Any = None
        self._step = -1
        self._done: StepRecord | None = None
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
    def _batch(self) -> Iterator[PhaseRecord]:
        tr = self.trainer
        step = tr.step
        idx, X, Y = tr.begin_batch()            # as train_step: settings, batch, checkpoint
        net, cfg = tr.net, tr.config
        spec, xp, P = net.spec, net.xp, net.params
        host = net.backend.to_host
        self._net, self._step = net, step
        bidx = np.array(idx, copy=True)
        plan = [(f"W{spec.owner(i)}", f"b{spec.owner(i)}", ly.activation, spec.owner(i))
                for i, ly in enumerate(spec.layers)]
        L, K = len(plan), int(X.shape[0])
        total = 5 * L + 2
        count = [0]
        loss_box: list[float | None] = [None]

        def rec(kind: str, layer: int, m: Any, record: BackpropRecord | None = None,
                weights: dict[str, np.ndarray] | None = None) -> PhaseRecord:
            r = PhaseRecord(phase_name(kind, layer, spec), layer, kind,
                            None if m is None else np.array(host(m), copy=True),
                            phase_equation(kind, layer, spec), count[0], total, step, bidx,
                            loss_box[0], record, weights)
            count[0] += 1
            return r

        # forward, layer by layer
        acts, zs = [X], []
        a = X
        for i, (wk, bk, act, _) in enumerate(plan):
            z = a @ P[wk].T
            z += P[bk]
            zs.append(z)
            yield rec("z", i, z)
            a = activate(act, z, xp)
            acts.append(a)
            yield rec("a", i, a)

        # loss: the mean (or sum) of the per-sample costs
        per_sample = sample_losses(spec.loss, zs[-1], acts[-1], Y, xp)
        C = float(per_sample.sum())
        loss = C / K if spec.reduction == "mean" else C
        loss_box[0] = loss
        yield rec("loss", L - 1, per_sample)

        # errors, backwards
        deltas: list[Any] = [None] * L
        deltas[-1] = output_delta(spec.loss, plan[-1][2], zs[-1], acts[-1], Y, xp)
        yield rec("delta", L - 1, deltas[-1])
        for l in range(L - 1, 0, -1):
            g = deltas[l] @ P[plan[l][0]]
            deltas[l - 1] = backprop_activation(plan[l - 1][2], g, zs[l - 1], acts[l], xp)
            yield rec("delta", l - 1, deltas[l - 1])

        # gradients, last layer first
        scale = 1.0 / K if spec.reduction == "mean" else 1.0
        for l in range(L - 1, -1, -1):
            dW = deltas[l].T @ acts[l]              # (m, K)(K, n): the K outer products at once
            db = deltas[l].sum(axis=0)              # column sums of δ
            if scale != 1.0:
                dW *= scale
                db *= scale
            yield rec("dW", l, dW)
            yield rec("db", l, db)

        # the update, exactly as train_step: the engine's own backprop of this batch
        # (same weights, same method) gives the gradients the trainer's optimizer applies;
        # the phases above are the same numbers to rounding, computed one step at a time
        tr.request_matrices()
        done = tr.finish_batch(idx, net._backprop(X, Y, cfg.method))
        self._step = tr.step
        self._done = done
        loss_box[0] = done.loss
        yield rec("update", -1, None, done.backprop, done.weights)

    def step_record(self, rec: PhaseRecord) -> StepRecord:
        """The :class:`StepRecord` of the batch that the update phase ``rec`` finished:
        what an ordinary ``train_step`` yields (loss, accuracy, backprop record, weights)."""
        if rec.kind != "update" or self._done is None or self._done.step != rec.step + 1:
            raise ValueError("only the update phase finishes a step")
        return self._done
