"""Big networks in the window: pooled heatmaps that keep the extremes, zoom with exact
readouts, marked columns, min/max-decimated curves, and memory bounded in bytes."""

from __future__ import annotations

import dataclasses
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt  # noqa: E402

from bpviz.engine.records import BackpropRecord, LayerRecord, StepRecord  # noqa: E402
from bpviz.gui.pooling import ViewBudget, block_edges, pool_signed  # noqa: E402
from bpviz.gui.snapshot import (  # noqa: E402
    MAX_MISSED_BYTES,
    RecordBuffer,
    Snapshot,
    bounded_history,
    record_nbytes,
    thin_records,
)
from bpviz.gui.snapshot_build import ThrottledTestOutput, build_snapshot, pooled_matrices  # noqa: E402
from bpviz.gui.views.colormaps import map_signed  # noqa: E402
from bpviz.gui.views.heatmap import Heatmap  # noqa: E402
from bpviz.gui.views.scaling import format_value  # noqa: E402
from bpviz.gui.views.series import DecimatedSeries  # noqa: E402


# ------------------------------------------------------------------ pooling
def _brute_pool(M: np.ndarray, r: int, c: int) -> np.ndarray:
    re = list(block_edges(M.shape[0], r)) + [M.shape[0]]
    ce = list(block_edges(M.shape[1], c)) + [M.shape[1]]
    out = np.empty((r, c), dtype=np.float32)
    for i in range(r):
        for j in range(c):
            b = M[re[i]:re[i + 1], ce[j]:ce[j + 1]].ravel()
            k = np.argmax(np.abs(b))
            hi, lo = b.max(), b.min()
            out[i, j] = hi if hi >= -lo else lo  # the positive one on a tie
            assert abs(out[i, j]) == abs(b[k])
    return out


@pytest.mark.parametrize("shape,side", [((512, 784), 100), ((37, 53), 8), ((9, 1000), 64),
                                        ((1, 777), 50), ((300, 5), 7), ((301, 302), 300),
                                        ((512, 512), 125), ((1000, 3), 999)])
