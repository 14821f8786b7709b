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
    """About half of ``records`` (oldest first), the curves' shape kept
    (:func:`thin_indices`)."""
    return [records[i] for i in thin_indices(records, bucket)]


def thin_indices(records: list[StepRecord], bucket: int = 4) -> np.ndarray:
    """The indices of about half of ``records`` (ascending), the curves' shape kept.

    Per bucket of ``bucket`` consecutive records: the ones of least and greatest
    loss (min/max decimation; the first of equals), every evaluation step, and the
    last record overall. In NumPy over the losses: a worker thins tens of thousands
    of records at once, and a loop in Python would take its time from training.
    """
    n = len(records)
    if n < 2:
        return np.arange(n)
    m = -(-n // bucket) * bucket
    loss = np.full(m, np.nan)
    loss[:n] = np.fromiter((r.loss for r in records), dtype=np.float64, count=n)
    keep = np.zeros(m, dtype=bool)
    keep[:n] = np.fromiter(map(_is_eval, records), dtype=bool, count=n)
    rows = loss.reshape(-1, bucket)
    finite = np.isfinite(rows) | np.isinf(rows)          # every loss but NaN (r.loss == r.loss)
    any_finite = finite.any(axis=1)
    base = np.arange(len(rows)) * bucket
    lo = np.where(finite, rows, np.inf).argmin(axis=1)   # argmin/argmax: the first of equals
    hi = np.where(finite, rows, -np.inf).argmax(axis=1)
    # a bucket whose only finite values are +inf (or -inf): argmin/argmax over the
    # masked rows still pick a finite entry, as min()/max() over the finite ones would
    lo = np.where(finite[np.arange(len(rows)), lo], lo, finite.argmax(axis=1))
    hi = np.where(finite[np.arange(len(rows)), hi], hi, finite.argmax(axis=1))
    keep[(base + lo)[any_finite]] = True
    keep[(base + hi)[any_finite]] = True
    keep[n - 1] = True
    return np.flatnonzero(keep[:n])


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
        # every training step passes here: comprehensions, not a loop of appends
        known = _SCALAR_NBYTES
        recs = [scalars_only(r) if (r.backprop is not None or r.weights is not None
                                    or r.batch_index is not None) else r for r in records]
        self._add(recs, [known.get(len(r.grad_norms)) or record_nbytes(r) for r in recs])

    def move_to(self, other: RecordBuffer) -> tuple[StepRecord, ...]:
        """Everything held, oldest first, also appended to ``other`` (as measured here);
        this buffer is then empty."""
        recs, sizes = self._recs, self._sizes
        self.clear()
        other._add(recs, sizes)
        return tuple(recs)

    def _add(self, recs: list[StepRecord], sizes: list[int]) -> None:
        self._recs += recs
        self._sizes += sizes
        self.nbytes += sum(sizes)
        while self.nbytes > self.max_bytes and len(self._recs) > 1:
            n = len(self._recs)
            idx = thin_indices(self._recs)
            if len(idx) > 0.75 * n:
                idx = idx[len(idx) // 2:]
            self._recs = [self._recs[i] for i in idx]
            self._sizes = [self._sizes[i] for i in idx]
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
