"""The training history of the timeline: bounded in bytes (counted, not timed), thinned
by age (every step of the newest, then every 10th, 100th ...), the newest kept exact,
the old spread over the run; display precision said and widened back for the views."""

from __future__ import annotations

import numpy as np

from bpviz.engine.records import BackpropRecord, LayerRecord, StepRecord
from bpviz.gui.history import (
    ENTRY_OVERHEAD,
    History,
    is_recorded,
    recorded_snapshot,
    snapshot_nbytes,
    stride,
)
from bpviz.gui.snapshot import Snapshot

SIZES = (100, 64, 64, 10)
K = 32


def _snap(step: int, sizes=SIZES, rng=None, boundary: bool = True) -> Snapshot:
    """A published snapshot of a network of ``sizes`` (fresh arrays every time)."""
    rng = rng or np.random.default_rng(step)
    layers, weights, a = [], {}, rng.standard_normal((K, sizes[0])).astype(np.float32)
    for i, (n, m) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        W = rng.standard_normal((m, n)).astype(np.float32)
        z = a @ W.T
        out = np.tanh(z)
        d = rng.standard_normal((K, m)).astype(np.float32)
        layers.append(LayerRecord(a, z, out, d, d.T @ a / K, d.mean(axis=0), i))
        weights[f"W{i}"] = W
        a = out
    grads = {f"W{i}": ly.dW for i, ly in enumerate(layers)}
    bp = BackpropRecord(0.5, tuple(layers), grads, "vectorized", K)
    rec = StepRecord(step, 0, 1.0 / step, 0.5, 1.0, "vectorized", K, 0.1,
                     batch_index=np.arange(K, dtype=np.int64), backprop=bp, weights=weights)
    bnd = rng.random((100, 100, 2)).astype(np.float32) if boundary else None
    return Snapshot(rec, (rec,), bnd, (-1.0, 1.0, -1.0, 1.0) if boundary else None,
                    extra={"test_output_step": step}, pooled={("dW", 0): np.zeros((4, 4))})


def _live_bytes(h: History) -> int:
    """Bytes of every distinct buffer the history holds, counted here from scratch."""
    roots: dict[int, np.ndarray] = {}

    def walk(obj, depth=0):
        if isinstance(obj, np.ndarray):
            while isinstance(obj.base, np.ndarray):
                obj = obj.base
            roots[id(obj)] = obj
        elif isinstance(obj, dict):
            for v in obj.values():
                walk(v, depth + 1)
        elif isinstance(obj, (tuple, list)):
            for v in obj:
                walk(v, depth + 1)
        elif hasattr(obj, "__dataclass_fields__") and depth < 8:
            for name in obj.__dataclass_fields__:
                walk(getattr(obj, name), depth + 1)

    for e in h.entries():
        walk(e.snap)
    return sum(r.nbytes for r in roots.values())