def test_pooling_keeps_the_extreme_entry_of_each_block_with_its_sign(shape, side):
    rng = np.random.default_rng(1)
    M = rng.standard_normal(shape).astype(np.float32)
    M[shape[0] // 2, shape[1] // 3] = -50.0  # a lone negative extreme must survive
    P = pool_signed(M, side, side)
    assert P.shape == (min(shape[0], side), min(shape[1], side))
    assert P.dtype == np.float32 and P.flags.c_contiguous
    np.testing.assert_array_equal(P, _brute_pool(M, *P.shape))
    assert P.min() == -50.0 and np.abs(P).max() == np.abs(M).max()  # the colour scale holds


def test_pooling_a_matrix_that_fits_changes_nothing_and_a_vector_is_a_row():
    M = np.arange(12.0).reshape(3, 4) - 6
    np.testing.assert_array_equal(pool_signed(M, 3, 4), M)
    v = np.array([1.0, -3.0, 2.0, 0.5])
    np.testing.assert_array_equal(pool_signed(v, 1, 2), [[-3.0, 2.0]])
    F = np.asfortranarray(np.random.default_rng(0).standard_normal((40, 30)), dtype=np.float32)
    np.testing.assert_array_equal(pool_signed(F, 7, 9), _brute_pool(F, 7, 9))


def test_pooling_keeps_non_finite_blocks_visible():
    M = np.zeros((8, 8), dtype=np.float32)
    M[0, 0] = np.nan
    M[7, 7] = np.inf
    P = pool_signed(M, 2, 2)
    assert np.isnan(P[0, 0]) and P[1, 1] == np.inf and P[0, 1] == 0 and P[1, 0] == 0


def test_view_budget_is_clamped():
    b = ViewBudget()
    b.publish(300.2)
    assert b.side() == 301
    b.publish(0)
    assert b.side() >= 32
    b.publish(1e9)
    assert b.side() <= 4096


def test_view_budget_says_which_matrices_are_on_screen():
    b = ViewBudget()
    assert b.keys() is None  # not said yet: every matrix may be shown
    b.publish(200, [("W", 0), ("dW", np.int64(1))])
    assert b.keys() == {("W", 0), ("dW", 1)} and b.side() == 200
    b.publish(200, [])
    assert b.keys() == frozenset()
    b.publish(200)
    assert b.keys() is None


def _record(K: int = 32, sizes=(784, 512, 512, 10), seed: int = 0, step: int = 1,
            loss: float = 1.0) -> StepRecord:
    rng = np.random.default_rng(seed)
    layers, weights = [], {}
    for i, (n, m) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
        layers.append(LayerRecord(f(K, n), f(K, m), f(K, m), f(K, m), f(m, n), f(m), i))
        weights[f"W{i}"], weights[f"b{i}"] = f(m, n), f(m)
    bp = BackpropRecord(loss, tuple(layers), {}, "vectorized", K)
    return StepRecord(step, 0, loss, 0.5, 1.0, "vectorized", K, 0.1,
                      batch_index=np.arange(K), backprop=bp, weights=weights,
                      grad_norms={f"W{i}": 1.0 for i in range(len(layers))})


def test_snapshot_pools_only_the_matrices_larger_than_the_view():
    rec = _record()
    pooled = pooled_matrices(rec, 256)
    assert set(pooled) == {("a", 0), ("W", 0), ("dW", 0), ("W", 1), ("dW", 1), ("a", 1),
                           ("a", 2), ("delta", 0), ("z", 0), ("delta", 1), ("z", 1),
                           ("db", 0), ("db", 1), ("W", 2), ("dW", 2)}
    W = rec.weights["W0"]
    assert pooled[("W", 0)].shape == (256, 256)
    np.testing.assert_array_equal(pooled[("W", 0)], pool_signed(W, 256, 256))
    assert pooled[("db", 0)].shape == (1, 256)
    assert pooled_matrices(rec, 1024) == {}


def test_snapshot_pools_only_the_matrices_on_screen():
    rec = _record()
    shown = [("W", 0), ("delta", 2), ("db", 1), ("z", 9), ("nonsense", 0)]
    pooled = pooled_matrices(rec, 256, shown)
    assert set(pooled) == {("W", 0), ("db", 1)}  # δ³ is 32×10: drawn whole; no layer 10
    np.testing.assert_array_equal(pooled[("W", 0)], pool_signed(rec.weights["W0"], 256, 256))
    assert pooled_matrices(rec, 256, []) == {}  # the matrices panel hidden: nothing pooled


class _CountingNet:
    """Stands in for a network: counts forward passes, output = row sums."""

    def __init__(self) -> None:
        self.calls = 0
        self.backend = dataclasses.make_dataclass("B", [])()
        self.backend.to_host = np.asarray  # type: ignore[attr-defined]

    def forward(self, X):
        self.calls += 1
        return np.asarray(X).sum(axis=1, keepdims=True) + self.calls


class _Data:
    def __init__(self, n_test: int) -> None:
        self.X_train = np.ones((4, 3), dtype=np.float32)
        self.X_test = np.arange(3.0 * n_test, dtype=np.float32).reshape(n_test, 3)


class _Trainer:
    def __init__(self, n_test: int = 5) -> None:
        self.net, self.data, self.step = _CountingNet(), _Data(n_test), 0


def test_test_outputs_are_reused_only_while_recomputing_is_not_due():
    tr = _Trainer()
    costly = ThrottledTestOutput(share=1e-12)  # any pass is "expensive": reused for ages
    first = costly.get(tr)
    assert first.shape == (5, 1) and first.dtype == np.float32 and tr.net.calls == 1
    assert costly.get(tr) is first and tr.net.calls == 1  # not due: the same output
    assert costly.get(tr, fresh=True) is not first and tr.net.calls == 2  # a single step
    other = _Trainer()
    assert costly.get(other) is not None and other.net.calls == 1  # a new trainer: computed
    cheap = ThrottledTestOutput(share=1e12)  # any pass is cheap: every snapshot gets a fresh one
    a, b = cheap.get(tr), cheap.get(tr)
    assert a is not b and tr.net.calls == 4
    assert ThrottledTestOutput().get(_Trainer(0)) is None


def test_built_snapshot_pools_the_shown_keys_and_takes_the_test_output_given():
    rec = _record()
    tr = _Trainer()
    tr.epoch = 0
    outs = ThrottledTestOutput(share=1e-12)
    s1 = build_snapshot(tr, rec, (), None, {}, 256, [("dW", 0)], outs)
    s2 = build_snapshot(tr, rec, (), None, {}, 256, [("dW", 0)], outs)
    assert set(s1.pooled) == {("dW", 0)}
    assert s2.test_output is s1.test_output and tr.net.calls == 1


# ------------------------------------------------------------------ heatmap: zoom, readout
@pytest.fixture
def big(qtbot):
    hm = Heatmap()
    qtbot.addWidget(hm)
    hm.resize(420, 320)
    hm.show()
    qtbot.waitExposed(hm)
    M = np.random.default_rng(3).standard_normal((512, 784)).astype(np.float32)
    M[100, 200] = 9.0
    hm.set_matrix(M, "W¹ — 512×784", "neuron i", "input j",
                  pooled=pool_signed(M, 256, 256))
    return hm, M


def _readout_value(hm: Heatmap, M: np.ndarray, r: int, c: int) -> None:
    centre = hm.cell_center(r, c)
    assert hm.graphics_view().cell_at(centre) == (r, c)
    text = hm.hover_cell(*hm.graphics_view().cell_at(centre))
    assert f"= {r + 1}," in text and f"= {c + 1}:" in text
    assert f":  {format_value(float(M[r, c]))} " in text


def test_big_matrix_is_drawn_pooled_and_read_exactly(big):
    hm, M = big
    assert hm.shown_matrix().shape == (256, 256) and hm.image().shape[:2] == (256, 256)
    assert hm.matrix().shape == (512, 784)
    np.testing.assert_array_equal(hm.matrix(), M)
    assert hm.scale() == 9.0  # the extreme survived pooling
    assert "512×784" in hm.title()
    for r, c in ((0, 0), (100, 200), (511, 783), (257, 400)):
        _readout_value(hm, M, r, c)


def test_zoomed_readouts_equal_the_record_down_to_one_cell(big, qtbot):
    hm, M = big
    cv = hm.graphics_view()
    hm.set_view_window(90, 130, 180, 240)
    assert hm.view_window() == (90, 130, 180, 240)
    assert hm.image().shape[:2] == (40, 60)  # the window's cells, whole
    top = map_signed(np.array([[9.0]], dtype=np.float32), 9.0)[0, 0]
    np.testing.assert_array_equal(hm.image()[100 - 90, 200 - 180], top)  # exact, not pooled
    for r, c in ((90, 180), (100, 200), (129, 239), (111, 222)):
        _readout_value(hm, M, r, c)
    # the wheel zooms at the mouse until one cell fills the plot
    pos = hm.cell_center(100, 200).toPoint()
    for _ in range(40):
        qtbot.wait(1)
        _wheel(cv, pos, 120)
        r0, r1, c0, c1 = hm.view_window()
        if r1 - r0 == 1 and c1 - c0 == 1:
            break
    r0, r1, c0, c1 = hm.view_window()
    assert (r1 - r0, c1 - c0) == (1, 1) and (r0, c0) == (100, 200)
    _readout_value(hm, M, 100, 200)
    # a new frame keeps the zoom and reads the new record
    M2 = -M
    hm.set_matrix(M2, pooled=pool_signed(M2, 256, 256))
    assert hm.view_window() == (100, 101, 200, 201)
    _readout_value(hm, M2, 100, 200)
    # drag pans by whole cells; double-click shows everything again
    hm.set_view_window(0, 64, 0, 64)
    cw = hm.graphics_view().plot_rect().width() / 64
    start = hm.cell_center(20, 20).toPoint()
    qtbot.mousePress(cv.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(cv.viewport(), start - QPoint(int(10 * cw), 0))
    qtbot.mouseRelease(cv.viewport(), Qt.MouseButton.LeftButton,
                       pos=start - QPoint(int(10 * cw), 0))
    r0, r1, c0, c1 = hm.view_window()
    assert (r0, r1) == (0, 64) and 8 <= c0 <= 11 and c1 - c0 == 64
    qtbot.mouseDClick(cv.viewport(), Qt.MouseButton.LeftButton, pos=start)
    assert hm.view_window() == (0, 512, 0, 784)


def _wheel(view, pos: QPoint, delta: int) -> None:
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    ev = QWheelEvent(QPointF(pos), QPointF(view.viewport().mapToGlobal(pos)), QPoint(0, 0),
                     QPoint(0, delta), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                     Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), ev)


def test_ticks_follow_the_zoom(big):
    hm, _ = big
    hm.set_view_window(100, 120, 300, 340)
    texts = [t.text() for t in hm.graphics_view()._tick_texts if t.isVisible()]
    assert "101" in texts and "120" in texts and "301" in texts and "340" in texts
    assert "1" not in texts and "784" not in texts


def test_small_matrix_grows_beyond_the_view_without_copy_per_cell(qtbot):
    hm = Heatmap()
    qtbot.addWidget(hm)
    M = np.random.default_rng(0).standard_normal((2000, 30)).astype(np.float32)
    hm.set_matrix(M)  # no pooled given: the heatmap pools it itself
    assert hm.shown_matrix().shape[0] <= max(hm.pool_side(), 512) < 2000
    assert hm.scale() == float(np.abs(M).max())
    np.testing.assert_array_equal(hm.matrix(), M)


def test_mark_columns_outlines_whole_columns_and_follows_zoom(big):
    hm, _ = big
    hm.mark_columns([3, 500, 783], "#00aa00")
    cv = hm.graphics_view()
    marks = cv.mark_items()
    assert len(marks) == 3 and hm.marked_columns() == [3, 500, 783]
    p = cv.plot_rect()
    for m, c in zip(marks, (3, 500, 783), strict=True):
        rect = m.rect()
        assert rect.height() == pytest.approx(p.height())
        assert rect.left() <= hm.cell_center(0, c).x() <= rect.right()
        assert m.pen().color().name() == "#00aa00"
    hm.set_view_window(0, 10, 495, 505)
    assert len(cv.mark_items()) == 1
    assert cv.mark_items()[0].rect().width() == pytest.approx(p.width() / 10)
    hm.mark_columns([], "red")
    assert cv.mark_items() == []
    assert {type(it).__module__ for it in cv.scene().items()} == {"PySide6.QtWidgets"}


# ------------------------------------------------------------------ curves: min/max
def test_decimated_series_keeps_spikes_and_dips():
    s = DecimatedSeries(cap=64)
    y = np.ones(100_000)
    y[31_337], y[77_777] = 50.0, -7.0
    for k, v in enumerate(y):
        s.append(k, v)
    x, v = s.data()
    assert len(x) <= 65 and np.all(np.diff(x) >= 0)
    assert v.max() == 50.0 and x[v.argmax()] == 31_337
    assert v.min() == -7.0 and x[v.argmin()] == 77_777
    assert x[-1] == 99_999 and s.last() == 1.0


# ------------------------------------------------------------------ memory: bytes
def test_history_records_carry_no_matrices_and_are_bounded_in_bytes():
    big_rec = _record()
    assert record_nbytes(big_rec) > 5_000_000  # ~8 MB of matrices
    small = bounded_history([big_rec] * 3)
    assert all(r.backprop is None and r.weights is None and r.batch_index is None
               for r in small)
    buf = RecordBuffer(max_bytes=200_000)
    scalar = dataclasses.replace(big_rec, backprop=None, weights=None, batch_index=None)
    for k in range(20_000):
        buf.extend([dataclasses.replace(scalar, step=k, loss=1.0 + (k == 12_345) * 9)])
        assert buf.nbytes <= 200_000
    recs = buf.records()
    steps = [r.step for r in recs]
    assert steps == sorted(steps) and steps[-1] == 19_999
    assert 12_345 in steps  # the spike survived thinning (max per bucket)


def test_records_moved_to_the_session_buffer_keep_their_measure():
    """The worker moves each frame's records to the session's buffer (RecordBuffer.move_to):
    the frame's records come back once, the source is empty, and the session buffer holds
    them within its bytes as if they had been added there."""
    scalar = dataclasses.replace(_record(), backprop=None, weights=None, batch_index=None)
    frame, session, direct = RecordBuffer(), RecordBuffer(max_bytes=50_000), \
        RecordBuffer(max_bytes=50_000)
    for f in range(40):
        batch = [dataclasses.replace(scalar, step=f * 25 + k) for k in range(25)]
        frame.extend(batch)
        direct.extend(batch)
        moved = frame.move_to(session)
        assert [r.step for r in moved] == [r.step for r in batch]
        assert len(frame) == 0 and frame.nbytes == 0
        assert session.nbytes == direct.nbytes <= 50_000
        assert [r.step for r in session.records()] == [r.step for r in direct.records()]


def test_thinning_keeps_evaluation_steps():
    base = dataclasses.replace(_record(sizes=(2, 2)), backprop=None, weights=None,
                               batch_index=None)
    recs = [dataclasses.replace(base, step=k, loss=float(k % 7),
                                test_loss=1.0 if k % 50 == 0 else None) for k in range(400)]
    out = thin_records(recs)
    assert len(out) <= 0.6 * len(recs)
    assert {r.step for r in out} >= {k for k in range(400) if k % 50 == 0} | {399}


def _thin_by_loop(records, bucket=4):
    """The definition of thin_records, one bucket at a time in Python (its former code)."""
    if len(records) < 2:
        return list(records)
    out = []
    for s in range(0, len(records), bucket):
        chunk = records[s:s + bucket]
        finite = [r for r in chunk if r.loss == r.loss]
        keep = {id(r) for r in chunk if r.test_loss is not None
                or r.train_eval_loss is not None or r.diverged}
        if finite:
            keep.add(id(min(finite, key=lambda r: r.loss)))
            keep.add(id(max(finite, key=lambda r: r.loss)))
        out.extend(r for r in chunk if id(r) in keep)
    if out[-1] is not records[-1]:
        out.append(records[-1])
    return out


def test_thinning_in_numpy_keeps_exactly_what_the_definition_keeps():
    """Ties (the first kept), NaN losses, ±inf, evaluation steps, divergences, a short
    last bucket: the vectorized thinning picks the very records of the loop."""
    base = dataclasses.replace(_record(sizes=(2, 2)), backprop=None, weights=None,
                               batch_index=None)
    rng = np.random.default_rng(3)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, 1.0])
    for trial in range(200):
        n = int(rng.integers(0, 60))
        loss = np.round(rng.normal(size=n), 1)            # many ties
        pick = rng.random(n) < 0.25
        loss[pick] = rng.choice(specials, size=int(pick.sum()))
        recs = [dataclasses.replace(base, step=k, loss=float(loss[k]),
                                    test_loss=1.0 if rng.random() < 0.1 else None,
                                    diverged=bool(rng.random() < 0.03)) for k in range(n)]
        for bucket in (2, 4):
            want = [id(r) for r in _thin_by_loop(recs, bucket)]
            assert [id(r) for r in thin_records(recs, bucket)] == want, (trial, bucket)


