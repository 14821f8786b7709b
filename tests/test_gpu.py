"""The CuPy backend: the same checks as on NumPy, on a GPU; and the fallback.

Tests marked ``gpu`` need CuPy on a working CUDA device and are skipped
elsewhere (conftest.py says why). The fallback tests run everywhere: they
hide or fake CuPy and check that ``"auto"`` falls back to NumPy with a message
and ``"cupy"`` raises :class:`BackendError`.
"""

from __future__ import annotations

import math
import sys
import types

import numpy as np
import pytest
from conftest import HIDDEN, OUTPUTS, make_spec, random_batch, random_net, rel_diff

from bpviz.engine import BackendError, Network, backend, get_backend, gpu_available
from bpviz.engine.trainer import TrainConfig, Trainer

gpu = pytest.mark.gpu


def on_gpu(net: Network, dtype: str | None = None) -> Network:
    """The same network (spec, weights) on the CuPy backend."""
    other = Network(net.spec, seed=net.seed, dtype=dtype or net.dtype.name, backend="cupy")
    other.set_weights(net.get_weights())
    return other


def assert_host_record(rec, dtype) -> None:
    for ly in rec.layers:
        for name in ("a_prev", "z", "a", "delta", "dW", "db"):
            v = getattr(ly, name)
            assert type(v) is np.ndarray and v.dtype == dtype, name
    for k, v in rec.grads.items():
        assert type(v) is np.ndarray and v.dtype == dtype, k
    assert type(rec.loss) is float


# ---------------------------------------------------------------- on a GPU
@gpu
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("output", OUTPUTS, ids=[f"{a}-{b}" for a, b in OUTPUTS])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cupy_gradients_equal_numpy(hidden, output, reduction):
    spec = make_spec(3, [(6, hidden), (5, hidden)], (3, output[0]), output[1], reduction)
    cpu = random_net(spec, 1)
    X, Y = random_batch(spec, 7, np.random.default_rng(1))
    ref = cpu.backprop(X, Y)
    dev = on_gpu(cpu)
    assert dev.backend.name == "cupy"
    for method in ("vectorized", "loop"):
        rec = dev.backprop(X, Y, method)
        assert_host_record(rec, np.float64)
        assert rec.loss == pytest.approx(ref.loss, rel=1e-12)
        for k in ref.grads:
            assert rel_diff(rec.grads[k], ref.grads[k]) < 1e-10, (method, k)


@gpu
@pytest.mark.parametrize("output", OUTPUTS, ids=[f"{a}-{b}" for a, b in OUTPUTS])
def test_cupy_gradient_matches_central_differences_on_the_device(output):
    spec = make_spec(3, [(4, "tanh")], (2, output[0]), output[1], ties=None)
    dev = on_gpu(random_net(spec, 2))
    X, Y = random_batch(spec, 5, np.random.default_rng(2))
    grads = dev.backprop(X, Y).grads
    h = 1e-6
    C = abs(dev.loss(X, Y))
    floor = 64 * np.finfo(np.float64).eps * max(C, 1.0) / h / 1e-6
    for key, p in dev.params.items():
        flat = p.reshape(-1)
        num = np.zeros(p.size)
        for i in range(p.size):
            old = float(flat[i])
            flat[i] = old + h
            up = dev.loss(X, Y)
            flat[i] = old - h
            down = dev.loss(X, Y)
            flat[i] = old
            num[i] = (up - down) / (2 * h)
        g = grads[key].reshape(-1)
        err = np.abs(g - num) / np.maximum(np.maximum(np.abs(g), np.abs(num)), floor)
        assert err.max() < 1e-6, (key, err.max())


@gpu
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cupy_loop_equals_vectorized(dtype):
    tol = 1e-10 if dtype == "float64" else 1e-5
    spec = make_spec(4, [(6, "tanh"), (6, "relu"), (6, "sigmoid")], (5, "softmax"),
                     "cross_entropy", ties={2: 1})
    dev = on_gpu(random_net(spec, 4), dtype)
    X, y = random_batch(spec, 33, np.random.default_rng(4), labels=True)
    loop, vec = dev.backprop(X, y, "loop"), dev.backprop(X, y, "vectorized")
    assert_host_record(loop, np.dtype(dtype))
    assert abs(loop.loss - vec.loss) <= tol * abs(vec.loss)
    for lp, lv in zip(loop.layers, vec.layers, strict=True):
        for name in ("a_prev", "z", "a", "delta", "dW", "db"):
            assert rel_diff(getattr(lp, name), getattr(lv, name)) <= tol, name
    for k in vec.grads:
        assert rel_diff(loop.grads[k], vec.grads[k]) <= tol, k