def test_bytes_stay_within_budget_in_a_long_run():
    one = snapshot_nbytes(_snap(1))
    budget = 40 * one           # about 40 exact steps, 80 at display precision
    h = History(budget, recent=50)
    rng = np.random.default_rng(0)
    n = 3000
    for s in range(1, n + 1):
        h.add(_snap(s, rng=rng))
        assert h.nbytes <= budget
    assert _live_bytes(h) + ENTRY_OVERHEAD * len(h) <= h.nbytes <= budget
    entries = h.entries()
    steps = [e.step for e in entries]
    assert steps == sorted(set(steps))
    assert steps[-1] == n and entries[-1].exact        # the newest, exact
    assert not entries[0].exact                         # the old at display precision
    assert len(h) > 40                                  # float16 made room for more
    # the old spread over the run: kept steps in each tenth of it, denser at the end
    tenths = {(s - 1) * 10 // n for s in steps}
    assert len(tenths) >= 6, steps
    assert sum(s > n - 100 for s in steps) > sum(s <= 100 for s in steps)


def test_a_smaller_budget_shrinks_at_once_and_off_keeps_nothing():
    h = History(1 << 30, recent=1000)
    for s in range(1, 101):
        h.add(_snap(s))
    assert len(h) == 100 and all(e.exact for e in h.entries())
    budget = 10 * snapshot_nbytes(_snap(1))
    h.set_budget(budget)
    assert h.nbytes <= budget and h.steps()[-1] == 100
    h.set_budget(0)
    assert len(h) == 0 and h.nbytes == 0
    h.add(_snap(101))
    assert len(h) == 0


def test_one_step_over_the_budget_is_not_kept_and_said():
    h = History(snapshot_nbytes(_snap(1)) // 4)
    h.add(_snap(1))
    assert len(h) == 0 and h.nbytes == 0 and h.too_big


def test_thinning_by_age_every_step_then_every_10th_then_100th():
    h = History(1 << 40, recent=20)
    tiny = (3, 2)
    n = 2000
    for s in range(1, n + 1):
        h.add(_snap(s, tiny, boundary=False))
    steps = h.steps()
    newest_seq = n - 1
    for s in steps:
        age = newest_seq - (s - 1)
        assert (s - 1) % stride(age, 20) == 0, (s, age)
    assert steps[-20:] == list(range(n - 19, n + 1))    # every one of the newest 20
    assert steps[0] == 1                                  # the start stays
    assert len(steps) < 20 + 3 * 20                       # log-many, not n
    assert [stride(a, 20) for a in (0, 19, 20, 199, 200, 1999, 2000)] == \
        [1, 1, 10, 10, 100, 100, 1000]


def test_an_earlier_step_starts_the_timeline_again_and_get_finds_the_nearest():
    h = History(1 << 30)
    for s in (1, 2, 5, 9):
        h.add(_snap(s, (3, 2)))
    assert h.get(4).step == 2 and h.get(9).step == 9 and h.get(0).step == 1
    h.add(_snap(5, (3, 2)))            # e.g. the preview of edited weights at step 5
    assert h.steps() == [1, 2, 5]
    h.add(_snap(1, (3, 2)))            # a reset
    assert h.steps() == [1]
    h.clear()
    assert h.get(3) is None and h.nbytes == 0


def test_entry_is_the_published_record_without_history_or_pooled():
    snap = _snap(7)
    h = History()
    h.add(snap)
    e = h.entries()[0]
    assert e.snap.history == () and e.snap.pooled == {}
    # no copy: the very arrays the worker published
    assert e.snap.step.backprop.layers[1].dW is snap.step.backprop.layers[1].dW
    assert e.snap.boundary is snap.boundary
    shown = recorded_snapshot(e)
    assert is_recorded(shown) and not is_recorded(snap)
    assert shown.history == () and shown.step.step == 7
    np.testing.assert_array_equal(shown.step.weights["W0"], snap.step.weights["W0"])


def test_display_precision_is_widened_back_to_float32():
    snap = _snap(3)
    one = snapshot_nbytes(snap)
    h = History(int(1.6 * one))
    h.add(snap)
    h.add(_snap(4))
    e = h.get(3)
    assert e.step == 3 and not e.exact
    assert e.snap.step.backprop.layers[0].delta.dtype == np.float16
    shown = recorded_snapshot(e)
    assert shown.extra["exact"] is False
    for ly, ref in zip(shown.step.backprop.layers, snap.step.backprop.layers, strict=True):
        assert ly.dW.dtype == np.float32
        np.testing.assert_allclose(ly.dW, ref.dW, rtol=1e-3, atol=1e-4)
    assert shown.step.loss == snap.step.loss          # scalars stay exact
    assert h.get(4).exact


def test_nbytes_counts_the_buffers_a_view_keeps_alive():
    from dataclasses import replace

    big = np.zeros((1000, 1000), np.float32)
    snap = replace(_snap(2), test_output=big[:2, :2])      # a view keeps ``big`` alive
    h = History(8 << 20)
    h.add(snap)
    assert h.nbytes >= big.nbytes and h.entries()[0].exact
    h = History(1 << 20)                                   # over budget: made compact
    h.add(snap)
    assert len(h) == 1 and not h.entries()[0].exact and h.nbytes <= 1 << 20


def test_the_worker_keeps_snapshots_at_a_bounded_cost(monkeypatch):
    """A keep that took t seconds makes the next wait t / HISTORY_SHARE while training
    plays (big networks: a few keeps a second); previews and paused steps are kept."""
    import time
    from types import SimpleNamespace

    from bpviz.gui import worker as wk

    kept = []

    def slow_add(snap):
        kept.append(snap)
        time.sleep(0.01)                      # 10 ms: the next keep waits ~0.33 s

    fake = SimpleNamespace(history=SimpleNamespace(add=slow_add), _keep_due=float("-inf"),
                           _playing=True)
    snap = SimpleNamespace(extra={})
    wk.TrainingWorker._keep(fake, snap)
    wk.TrainingWorker._keep(fake, snap)       # too soon: skipped
    assert len(kept) == 1
    wk.TrainingWorker._keep(fake, SimpleNamespace(extra={"preview": True}))
    fake._playing = False
    wk.TrainingWorker._keep(fake, snap)       # paused: a single step is always kept
    assert len(kept) == 3