def test_window_keeps_only_scalars_for_hidden_panels_bounded_in_bytes(qtbot, tmp_path):
    from bpviz.gui.controller import Controller
    from bpviz.gui.main_window import MainWindow

    ctx = Controller("circle")
    win = MainWindow(ctx, settings=QSettings(str(tmp_path / "m.ini"), QSettings.Format.IniFormat),
                     restore_layout=False, save_layout=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    try:
        for name in ("loss", "health"):
            win.docks[name].hide()
        rec = _record(K=32, sizes=(2, 64, 64, 2))
        scalar = dataclasses.replace(rec, backprop=None, weights=None, batch_index=None)
        state = {"k": 0}

        def fake_take():  # a snapshot whose history still carries matrices
            k = state["k"]
            state["k"] += 50
            hist = tuple(dataclasses.replace(rec if j % 10 == 0 else scalar, step=k + j + 1)
                         for j in range(50))
            return Snapshot(hist[-1], hist)

        ctx.take_snapshot = fake_take
        for _ in range(400):  # 20,000 steps missed
            win._on_snapshot()
        held = win._missed["loss"]
        assert len(held) > 100
        assert held.nbytes <= MAX_MISSED_BYTES
        assert win.missed_nbytes() <= len(win._missed) * MAX_MISSED_BYTES
        assert all(r.backprop is None and r.weights is None for r in held.records())
        win.docks["loss"].show()
        qtbot.waitUntil(lambda: len(win._missed["loss"]) == 0, timeout=5000)
        lp = win.panels["loss"]
        lp.flush()
        x, _ = lp.curve_data()
        assert x[-1] == 20_000 and len(x) > 100
    finally:
        win.close()
        ctx.shutdown()


def test_window_tells_the_worker_which_matrices_are_on_screen(qtbot, tmp_path):
    from bpviz.gui.controller import Controller
    from bpviz.gui.main_window import MainWindow

    ctx = Controller("circle")
    win = MainWindow(ctx, settings=QSettings(str(tmp_path / "b.ini"), QSettings.Format.IniFormat),
                     restore_layout=False, save_layout=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    try:
        mp = win.panels["matrices"]
        win.raise_view("matrices")
        mp.set_layer(0)
        mp.set_kinds(["W", "dW"])
        qtbot.waitUntil(mp.isVisible, timeout=5000)
        budget = ctx.worker.view_budget
        win.publish_view_budget()
        assert budget.keys() == {("W", 0), ("dW", 0)} == set(mp.shown())
        win.docks["matrices"].hide()
        qtbot.waitUntil(lambda: not mp.isVisible(), timeout=5000)
        win.publish_view_budget()
        assert budget.keys() == frozenset()  # nothing on screen: the worker pools nothing
        ctx.take_snapshot = lambda: None  # no frame comes (a frame also says it, later)
        win.docks["matrices"].show()  # shown again: said at once, not at the next frame
        qtbot.waitUntil(lambda: budget.keys() == {("W", 0), ("dW", 0)}, timeout=5000)
    finally:
        win.close()
        ctx.shutdown()
