"""The timing lab's engine: compare_methods and the batch/width sweep (no Qt)."""

from __future__ import annotations

import csv
import io
import json
import threading

import numpy as np
import pytest

from bpviz.engine import BpvizError, LayerSpec, Network, NetworkSpec
from bpviz.engine import backend as backend_mod
from bpviz.engine.errors import BackendError
from bpviz.engine.sweep import (
    CSV_FIELDS,
    SweepResult,
    TimingRow,
    default_batches,
    parse_int_list,
    sweep,
    widen,
)
from bpviz.engine.timing import Comparison, compare_methods

ROW_KEYS = {"backend", "batch", "width", "loop_ms", "loop_median_ms", "vectorized_ms",
            "vectorized_median_ms", "speedup", "max_abs_diff"}


def small_spec() -> NetworkSpec:
    return NetworkSpec(4, (LayerSpec(6, "tanh"), LayerSpec(5, "relu"), LayerSpec(3, "softmax")),
                       loss="cross_entropy")


def small_data(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.standard_normal((n, 4)), rng.integers(0, 3, n)


# ---------------------------------------------------------------- compare_methods
def test_compare_methods_times_both_and_agrees() -> None:
    net = Network(small_spec(), seed=0)
    X, y = small_data(16)
    c = compare_methods(net, X, y, repeats=3)
    assert isinstance(c, Comparison)
    assert c.batch_size == 16
    assert c.loop_ms > 0 and c.vectorized_ms > 0
    assert c.loop_median_ms >= c.loop_ms and c.vectorized_median_ms >= c.vectorized_ms
    assert c.max_abs_diff <= 1e-5
    assert c.speedup == pytest.approx(c.loop_ms / c.vectorized_ms)


def test_compare_methods_cancel_keeps_one_repeat() -> None:
    net = Network(small_spec(), seed=0)
    X, y = small_data(8)
    ev = threading.Event()
    ev.set()
    c = compare_methods(net, X, y, repeats=50, cancel=ev)
    assert c.loop_ms == c.loop_median_ms  # a single repeat


def test_compare_methods_leaves_weights_alone() -> None:
    net = Network(small_spec(), seed=0)
    before = net.get_weights()
    compare_methods(net, *small_data(8), repeats=1)
    for k, v in net.get_weights().items():
        np.testing.assert_array_equal(v, before[k])


# ---------------------------------------------------------------- inputs
def test_default_batches() -> None:
    assert default_batches(5000) == (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
    assert default_batches(1438)[-1] == 1024
    assert default_batches(40) == (1, 2, 4, 8, 16, 32, 40)
    assert default_batches(32) == (1, 2, 4, 8, 16, 32)
    assert default_batches(1) == (1,)


@pytest.mark.parametrize("bad", ["0", "1,0", "-4", "a", "1,,2", "", "2.5", [0], [True], [1.5]])
def test_parse_int_list_rejects(bad: object) -> None:
    with pytest.raises(BpvizError):
        parse_int_list(bad)


def test_parse_int_list_sorts_and_dedups() -> None:
    assert parse_int_list("8, 2,4,2") == (2, 4, 8)
    assert parse_int_list([3, np.int64(1)]) == (1, 3)


def test_widen_sets_every_hidden_layer() -> None:
    w = widen(small_spec(), 17)
    assert [ly.units for ly in w.layers] == [17, 17, 3]
    assert w.loss == "cross_entropy"


def test_widen_drops_ties_that_no_longer_fit() -> None:
    spec = NetworkSpec(8, (LayerSpec(8, "tanh"), LayerSpec(8, "tanh", tie_to=0),
                           LayerSpec(2, "sigmoid")), loss="binary_cross_entropy")
    assert widen(spec, 8).layers[1].tie_to == 0
    assert widen(spec, 16).layers[1].tie_to is None


def test_widen_needs_a_hidden_layer() -> None:
    spec = NetworkSpec(4, (LayerSpec(3, "softmax"),), loss="cross_entropy")
    with pytest.raises(BpvizError, match="hidden layer"):
        widen(spec, 8)


# ---------------------------------------------------------------- sweep
def test_sweep_rows_and_json_shape() -> None:
    spec, data = small_spec(), small_data(40)
    net = Network(spec, seed=3)
    seen: list[tuple[int, int]] = []
    res = sweep(spec, net.get_weights(), data, backends=("numpy",), repeats=2,
                progress=lambda d, t: seen.append((d, t)))
    assert isinstance(res, SweepResult) and not res.cancelled
    assert [r.batch for r in res.rows] == [1, 2, 4, 8, 16, 32, 40]
    assert all(r.backend == "numpy" and r.width is None for r in res.rows)
    assert seen[0] == (0, 7) and seen[-1] == (7, 7)
    assert res.meta["blas_threads"] == 1 and res.meta["mode"] == "batch"
    obj = json.loads(res.to_json())
    assert set(obj) >= {"rows", "skipped", "network", "cancelled", "mode", "meta"}
    assert obj["network"] == spec.describe()
    assert len(obj["rows"]) == 7
    for row in obj["rows"]:
        assert set(row) == ROW_KEYS
        assert row["speedup"] == pytest.approx(row["loop_ms"] / row["vectorized_ms"])


def test_sweep_loop_and_vectorized_agree_on_every_row() -> None:
    res = sweep(small_spec(), None, small_data(64), backends=("numpy",), repeats=1,
                batches="1,3,17,64")
    assert len(res.rows) == 4
    for r in res.rows:
        assert r.max_abs_diff <= 1e-5, r
    assert res.max_abs_diff <= 1e-5


def test_sweep_uses_the_given_weights() -> None:
    spec = small_spec()
    X, y = small_data(8)
    zeros = {k: np.zeros_like(v) for k, v in Network(spec, seed=0).get_weights().items()}
    with pytest.raises(BpvizError):
        sweep(spec, {"W0": zeros["W0"]}, (X, y), backends=("numpy",), repeats=1)
    res = sweep(spec, zeros, (X, y), backends=("numpy",), repeats=1, batches=[8])
    assert res.rows[0].max_abs_diff == 0.0  # zero weights: only the last layer has dW ≠ 0


def test_sweep_csv() -> None:
    res = sweep(small_spec(), None, small_data(8), backends=("numpy",), repeats=1,
                batches=[2, 8])
    rows = list(csv.DictReader(io.StringIO(res.to_csv())))
    assert tuple(rows[0]) == CSV_FIELDS
    assert [int(r["batch"]) for r in rows] == [2, 8]
    assert float(rows[1]["loop_ms"]) == pytest.approx(res.rows[1].loop_ms)


def test_sweep_width_mode() -> None:
    res = sweep(small_spec(), None, small_data(40), mode="width", widths=[4, 8, 16], batch=10,
                backends=("numpy",), repeats=1)
    assert [(r.width, r.batch) for r in res.rows] == [(4, 10), (8, 10), (16, 10)]
    assert res.meta["batch"] == 10
    assert all(r.max_abs_diff <= 1e-5 for r in res.rows)
    assert "width" in res.headline()


def test_cancel_stops_within_one_point() -> None:
    ev = threading.Event()
    rows: list[TimingRow] = []

    def progress(done: int, total: int) -> None:
        if done >= 1:
            ev.set()

    res = sweep(small_spec(), None, small_data(40), backends=("numpy",), repeats=3,
                progress=progress, on_row=rows.append, cancel=ev)
    assert res.cancelled
    assert 1 <= len(res.rows) <= 2
    assert rows == res.rows


def test_cancel_before_start_gives_no_rows() -> None:
    ev = threading.Event()
    ev.set()
    res = sweep(small_spec(), None, small_data(8), backends=("numpy",), cancel=ev)
    assert res.cancelled and res.rows == []
    assert json.loads(res.to_json())["rows"] == []


def test_missing_gpu_gives_a_message_and_numpy_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend_mod, "cupy_status", lambda: (None, "CuPy found no CUDA device"))
    res = sweep(small_spec(), None, small_data(8), backends=("numpy", "cupy"), repeats=1,
                batches=[1, 8])
    assert res.skipped == {"cupy": "CuPy found no CUDA device"}
    assert {r.backend for r in res.rows} == {"numpy"} and len(res.rows) == 2
    assert "\n" not in res.skipped["cupy"]


def test_backend_error_is_skipped_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    real = backend_mod.get_backend

    def fake(name: str = "numpy"):  # type: ignore[no-untyped-def]
        if name == "cupy":
            raise BackendError("backend 'cupy' is not available: broken driver")
        return real(name)

    monkeypatch.setattr(backend_mod, "cupy_status", lambda: (object(), "CuPy on a fake GPU"))
    monkeypatch.setattr(backend_mod, "get_backend", fake)
    res = sweep(small_spec(), None, small_data(8), backends=("cupy", "numpy"), repeats=1,
                batches=[4])
    assert "broken driver" in res.skipped["cupy"]
    assert [r.backend for r in res.rows] == ["numpy"]


@pytest.mark.parametrize("kw", [
    {"batches": "0"}, {"batches": "1,x"}, {"batches": [100]}, {"repeats": 0},
    {"mode": "depth"}, {"backends": ("tpu",)}, {"warmup": -1}, {"dtype": "float16"},
    {"mode": "width", "widths": [0]},
])
def test_bad_sweep_input_is_one_clear_error(kw: dict) -> None:
    with pytest.raises(BpvizError) as info:
        sweep(small_spec(), None, small_data(40), **{"backends": ("numpy",), **kw})
    assert "\n" not in str(info.value)


def test_data_must_match_the_network() -> None:
    X, y = small_data(8)
    with pytest.raises(BpvizError, match="features"):
        sweep(small_spec(), None, (X[:, :3], y), backends=("numpy",))


def test_headline_quotes_the_point_nearest_256() -> None:
    rows = [TimingRow("numpy", k, None, k * 1.0, k * 1.0, 1.0, 1.0, float(k), 1e-8)
            for k in (64, 128, 300, 1024)]
    res = SweepResult(rows=rows, meta={"mode": "batch"})
    assert res.headline_row().batch == 300
    assert "K=300" in res.headline() and "300×" in res.headline()
    assert SweepResult().headline() == "no points measured"


@pytest.mark.gpu
def test_sweep_on_cupy_agrees() -> None:
    if not backend_mod.gpu_available():
        pytest.skip(backend_mod.cupy_status()[1])
    res = sweep(small_spec(), None, small_data(40), backends=("numpy", "cupy"), repeats=2)
    assert {r.backend for r in res.rows} == {"numpy", "cupy"}
    assert all(r.max_abs_diff <= 1e-5 for r in res.rows)


def test_crossover_is_where_cupy_stays_ahead() -> None:
    def row(be: str, k: int, vec: float) -> TimingRow:
        return TimingRow(be, k, None, 10.0, 10.0, vec, vec, 10.0 / vec, 0.0)

    numpy_ms = {1: 0.1, 2: 0.2, 4: 0.4, 8: 0.8, 16: 1.6}
    cupy_ms = {1: 0.3, 2: 0.1, 4: 0.5, 8: 0.5, 16: 0.5}  # ahead at 2, behind at 4, then ahead
    rows = [row("numpy", k, v) for k, v in numpy_ms.items()]
    rows += [row("cupy", k, v) for k, v in cupy_ms.items()]
    res = SweepResult(rows=rows, meta={"mode": "batch"})
    assert res.crossover() == 8
    assert SweepResult(rows=rows[:5], meta={"mode": "batch"}).crossover() is None


def test_sweep_worker_sends_rows_then_the_result() -> None:
    import queue as queue_mod

    from bpviz.engine.sweep import sweep_worker

    q: queue_mod.Queue = queue_mod.Queue()
    sweep_worker({"spec": small_spec(), "weights": None, "data": small_data(8),
                  "backends": ("numpy",), "repeats": 1, "batches": [2, 8]}, q, threading.Event())
    kinds = []
    while not q.empty():
        kinds.append(q.get()[0])
    assert kinds == ["progress", "row", "progress", "row", "progress", "done"]
    q2: queue_mod.Queue = queue_mod.Queue()
    sweep_worker({"spec": small_spec(), "weights": None, "data": small_data(8),
                  "batches": "0"}, q2, threading.Event())
    kind, msg = q2.get()
    assert kind == "error" and "whole number" in msg


# ---------------------------------------------------------------- bpviz bench
def bench(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from bpviz.cli import main

    code = main(["bench", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_bench_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = bench(capsys, "--preset", "digits", "--batches", "1,4,16", "--repeats", "1",
                           "--backends", "numpy", "--json", "--no-progress")
    assert code == 0, err
    obj = json.loads(out)
    assert obj["network"].startswith("64-32-10")
    assert obj["skipped"] == {} and obj["cancelled"] is False and obj["preset"] == "digits"
    assert [r["batch"] for r in obj["rows"]] == [1, 4, 16]
    for row in obj["rows"]:
        assert set(row) == ROW_KEYS and row["backend"] == "numpy"
        assert row["max_abs_diff"] <= 1e-5
    assert obj["meta"]["blas_threads"] == 1 and obj["meta"]["dtype"] == "float32"
    assert obj["cupy_overtakes_numpy_at"] is None


def test_cli_bench_table_and_skipped_gpu(capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(backend_mod, "cupy_status", lambda: (None, "CuPy found no CUDA device"))
    code, out, err = bench(capsys, "--preset", "digits", "--batches", "2,8", "--repeats", "1",
                           "--csv", str(tmp_path / "t.csv"), "--no-progress")
    assert code == 0, err
    assert "cupy skipped: CuPy found no CUDA device" in err and "Traceback" not in err
    lines = out.splitlines()
    assert "loop ms" in lines[1] and "vectorized ms" in lines[1] and "speed-up" in lines[1]
    assert len([ln for ln in lines if ln.startswith("numpy")]) == 2
    assert "faster than the loop" in lines[-1]
    assert (tmp_path / "t.csv").read_text().startswith("backend,batch,width,")


def test_cli_bench_width_mode(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = bench(capsys, "--preset", "digits", "--mode", "width", "--widths", "8,16",
                           "--batch", "8", "--repeats", "1", "--backends", "numpy", "--json",
                           "--no-progress")
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert [(r["width"], r["batch"]) for r in rows] == [(8, 8), (16, 8)]


@pytest.mark.parametrize("bad", [["--batches", "0"], ["--batches", "abc"], ["--batches=-4"],
                                 ["--batches", "1,,2"], ["--batches", "99999"],
                                 ["--repeats", "0"], ["--backends", "tpu"],
                                 ["--mode", "width", "--widths", "0"]])
def test_cli_bench_bad_input_is_one_line_exit_2(capsys: pytest.CaptureFixture[str],
                                                bad: list[str]) -> None:
    code, out, err = bench(capsys, "--preset", "digits", "--no-progress", *bad)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("bpviz: error:")


class FakeCupy:
    """NumPy dressed as CuPy: lets the two-backend paths run on a machine without a GPU."""

    class cuda:  # noqa: N801 (mimics cupy.cuda)
        class Device:
            def synchronize(self) -> None:
                pass

    @staticmethod
    def asnumpy(a: object) -> np.ndarray:
        return np.asarray(a)

    def __getattr__(self, name: str) -> object:
        return getattr(np, name)


@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend_mod, "cupy_status", lambda: (FakeCupy(), "CuPy on a fake GPU"))


def test_two_backends_give_rows_for_both(fake_gpu: None) -> None:
    res = sweep(small_spec(), None, small_data(16), repeats=1, batches=[1, 16])
    assert [(r.backend, r.batch) for r in res.rows] == [("numpy", 1), ("cupy", 1),
                                                      ("numpy", 16), ("cupy", 16)]
    assert res.skipped == {} and res.meta["backends"]["cupy"] == "CuPy on a fake GPU"
    assert all(r.max_abs_diff <= 1e-5 for r in res.rows)


def test_cli_bench_reports_where_cupy_overtakes(capsys: pytest.CaptureFixture[str],
                                                fake_gpu: None) -> None:
    code, out, err = bench(capsys, "--preset", "digits", "--batches", "1,8", "--repeats", "1",
                           "--no-progress")
    assert code == 0, err
    assert len([ln for ln in out.splitlines() if ln.startswith("cupy ")]) == 2
    assert "cupy's vectorized form beats numpy's from K=" in out or "ahead of cupy's" in out