@gpu
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize(("l1", "l2"), [(0.0, 0.0), (0.01, 0.01)], ids=["plain", "L1+L2"])
def test_cupy_training_keeps_the_dtype(blobs3, dtype, optimizer, l1, l2):
    import cupy

    spec = make_spec(2, [(8, "tanh"), (6, "relu")], (3, "softmax"), "cross_entropy")
    net = Network(spec, seed=0, dtype=dtype, backend="cupy")
    tr = Trainer(net, blobs3, TrainConfig(batch_size=16, lr=0.05, optimizer=optimizer, l1=l1,
                                          l2=l2, eval_every=3))
    for _ in range(4):
        tr.request_matrices()
        rec = tr.train_step()
        assert math.isfinite(rec.loss)
        assert_host_record(rec.backprop, np.dtype(dtype))
        for k, v in rec.weights.items():
            assert type(v) is np.ndarray and v.dtype == dtype, k
        for k, p in net.params.items():
            assert isinstance(p, cupy.ndarray) and p.dtype == dtype, k
    for k, v in tr.optimizer._slots().items():
        assert v.dtype == dtype, k
    loss, acc = tr.evaluate("test")
    assert isinstance(loss, float) and 0 <= acc <= 1


@gpu
def test_cupy_training_follows_numpy_training(blobs3):
    cfg = TrainConfig(batch_size=10, lr=0.1, optimizer="momentum", l2=0.001, seed=3)
    spec = make_spec(2, [(8, "tanh")], (3, "softmax"), "cross_entropy")
    out = []
    for be in ("numpy", "cupy"):
        net = Network(spec, seed=5, dtype="float64", backend=be)
        tr = Trainer(net, blobs3, cfg)
        losses = [r.loss for r in tr.run(steps=20)]
        out.append((losses, net.get_weights()))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-10)
    for k in out[0][1]:
        np.testing.assert_allclose(out[1][1][k], out[0][1][k], rtol=1e-9, atol=1e-12)


@gpu
def test_cupy_divergence_restores_finite_weights(regression1):
    ds = type(regression1)(**{**vars(regression1), "X_train": regression1.X_train * 10,
                              "y_train": regression1.y_train + 100})
    net = Network(make_spec(2, [(8, "relu")], (1, "identity"), "squared_error"), seed=0,
                  dtype="float32", backend="cupy")
    recs = list(Trainer(net, ds, TrainConfig(batch_size=16, lr=1000.0)).run(steps=100))
    assert recs[-1].diverged
    for k, v in net.get_weights().items():
        assert np.isfinite(v).all(), k


@gpu
def test_auto_picks_cupy_on_a_gpu():
    be = get_backend("auto")
    assert be.name == "cupy" and "CuPy on" in be.message
    assert gpu_available()


# ---------------------------------------------------------------- without a GPU
@pytest.fixture
def fresh_status(monkeypatch):
    """Re-run CuPy detection inside the test, and forget it afterwards."""
    backend.cupy_status.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    backend.cupy_status.cache_clear()


def _fake_cupy(count=0, error: Exception | None = None) -> types.ModuleType:
    def get_count():
        if error is not None:
            raise error
        return count

    cp = types.ModuleType("cupy")
    cp.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=get_count))
    return cp


def _check_fallback(reason: str) -> None:
    assert not gpu_available()
    be = get_backend("auto")
    assert be.name == "numpy" and be.xp is np
    assert "NumPy" in be.message and reason in be.message
    net = Network(make_spec(2, [(3, "tanh")], (2, "softmax"), "cross_entropy"), backend="auto")
    assert net.backend.name == "numpy"
    with pytest.raises(BackendError, match=f"backend 'cupy' is not available: .*{reason}") as e:
        get_backend("cupy")
    assert "--backend numpy" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(BackendError):
        Network(make_spec(2, [(3, "tanh")], (2, "softmax"), "cross_entropy"), backend="cupy")


def test_auto_falls_back_to_numpy_when_cupy_is_missing(fresh_status):
    fresh_status.setitem(sys.modules, "cupy", None)       # import cupy -> ImportError
    _check_fallback("CuPy is not installed")
    assert "pip install" in get_backend("auto").message


def test_auto_falls_back_to_numpy_without_a_device(fresh_status):
    fresh_status.setitem(sys.modules, "cupy", _fake_cupy(count=0))
    _check_fallback("CuPy found no CUDA device")


def test_auto_falls_back_to_numpy_when_cuda_fails(fresh_status):
    err = RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient\nmore")
    fresh_status.setitem(sys.modules, "cupy", _fake_cupy(error=err))
    _check_fallback("CuPy cannot use the GPU")
    msg = get_backend("auto").message
    assert "cudaErrorInsufficientDriver" in msg and "more" not in msg   # its first line only


def test_numpy_backend_never_touches_cupy(fresh_status):
    fresh_status.setitem(sys.modules, "cupy", None)
    assert get_backend("numpy").message == "NumPy on the CPU"
    assert backend.cupy_status.cache_info().currsize == 0
