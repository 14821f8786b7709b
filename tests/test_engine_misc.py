"""Specs, bad input, weights, data in, the functions, and the engine's Qt-freedom."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from conftest import REPO, random_batch, random_net

from bpviz.engine import (
    BackendError,
    BpvizError,
    LayerSpec,
    Network,
    NetworkSpec,
    SpecError,
    get_backend,
    predict_labels,
)
from bpviz.engine.functions import activate, output_delta, sample_losses, total_loss
from bpviz.engine.spec import MAX_INPUTS, MAX_LAYERS, MAX_UNITS

L = LayerSpec


DEFAULT_LAYERS = (L(4, "tanh"), L(3, "softmax"))


def spec(inputs=2, layers=DEFAULT_LAYERS, loss="cross_entropy", **kw):
    return NetworkSpec(inputs, tuple(layers), loss=loss, **kw)


# ---------------------------------------------------------------- spec validation
BAD_SPECS = {
    "zero units": (spec(layers=(L(0, "tanh"), L(3, "softmax"))), r"layer 1: units .* got 0"),
    "negative units": (spec(layers=(L(-3, "tanh"), L(3, "softmax"))), r"units .* got -3"),
    "too many units": (spec(layers=(L(MAX_UNITS + 1, "tanh"), L(3, "softmax"))),
                       rf"units .*{MAX_UNITS}.* got {MAX_UNITS + 1}"),
    "text units": (spec(layers=(L("8", "tanh"), L(3, "softmax"))), r"units .* got '8'"),
    "fractional units": (spec(layers=(L(2.5, "tanh"), L(3, "softmax"))), r"units .* got 2\.5"),
    "boolean units": (spec(layers=(L(True, "tanh"), L(3, "softmax"))), r"units .* got True"),
    "zero output units": (spec(layers=(L(4, "tanh"), L(0, "softmax"))), r"layer 2: units"),
    "zero inputs": (spec(inputs=0), r"inputs .* got 0"),
    "text inputs": (spec(inputs="2"), r"inputs .* got '2'"),
    "too many inputs": (spec(inputs=MAX_INPUTS + 1), rf"inputs .* got {MAX_INPUTS + 1}"),
    "no layers": (spec(layers=()), r"at least one layer"),
    "too many layers": (spec(layers=[L(2, "tanh")] * MAX_LAYERS + [L(3, "softmax")]),
                        rf"at most {MAX_LAYERS} layers"),
    "unknown activation": (spec(layers=(L(4, "swish"), L(3, "softmax"))),
                           r"layer 1: unknown activation 'swish'"),
    "unknown loss": (spec(loss="hinge"), r"unknown loss 'hinge'"),
    "unknown init": (spec(init="xavier"), r"unknown initialiser 'xavier'"),
    "unknown reduction": (spec(reduction="median"), r"unknown reduction 'median'"),
    "softmax on a hidden layer": (spec(layers=(L(4, "softmax"), L(3, "softmax"))),
                                  r"layer 1: softmax belongs on the output layer"),
    "softmax without cross-entropy": (spec(layers=(L(4, "tanh"), L(3, "softmax")),
                                           loss="squared_error"),
                                      r"softmax needs the cross_entropy loss"),
    "cross-entropy without softmax": (spec(layers=(L(4, "tanh"), L(3, "sigmoid"))),
                                      r"cross_entropy needs a softmax output layer, got sigmoid"),
    "binary cross-entropy without sigmoid": (
        spec(layers=(L(4, "tanh"), L(1, "identity")), loss="binary_cross_entropy"),
        r"binary_cross_entropy needs a sigmoid output layer, got identity"),
    "tie to a later layer": (spec(layers=(L(4, "tanh"), L(4, "tanh", tie_to=2), L(4, "tanh"),
                                          L(3, "softmax"))),
                             r"layer 2: tie_to must name an earlier layer .*\(0\.\.0\), got 2"),
    "tie to itself": (spec(layers=(L(4, "tanh"), L(4, "tanh", tie_to=1), L(3, "softmax"))),
                      r"layer 2: tie_to must name an earlier layer .* got 1"),
    "negative tie": (spec(layers=(L(4, "tanh"), L(4, "tanh", tie_to=-1), L(3, "softmax"))),
                     r"tie_to must name an earlier layer .* got -1"),
    "text tie": (spec(layers=(L(4, "tanh"), L(4, "tanh", tie_to="0"), L(3, "softmax"))),
                 r"tie_to .* got '0'"),
    "tie to a tied layer": (spec(inputs=4, layers=(L(4, "tanh"), L(4, "tanh", tie_to=0),
                                                   L(4, "tanh", tie_to=1), L(3, "softmax"))),
                            r"layer 3: layer 2 is itself tied; tie to layer 1 instead"),
    "tie to a different shape": (spec(inputs=3, layers=(L(4, "tanh"), L(4, "tanh", tie_to=0),
                                                        L(3, "softmax"))),
                                 r"layer 2: cannot reuse layer 1's weights: W is 4×3 there "
                                 r"but 4×4 here"),
}


@pytest.mark.parametrize("name", list(BAD_SPECS))
def test_bad_spec_raises_spec_error_naming_the_problem(name):
    bad, pattern = BAD_SPECS[name]
    with pytest.raises(SpecError, match=pattern):
        bad.validate()
    with pytest.raises(SpecError, match=pattern):
        Network(bad)
    # the same problem survives a trip through plain data
    with pytest.raises(SpecError):
        NetworkSpec.from_dict(bad.to_dict())


def test_every_problem_is_listed_at_once():
    bad = spec(inputs=0, layers=(L(0, "swish"), L(3, "softmax")), loss="hinge")
    probs = bad.problems()
    assert {p.field for p in probs} >= {"inputs", "units", "activation", "loss"}
    msg = str(pytest.raises(SpecError, bad.validate).value)
    for word in ("inputs", "units", "swish", "hinge"):
        assert word in msg
    assert "\n" not in msg                     # one line


def test_valid_specs_pass_and_aliases_resolve():
    for loss, out in (("mse", "identity"), ("ce", "softmax"), ("bce", "sigmoid"),
                      ("Cross_Entropy", "softmax")):
        s = spec(layers=(L(4, "relu"), L(2, out)), loss=loss)
        assert s.validate() is s and s.problems() == []
    assert spec(loss="ce").loss == "cross_entropy"
    # a tied layer with the same shape, and an output layer tied to a hidden one
    spec(inputs=4, layers=(L(4, "tanh"), L(4, "relu", tie_to=0), L(4, "identity", tie_to=0)),
         loss="squared_error").validate()


BAD_DICTS = {
    "not an object": ([1, 2], r"must be a JSON object, got list"),
    "unknown key": ({"inputs": 2, "layers": [], "optimizer": "sgd"},
                    r"unknown spec keys: 'optimizer'; allowed: inputs, layers"),
    "no inputs": ({"layers": [{"units": 2}]}, r"needs 'inputs' and 'layers'"),
    "layers not a list": ({"inputs": 2, "layers": {"units": 2}}, r"'layers' must be a list"),
    "layer without units": ({"inputs": 2, "layers": [{"activation": "tanh"}]},
                            r"layer 1 must be an object with 'units'"),
    "unknown layer key": ({"inputs": 2, "layers": [{"units": 2, "act": "tanh"}]},
                          r"layer 1: unknown keys 'act'; allowed: units, activation"),
    "loss not text": ({"inputs": 2, "layers": [{"units": 2}], "loss": 3},
                      r"'loss' must be a string"),
    "invalid inside": ({"inputs": 2, "layers": [{"units": 0}]}, r"units"),
}


@pytest.mark.parametrize("name", list(BAD_DICTS))
def test_bad_spec_dicts(name):
    d, pattern = BAD_DICTS[name]
    with pytest.raises(SpecError, match=pattern):
        NetworkSpec.from_dict(d)


def test_spec_round_trip_and_describe():
    s = spec(inputs=4, layers=(L(4, "tanh"), L(4, "relu", tie_to=0), L(3, "softmax")),
             reduction="sum", init="he")
    assert NetworkSpec.from_dict(s.to_dict()) == s
    assert s.describe() == "4-4-4-3 (tanh, relu=W1, softmax; cross_entropy)"
    assert s.n_params() == 4 * 4 + 4 + 3 * 4 + 3
    assert [s.owner(i) for i in range(3)] == [0, 0, 2]
    assert s.with_io(6, 2).describe() == "6-4-4-2 (tanh, relu=W1, softmax; cross_entropy)"


# ---------------------------------------------------------------- network construction
def test_bad_network_arguments():
    with pytest.raises(SpecError, match="needs a NetworkSpec"):
        Network({"inputs": 2})
    with pytest.raises(BpvizError, match="float32 or float64"):
        Network(spec(), dtype="float16")
    with pytest.raises(BackendError, match="unknown backend 'tpu'"):
        Network(spec(), backend="tpu")


@pytest.mark.parametrize("init", ["glorot", "he", "normal", "zeros"])
def test_initialisers(init):
    s = spec(inputs=50, layers=(L(40, "relu"), L(3, "softmax")), init=init)
    W = Network(s, seed=1, dtype="float64").layers[0].W
    assert W.shape == (40, 50)
    if init == "glorot":
        lim = np.sqrt(6 / 90)
        assert np.abs(W).max() <= lim and np.abs(W).max() > 0.9 * lim
    elif init == "he":
        assert W.std() == pytest.approx(np.sqrt(2 / 50), rel=0.1)
    elif init == "normal":
        assert W.std() == pytest.approx(0.1, rel=0.1)
    else:
        assert not W.any()
    assert not Network(s, seed=1).layers[0].b.any()
    # seeded; float32 starts as the float32 image of float64
    W32 = Network(s, seed=1, dtype="float32").layers[0].W
    np.testing.assert_array_equal(W32, W.astype(np.float32))
    if init != "zeros":
        assert not np.array_equal(Network(s, seed=2, dtype="float64").layers[0].W, W)


def test_zero_init_keeps_neurons_identical():
    """The symmetry lesson: with zeros every hidden neuron gets the same gradient."""
    s = spec(inputs=3, layers=(L(4, "tanh"), L(4, "tanh"), L(1, "identity")),
             loss="squared_error", init="zeros")
    net = Network(s, dtype="float64")
    w = net.get_weights()
    w["W2"][:] = 0.5                       # let the error reach the hidden layers
    net.set_weights(w)
    X, Y = random_batch(s, 6, np.random.default_rng(0))
    dW1 = net.backprop(X, Y).layers[1].dW
    assert np.allclose(dW1, dW1[0]) and np.allclose(dW1, dW1[:, :1])


def test_weights_round_trip_and_are_copies():
    net = random_net(spec(), 0)
    w = net.get_weights()
    assert set(w) == {"W0", "b0", "W1", "b1"}
    w["W0"][0, 0] += 1.0
    assert net.layers[0].W[0, 0] != w["W0"][0, 0]       # get_weights gave a copy
    net.set_weights(w)
    assert net.layers[0].W[0, 0] == w["W0"][0, 0]
    w["W0"][0, 0] += 1.0
    assert net.layers[0].W[0, 0] != w["W0"][0, 0]       # set_weights copied
    with pytest.raises(BpvizError, match=r"W0 has shape \(4, 3\), the network needs \(4, 2\)"):
        net.set_weights({**w, "W0": np.zeros((4, 3))})
    with pytest.raises(BpvizError, match="keys"):
        net.set_weights({"W0": w["W0"]})
    net.set_weights({k: v.astype(np.float32) for k, v in w.items()})
    assert net.layers[0].W.dtype == np.float64


def test_tied_layers_share_the_owners_arrays():
    s = spec(inputs=4, layers=(L(4, "tanh"), L(4, "relu", tie_to=0), L(3, "softmax")))
    net = Network(s)
    assert net.layers[1].W is net.layers[0].W and net.layers[1].b is net.layers[0].b
    assert net.layers[1].tied and not net.layers[0].tied and net.layers[1].owner == 0
    assert set(net.get_weights()) == {"W0", "b0", "W2", "b2"}
    assert "tied to 0" in repr(net.layers[1])


def test_copy_is_independent():
    net = random_net(spec(), 0)
    other = net.copy()
    other.params["W0"] += 1
    assert not np.array_equal(net.layers[0].W, other.layers[0].W)


# ---------------------------------------------------------------- data in
def test_prepare_checks_the_batch():
    net = Network(spec(), dtype="float64")
    X = np.zeros((5, 2))
    with pytest.raises(BpvizError, match=r"X must have shape \(K, 2\), got \(5, 3\)"):
        net.backprop(np.zeros((5, 3)), np.zeros(5, int))
    with pytest.raises(BpvizError, match=r"X must have shape"):
        net.backprop(np.zeros(2), np.zeros(1, int))
    with pytest.raises(BpvizError, match="empty"):
        net.backprop(np.zeros((0, 2)), np.zeros(0, int))
    with pytest.raises(BpvizError, match=r"labels must lie in 0\.\.2"):
        net.backprop(X, np.array([0, 1, 2, 3, 0]))
    with pytest.raises(BpvizError, match=r"labels must lie"):
        net.backprop(X, np.array([0, 1, -1, 0, 0]))
    with pytest.raises(BpvizError, match=r"Y must have shape \(5, 3\)"):
        net.backprop(X, np.zeros((5, 2)))
    with pytest.raises(BpvizError, match=r"Y must have shape"):
        net.backprop(X, np.zeros(4, int))
    with pytest.raises(BpvizError, match="unknown method 'batch'"):
        net.backprop(X, np.zeros(5, int), method="batch")


def test_labels_become_one_hot_or_a_column():
    net = random_net(spec(), 0)
    X = np.random.default_rng(0).normal(size=(4, 2))
    y = np.array([2, 0, 1, 2])
    a = net.backprop(X, y)
    b = net.backprop(X, np.eye(3)[y])
    assert a.loss == b.loss
    np.testing.assert_array_equal(a.grads["W0"], b.grads["W0"])
    one = Network(spec(layers=(L(4, "tanh"), L(1, "sigmoid")), loss="binary_cross_entropy"),
                  dtype="float64")
    r1 = one.backprop(X, np.array([1, 0, 1, 1]))
    r2 = one.backprop(X, np.array([[1.0], [0], [1], [1]]))
    assert r1.loss == r2.loss
    assert one.encode_targets(np.array([1, 0]), 2).shape == (2, 1)
    reg = Network(spec(layers=(L(4, "tanh"), L(1, "identity")), loss="squared_error"))
    assert reg.encode_targets(np.array([0.5, 2.5]), 2).shape == (2, 1)


def test_forward_and_loss_agree_with_the_record():
    net = random_net(spec(), 3)
    X, Y = random_batch(net.spec, 6, np.random.default_rng(3))
    rec = net.backprop(X, Y)
    np.testing.assert_array_equal(net.forward(X), rec.output)
    assert net.loss(X, Y) == pytest.approx(rec.loss, rel=1e-15)


def test_predict_labels():
    np.testing.assert_array_equal(predict_labels(np.array([[0.2, 0.7, 0.1], [0.5, 0.1, 0.4]])),
                                  [1, 0])
    np.testing.assert_array_equal(predict_labels(np.array([[0.2], [0.7]])), [0, 1])


# ---------------------------------------------------------------- the functions
def test_activations_are_stable_and_warning_free():
    z = np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = activate("sigmoid", z.copy(), np)
        sm = activate("softmax", np.array([[1e4, 0.0, -1e4], [3.0, 3.0, 3.0]]), np)
    np.testing.assert_allclose(s, 1 / (1 + np.exp(-np.clip(z, -700, 700))), rtol=1e-12,
                               atol=1e-16)
    assert s[0, 0] == 0.0 and s[0, -1] == 1.0
    np.testing.assert_allclose(sm, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15, atol=0)
    np.testing.assert_array_equal(activate("relu", z, np), np.maximum(z, 0))
    np.testing.assert_allclose(activate("leaky_relu", z, np), np.where(z > 0, z, 0.01 * z))
    with pytest.raises(ValueError, match="unknown activation"):
        activate("swish", z, np)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_exact_for_extreme_logits(dtype):
    """Probabilities that underflow to 0 must not make the loss inf or NaN."""
    z = np.array([[800.0, 0.0, -800.0], [0.0, 0.0, 0.0], [-200.0, 200.0, 0.0]], dtype=dtype)
    y = np.eye(3, dtype=dtype)[[1, 0, 0]]
    a = activate("softmax", z, np)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        C = sample_losses("cross_entropy", z, a, y, np)
    np.testing.assert_allclose(C, [800.0, np.log(3), 400.0], rtol=1e-6)
    spec_ = NetworkSpec(3, (L(3, "softmax"),), loss="cross_entropy")
    net = Network(spec_, dtype=np.dtype(dtype).name)
    net.set_weights({"W0": np.eye(3) * 100, "b0": np.zeros(3)})
    X = np.array([[8.0, 0.0, -8.0], [0.0, 0.0, 0.0], [-2.0, 2.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in ("vectorized", "loop"):
            rec = net.backprop(X, np.array([1, 0, 0]), method)
            assert rec.loss == pytest.approx((800 + np.log(3) + 400) / 3, rel=1e-6)
            assert np.isfinite(rec.grads["W0"]).all()


@pytest.mark.parametrize(("act", "loss"), [("softmax", "cross_entropy"),
                                           ("sigmoid", "binary_cross_entropy"),
                                           ("tanh", "squared_error")])
def test_total_loss_is_the_sum_of_the_sample_losses(act, loss):
    rng = np.random.default_rng(0)
    for z in (rng.normal(size=(6, 3)) * 3, np.array([[900.0, 0.0, -900.0]] * 2)):
        a = activate(act, z.copy(), np)
        y = np.eye(3)[[0, 2, 1, 1, 0, 2][: len(z)]] if loss != "squared_error" else \
            rng.normal(size=z.shape)
        per = sample_losses(loss, z, a, y, np)
        assert per.shape == (len(z),)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert total_loss(loss, z, a, y, np) == pytest.approx(per.sum(), rel=1e-13)
            assert total_loss(loss, z[1], a[1], y[1], np) == pytest.approx(per[1], rel=1e-13)


def test_binary_cross_entropy_is_stable():
    z = np.array([[50.0], [-50.0], [0.0]])
    a = activate("sigmoid", z.copy(), np)
    y = np.array([[0.0], [0.0], [1.0]])
    np.testing.assert_allclose(sample_losses("binary_cross_entropy", z, a, y, np),
                               [50.0, 0.0, np.log(2)], rtol=1e-12, atol=1e-20)


def test_output_delta_of_unmatched_pairings():
    z = np.array([[0.3, -0.2]])
    y = np.array([[1.0, 0.0]])
    a = np.tanh(z)
    np.testing.assert_allclose(output_delta("squared_error", "tanh", z, a, y, np),
                               (a - y) * (1 - a**2))
    with pytest.raises(ValueError, match="softmax"):
        output_delta("cross_entropy", "sigmoid", z, a, y, np)


# ---------------------------------------------------------------- backend, Qt
def test_numpy_backend():
    be = get_backend("numpy")
    assert be.name == "numpy" and be.xp is np
    x = np.arange(3.0)
    assert be.to_host(x) is x
    assert get_backend(be) is be
    assert get_backend(" NumPy ").name == "numpy"
    with pytest.raises(BackendError, match="unknown backend 'gpu'; use one of numpy, cupy, auto"):
        get_backend("gpu")


def test_blas_threads_limits_and_restores():
    from threadpoolctl import threadpool_info

    from bpviz.engine import blas_threads

    def blas():
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    before = blas()
    with blas_threads(1):
        assert all(n == 1 for n in blas())
    assert blas() == before
    with blas_threads(None):
        assert blas() == before


def test_importing_the_engine_loads_no_qt():
    code = ("import bpviz.engine, bpviz.engine.trainer, bpviz.engine.gradcheck, sys; "
            "print([m for m in sys.modules "
            "if m.startswith(('PySide6', 'pyqtgraph', 'shiboken6'))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=120, env={**__import__("os").environ,
                                                     "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout
