"""What the training worker publishes to the views: one immutable snapshot.

The worker (on its QThread) builds it from the engine's records at most ~30
times a second; the GUI thread takes the latest one. Everything here is host
NumPy data; no view ever sees the network object.

Memory is bounded in bytes: only the published ``step`` carries matrices; the
records of ``history`` (and whatever the window keeps for hidden panels) are
:func:`scalars_only` copies, kept in a :class:`RecordBuffer` whose size in
bytes is bounded by thinning (min and max loss per bucket, evaluation steps
always kept).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from ..engine.records import StepRecord
from ..engine.timing import Comparison


@dataclass(frozen=True)
class Snapshot:
    """The latest state of training.

    Attributes
    ----------
    step : the latest step record; ``step.backprop`` and ``step.weights`` are set.
    history : step records since the previous snapshot (for the loss curve and
        gradient-health plots), oldest first; may be empty.
    boundary : for 2-D data, the network's output on a G×G grid over the data
        (G, G, outputs), row = y, column = x, with ``boundary_extent``
        (xmin, xmax, ymin, ymax); None otherwise.
    test_output : the network's output on the whole test set (N_test, outputs)
        (for the digits grid and test predictions); None if not computed. Where a
        pass over the test set is costly (a big network) it is recomputed only a
        few times a second and may be a few steps old
        (:class:`~bpviz.gui.snapshot_build.ThrottledTestOutput`); a single step and a
        preview always get a fresh one.
    comparison : the latest loop-vs-vectorized measurement on one mini-batch,
        or None.
    pooled : ``(kind, layer) -> array``: the matrices of ``step`` on screen (the
        window's :class:`~bpviz.gui.pooling.ViewBudget`) larger than the heatmaps
        are drawn, pooled by :func:`~bpviz.gui.pooling.pool_signed` (extreme entry
        per block, sign kept), in the engine's orientation (W, dW out × in; a vector
        ``db`` as one row). Kinds as in :data:`bpviz.gui.notation.KINDS`; a matrix
        not listed is drawn from the record (pooled by its heatmap if too large).
    neuron_maps : for 2-D data, every neuron's activation over a coarse g×g grid
        of the same extent as ``boundary``: one array (g, g, m_l) per layer
        (``a^l`` of engine layer l at each grid point), row = y ascending,
        column = x; None otherwise (the network graph draws them).
    """

    step: StepRecord
    history: tuple[StepRecord, ...] = ()
    boundary: np.ndarray | None = None
    boundary_extent: tuple[float, float, float, float] | None = None
    test_output: np.ndarray | None = None
    comparison: Comparison | None = None
    extra: dict = field(default_factory=dict)
    pooled: dict = field(default_factory=dict)
    neuron_maps: tuple[np.ndarray, ...] | None = None


#: Bytes of history records the worker keeps between snapshots (or merges when the GUI
#: skips one), and that the window keeps for each hidden panel.
MAX_HISTORY_BYTES = 4 << 20
MAX_MISSED_BYTES = 8 << 20


def scalars_only(rec: StepRecord) -> StepRecord:
    """``rec`` without its matrices (backprop, weights, batch index): what a curve needs."""
    if rec.backprop is None and rec.weights is None and rec.batch_index is None:
        return rec
    return replace(rec, backprop=None, weights=None, batch_index=None)


def _arrays_nbytes(rec: StepRecord) -> int:
    n = 0 if rec.batch_index is None else int(rec.batch_index.nbytes)
    if rec.weights:
        n += sum(int(w.nbytes) for w in rec.weights.values())
    bp = rec.backprop
    if bp is not None:
        n += sum(int(g.nbytes) for g in bp.grads.values())
        for ly in bp.layers:
            n += sum(int(a.nbytes) for a in (ly.a_prev, ly.z, ly.a, ly.delta, ly.dW, ly.db))
    return n


def record_nbytes(rec: StepRecord) -> int:
    """About how many bytes ``rec`` holds: the object, its dict of norms, its arrays.

    A record without arrays costs the same as any other with as many norms: that
    size is measured once per count of norms (this runs for every training step)."""
    arrays = _arrays_nbytes(rec)
    k = len(rec.grad_norms)
    n = _SCALAR_NBYTES.get(k)
    if n is None:
        n = sys.getsizeof(rec) + sys.getsizeof(rec.grad_norms) + 8 * 24  # its floats
        n += sum(sys.getsizeof(key) + 24 for key in rec.grad_norms)
        if not arrays:
            _SCALAR_NBYTES[k] = n
    return n + arrays


_SCALAR_NBYTES: dict[int, int] = {}


def _is_eval(rec: StepRecord) -> bool:
    return (rec.test_loss is not None or rec.train_eval_loss is not None or rec.diverged)


def thin_records(records: list[StepRecord], bucket: int = 4) -> list[StepRecord]:
    """About half of ``records`` (oldest first), the curves' shape kept.

    Per bucket of ``bucket`` consecutive records: the ones of least and greatest
    loss (min/max decimation), every evaluation step, and the last record overall.
    """
    if len(records) < 2:
        return list(records)
    out: list[StepRecord] = []
    for s in range(0, len(records), bucket):
        chunk = records[s:s + bucket]
        finite = [r for r in chunk if r.loss == r.loss]
        keep = {id(r) for r in chunk if _is_eval(r)}
        if finite:
            keep.add(id(min(finite, key=lambda r: r.loss)))
            keep.add(id(max(finite, key=lambda r: r.loss)))
        out.extend(r for r in chunk if id(r) in keep)
    if out[-1] is not records[-1]:
        out.append(records[-1])
    return out


class RecordBuffer:
    """Step records without matrices, oldest first, bounded to ``max_bytes``.

    :meth:`extend` strips each record (:func:`scalars_only`); past ``max_bytes``
    the buffer is thinned (:func:`thin_records`), halving it while the curves
    keep their extremes; if thinning cannot shrink it (all evaluation steps),
    the oldest half goes.
    """

    def __init__(self, max_bytes: int = MAX_HISTORY_BYTES) -> None:
        self.max_bytes = int(max_bytes)
        self._recs: list[StepRecord] = []
        self._sizes: list[int] = []       # record_nbytes of each record, measured once
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._recs)

    def extend(self, records: Iterable[StepRecord]) -> None:
        recs, sizes, known = self._recs, self._sizes, _SCALAR_NBYTES
        for r in records:       # every training step passes here: the common case is short
            if r.backprop is not None or r.weights is not None or r.batch_index is not None:
                r = scalars_only(r)
            size = known.get(len(r.grad_norms)) or record_nbytes(r)
            recs.append(r)
            sizes.append(size)
            self.nbytes += size
        while self.nbytes > self.max_bytes and len(self._recs) > 1:
            n = len(self._recs)
            size_of = {id(r): b for r, b in zip(self._recs, self._sizes, strict=True)}
            self._recs = thin_records(self._recs)
            if len(self._recs) > 0.75 * n:
                self._recs = self._recs[len(self._recs) // 2:]
            self._sizes = [size_of[id(r)] for r in self._recs]
            self.nbytes = sum(self._sizes)

    def take(self) -> tuple[StepRecord, ...]:
        """Everything held, oldest first; the buffer is then empty."""
        out = tuple(self._recs)
        self.clear()
        return out

    def records(self) -> tuple[StepRecord, ...]:
        return tuple(self._recs)

    def clear(self) -> None:
        self._recs = []
        self._sizes = []
        self.nbytes = 0


def bounded_history(records: Iterable[StepRecord],
                    max_bytes: int = MAX_HISTORY_BYTES) -> tuple[StepRecord, ...]:
    """``records`` stripped of matrices and thinned to at most ``max_bytes``."""
    buf = RecordBuffer(max_bytes)
    buf.extend(records)
    return buf.take()
