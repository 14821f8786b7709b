"""Building a :class:`~bpviz.gui.snapshot.Snapshot` from the trainer (worker thread only).

The worker calls these at publish time, at most ~30 times a second; this is
the only place where arrays are copied for the views. Nothing here imports Qt.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..engine.records import StepRecord
from ..engine.trainer import Trainer
from . import notation as nt
from .pooling import pool_signed
from .snapshot import Snapshot

#: Side of the decision-boundary grid (G×G points) for 2-D data.
GRID = 100
#: Side of the per-neuron activation maps of the network graph (g×g points) for 2-D data.
NEURON_GRID = 24
#: Test sets larger than this get no ``test_output`` (it would cost too much per frame).
MAX_TEST_OUTPUT = 20_000
#: At most this fraction of the worker's time goes to the test-set output (see ThrottledTestOutput).
TEST_OUTPUT_SHARE = 0.01

_extent_cache: dict[int, tuple[Any, tuple[float, float, float, float], np.ndarray]] = {}


def data_extent(data: Any) -> tuple[float, float, float, float]:  # the one grid rule
    """``(xmin, xmax, ymin, ymax)`` around the 2-D points with a 30 % margin, at least
    [-1, 1]: more than the data view shows, so the boundary fills it at any aspect."""
    X = np.concatenate([data.X_train, data.X_test]) if len(data.X_test) else data.X_train
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.3 * np.maximum(hi - lo, 1e-9)
    lo, hi = np.minimum(lo - pad, -1.0), np.maximum(hi + pad, 1.0)
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def boundary_grid(data: Any, g: int = GRID) -> tuple[tuple[float, float, float, float], np.ndarray]:
    """The extent and the (G·G, 2) grid points, row-major: row = y (ascending), column = x."""
    key = id(data)
    hit = _extent_cache.get(key)
    if hit is not None and hit[0] is data:
        return hit[1], hit[2]
    ext = data_extent(data)
    xs = np.linspace(ext[0], ext[1], g)
    ys = np.linspace(ext[2], ext[3], g)
    gx, gy = np.meshgrid(xs, ys)  # gy[i, j] = ys[i]: row i is y
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    _extent_cache.clear()
    _extent_cache[key] = (data, ext, pts)
    return ext, pts


def network_output(trainer: Trainer, X: np.ndarray) -> np.ndarray:
    """``a^L`` for ``X`` as host float32 (rows, outputs)."""
    net = trainer.net
    out = net.backend.to_host(net.forward(X))
    return np.ascontiguousarray(out, dtype=np.float32)


class ThrottledTestOutput:
    """The network's output on the test set for the snapshots, at a bounded cost.

    One forward pass of the whole test set is cheap on digits (every snapshot gets a
    fresh one) but not on a big network (1,000 samples through 784-512-512-10 take
    about as long as several training steps): after a pass that took ``t`` seconds
    the previous output is reused for ``t / TEST_OUTPUT_SHARE`` seconds, so the
    test outputs cost at most that share of the worker's time. The digits grid then
    updates a few times a second instead of every frame. Worker thread only.
    """

    def __init__(self, share: float = TEST_OUTPUT_SHARE) -> None:
        self.share = float(share)
        self.clear()

    def clear(self) -> None:
        """Forget the last output (a new trainer, a reset)."""
        self._out: np.ndarray | None = None
        self._owner: Any = None
        self._due = -math.inf
        #: The trainer's step when the output was computed (None before the first).
        self.step: int | None = None

    def get(self, trainer: Trainer, fresh: bool = False) -> np.ndarray | None:
        """``a^L`` on ``trainer``'s test set (N_test, outputs) float32, recomputed when due
        (always with ``fresh``, or for another trainer); None if the test set is empty or
        larger than ``MAX_TEST_OUTPUT``."""
        X = trainer.data.X_test
        if not 0 < len(X) <= MAX_TEST_OUTPUT:
            return None
        now = time.perf_counter()
        if fresh or self._owner is not trainer or self._out is None or now >= self._due:
            self._out, self._owner = network_output(trainer, X), trainer
            self.step = trainer.step
            done = time.perf_counter()
            self._due = done + (done - now) / self.share
        return self._out


def pooled_matrices(rec: StepRecord, side: int,
                    keys: Iterable[tuple[str, int]] | None = None
                    ) -> dict[tuple[str, int], np.ndarray]:
    """Each matrix of ``rec`` with more than ``side`` rows or columns, pooled to at most
    ``side × side`` (:func:`~bpviz.gui.pooling.pool_signed`), by ``(kind, layer)``, in the
    engine's orientation; the smaller ones are not listed (the views draw them whole).

    ``keys``: only these ``(kind, layer)`` pairs (the heatmaps on screen, from the
    window's :class:`~bpviz.gui.pooling.ViewBudget`); None: every kind of every layer.
    """
    out: dict[tuple[str, int], np.ndarray] = {}
    if rec.backprop is None:
        return out
    n = len(rec.backprop.layers)
    if keys is None:
        wanted = [(kind, i) for i in range(n) for kind in nt.KINDS]
    else:
        wanted = sorted((k, i) for k, i in set(keys) if k in nt.KINDS and 0 <= i < n)
    for kind, i in wanted:
        M = nt.record_matrix(rec, kind, i, "out_in")
        if M is not None and max(M.shape) > side:
            out[(kind, i)] = pool_signed(M, side, side)
    return out


def neuron_maps(trainer: Trainer, extent: tuple[float, float, float, float],
                g: int = NEURON_GRID) -> tuple[np.ndarray, ...]:
    """Every neuron's activation on a g×g grid over ``extent`` (2-D data only).

    One forward pass of the g² grid points through the network's own forward
    (the first phases of :meth:`~bpviz.engine.network.Network.phases`, stopped
    before the loss, so no targets are needed).

    Returns
    -------
    tuple of ndarray
        One host float32 array (g, g, m_l) per layer: ``a^l`` of engine layer l
        at grid point (row, column), row = y ascending from ``extent[2]``,
        column = x ascending from ``extent[0]``, as :func:`boundary_grid`.
    """
    net = trainer.net
    xs = np.linspace(extent[0], extent[1], g)
    ys = np.linspace(extent[2], extent[3], g)
    gx, gy = np.meshgrid(xs, ys)
    X = net.xp.asarray(np.column_stack([gx.ravel(), gy.ravel()]), dtype=net.dtype)
    L = net.n_layers
    maps: list[np.ndarray] = []
    gen = net.phases(X, None, trace=True)
    try:
        for phase in gen:
            if phase.kind == "a":
                a = np.asarray(net.backend.to_host(phase.value), dtype=np.float32)
                maps.append(np.ascontiguousarray(a.reshape(g, g, a.shape[1])))
                if len(maps) == L:
                    break
    finally:
        gen.close()
    return tuple(maps)


def build_snapshot(trainer: Trainer, rec: StepRecord, history: tuple[StepRecord, ...],
                   comparison: Any, extra: dict[str, Any], side: int | None = None,
                   keys: Iterable[tuple[str, int]] | None = None,
                   test_outputs: ThrottledTestOutput | None = None) -> Snapshot:
    """A snapshot of ``rec`` (which carries backprop and weights) plus the views' extras.

    ``side`` and ``keys`` (from the window's :class:`~bpviz.gui.pooling.ViewBudget`):
    the shown matrices (``keys``; None: all) larger than ``side`` device pixels are
    also sent pooled (``Snapshot.pooled``); ``side`` None: none.
    ``test_outputs``: where the test-set output comes from (the worker's, reused
    while recomputing it is not due); None: computed now.

    ``boundary`` is the output on a G×G grid for 2-D data, shape (G, G, outputs),
    row i at ``y = ymin + i (ymax − ymin)/(G−1)`` (row 0 is the *lowest* y),
    column j likewise in x. ``test_output`` is the output on the whole test set, made
    with the weights of step ``extra["test_output_step"]`` (the step of ``rec`` unless
    the throttle reused an earlier one).
    """
    data = trainer.data
    boundary = extent = maps = None
    if data.X_train.shape[1] == 2:
        extent, pts = boundary_grid(data)
        out = network_output(trainer, pts)
        boundary = out.reshape(GRID, GRID, out.shape[1])
        maps = neuron_maps(trainer, extent)
    outputs = test_outputs or ThrottledTestOutput()
    test_output = outputs.get(trainer)
    extra = dict(extra)
    extra["test_output_step"] = outputs.step   # the step whose weights gave test_output
    extra.setdefault("published_at", time.perf_counter())
    extra.setdefault("epoch", trainer.epoch)
    pooled = pooled_matrices(rec, side, keys) if side else {}
    return Snapshot(rec, history, boundary, extent, test_output, comparison, extra, pooled,
                    neuron_maps=maps)
