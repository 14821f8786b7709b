"""The engine computes the right gradients (the math contract of ARCHITECTURE.md), both ways.

* vectorized backprop against central differences (float64) for every
  activation × loss pairing, both reductions, random shapes, tied weights;
* the loop form equals the vectorized form, field by field;
* every record field has its math-contract shape and meaning.
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest
from conftest import (
    HIDDEN,
    OUTPUTS,
    make_spec,
    random_batch,
    random_net,
    rel_diff,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpviz.engine import BackpropRecord, Network
from bpviz.engine.functions import LEAKY_SLOPE
from bpviz.engine.gradcheck import gradcheck

TOL = 1e-6            # the bound on the relative error of the gradient
H = 1e-6              # gradcheck's default step
EPS = float(np.finfo(np.float64).eps)


def grad_errors(net: Network, X: np.ndarray, Y: np.ndarray, broken: bool = False
                ) -> dict[str, float]:
    """Max relative error per parameter: backprop against central differences.

    ``|g − n| / max(|g|, |n|, floor)``. A difference quotient carries rounding
    noise of about ``eps·|C|/h`` (measured: at most 7× that on 420 random nets),
    so an entry smaller than ``floor = noise_bound / TOL``, with ``noise_bound =
    64·eps·max(|C|, 1)/h`` (≈1.4e-8 for |C| ≤ 1), is held to that absolute
    error instead: still 1e6 times finer than any real bug.
    """
    check = gradcheck(net, X, Y, h=H, max_entries=None, broken=broken)
    C = abs(_float64(net).loss(X, Y))
    floor = 64 * EPS * max(C, 1.0) / H / TOL
    out = {}
    for key, g in check.analytic.items():
        n = check.numeric[key]
        den = np.maximum(np.maximum(np.abs(g), np.abs(n)), floor)
        out[key] = float(np.max(np.abs(g - n) / den)) if g.size else 0.0
    return out


def _float64(net: Network) -> Network:
    work = Network(net.spec, seed=net.seed, dtype="float64", backend="numpy")
    work.set_weights(net.get_weights())
    return work


def case_rng(*key: object) -> np.random.Generator:
    """A generator seeded from the test case (stable across runs and machines)."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def random_case(rng: np.random.Generator, hidden_act: str, out_act: str, loss: str,
                reduction: str, dtype: str = "float64") -> tuple[Network, np.ndarray, np.ndarray]:
    """A small random network (1–2 hidden layers of 1–5 units) and a batch of 1–7."""
    n_in = int(rng.integers(1, 5))
    hidden = [(int(rng.integers(1, 6)), hidden_act) for _ in range(int(rng.integers(1, 3)))]
    m = int(rng.integers(2 if loss == "cross_entropy" else 1, 5))
    spec = make_spec(n_in, hidden, (m, out_act), loss, reduction)
    net = random_net(spec, int(rng.integers(0, 2**31)), dtype=dtype)
    X, Y = random_batch(spec, int(rng.integers(1, 8)), rng)
    return net, X, Y


PAIRINGS = list(itertools.product(HIDDEN, OUTPUTS, ("mean", "sum")))
PAIR_IDS = [f"{h}-{o}-{loss}-{r}" for h, (o, loss), r in PAIRINGS]


# ---------------------------------------------------------------- central differences
@pytest.mark.parametrize(("hidden", "output", "reduction"), PAIRINGS, ids=PAIR_IDS)
def test_vectorized_gradient_matches_central_differences(hidden, output, reduction):
    out_act, loss = output
    for trial in range(2):
        net, X, Y = random_case(case_rng(hidden, out_act, loss, reduction, trial),
                                hidden, out_act, loss, reduction)
        errors = grad_errors(net, X, Y)
        assert max(errors.values()) < TOL, (net.spec.describe(), errors)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), hidden=st.sampled_from(HIDDEN),
       output=st.sampled_from(OUTPUTS), reduction=st.sampled_from(("mean", "sum")))
def test_gradient_on_random_shapes(seed, hidden, output, reduction):
    net, X, Y = random_case(np.random.default_rng(seed), hidden, *output, reduction)
    errors = grad_errors(net, X, Y)
    assert max(errors.values()) < TOL, (net.spec.describe(), errors)


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "leaky_relu"])
def test_the_check_catches_a_missing_derivative(hidden):
    """gradcheck's deliberate bug (f'(z) dropped) must fail the same test."""
    spec = make_spec(3, [(4, hidden), (4, hidden)], (3, "softmax"), "cross_entropy")
    net = random_net(spec, 5)
    X, Y = random_batch(spec, 6, np.random.default_rng(5))
    assert max(grad_errors(net, X, Y).values()) < TOL
    assert max(grad_errors(net, X, Y, broken=True).values()) > 1e-3


def test_gradcheck_module_reports_agreement_on_a_well_scaled_net():
    spec = make_spec(2, [(3, "tanh")], (2, "softmax"), "cross_entropy")
    net = random_net(spec, 1)
    X, Y = random_batch(spec, 4, np.random.default_rng(1))
    check = gradcheck(net, X, Y)
    assert set(check.analytic) == {"W0", "b0", "W1", "b1"}
    assert check.passed(), check.max_rel_error
    assert all(m.all() for m in check.checked.values())
    # the module is never looser than these tests: its floor is at most theirs
    # (it shrinks with the cost below |C| = 1), so its errors are at least theirs
    mine = grad_errors(net, X, Y)
    for k, v in check.max_rel_error.items():
        assert v >= mine[k] * (1 - 1e-6) - 1e-15, k
    broken = gradcheck(net, X, Y, broken=True)
    assert not broken.passed() and broken.worst > 1e-3


def test_gradcheck_samples_large_parameters():
    spec = make_spec(30, [(40, "tanh")], (3, "softmax"), "cross_entropy")
    net = random_net(spec, 1)
    X, Y = random_batch(spec, 4, np.random.default_rng(1))
    check = gradcheck(net, X, Y, max_entries=50)
    assert int(check.checked["W0"].sum()) == 50 and check.checked["b0"].all()
    assert check.passed(), check.max_rel_error


# ---------------------------------------------------------------- tied weights
def nested_net() -> Network:
    """Seed 003 §3: z¹ = W x + b, z² = W z¹ + b (the same W and b), C = ½Σ(z² − y)²."""
    spec = make_spec(2, [(2, "identity")], (2, "identity"), "squared_error", "sum",
                     ties={1: 0})
    return random_net(spec, 3)


def test_tied_gradient_is_the_sum_of_each_use():
    net = nested_net()
    X, Y = random_batch(net.spec, 5, np.random.default_rng(2))
    rec = net.backprop(X, Y)
    assert set(rec.grads) == {"W0", "b0"}
    assert [ly.owner for ly in rec.layers] == [0, 0]
    np.testing.assert_allclose(rec.grads["W0"], rec.layers[0].dW + rec.layers[1].dW,
                               rtol=1e-14, atol=0)
    np.testing.assert_allclose(rec.grads["b0"], rec.layers[0].db + rec.layers[1].db,
                               rtol=1e-14, atol=0)
    # each use alone is not the gradient: the sum is needed
    assert rel_diff(rec.layers[1].dW, rec.grads["W0"]) > 1e-3
    assert max(grad_errors(net, X, Y).values()) < TOL


def test_tied_gradient_equals_seed_003_formula():
    """∂L/∂W = δ² z¹ᵀ + δ¹ xᵀ and ∂L/∂b = δ² + δ¹, with δ¹ = Wᵀ δ² (one sample)."""
    net = nested_net()
    W, b = net.layers[0].W, net.layers[0].b
    x = np.array([0.3, -1.2])
    y = np.array([0.5, 2.0])
    z1 = W @ x + b
    z2 = W @ z1 + b
    d2 = z2 - y
    d1 = W.T @ d2
    rec = net.backprop(x[None, :], y[None, :])
    np.testing.assert_allclose(rec.grads["W0"], np.outer(d2, z1) + np.outer(d1, x), rtol=1e-13)
    np.testing.assert_allclose(rec.grads["b0"], d2 + d1, rtol=1e-13)
    np.testing.assert_allclose(rec.loss, 0.5 * np.sum(d2**2), rtol=1e-14)


@pytest.mark.parametrize("act", HIDDEN)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_tied_weights_with_nonlinear_layers_and_three_uses(act, reduction):
    """Layers 1, 2 and 3 share layer 1's W and b; the output layer is separate."""
    spec = make_spec(3, [(4, act), (4, act), (4, act), (4, act)], (3, "softmax"),
                     "cross_entropy", reduction, ties={2: 1, 3: 1})
    net = random_net(spec, 9)
    X, Y = random_batch(spec, 6, case_rng(act, reduction))
    rec = net.backprop(X, Y)
    assert set(rec.grads) == {"W0", "b0", "W1", "b1", "W4", "b4"}
    total = rec.layers[1].dW + rec.layers[2].dW + rec.layers[3].dW
    np.testing.assert_allclose(rec.grads["W1"], total, rtol=1e-13, atol=1e-15)
    assert max(grad_errors(net, X, Y).values()) < TOL


# ---------------------------------------------------------------- loop == vectorized
def assert_records_equal(loop: BackpropRecord, vec: BackpropRecord, tol: float) -> None:
    """Every field of two records agrees to ``tol`` (array-wise relative)."""
    assert loop.method == "loop" and vec.method == "vectorized"
    assert loop.batch_size == vec.batch_size
    assert abs(loop.loss - vec.loss) <= tol * max(abs(vec.loss), 1e-30)
    assert len(loop.layers) == len(vec.layers)
    for i, (lp, lv) in enumerate(zip(loop.layers, vec.layers, strict=True)):
        assert lp.owner == lv.owner
        for name in ("a_prev", "z", "a", "delta", "dW", "db"):
            a, b = getattr(lp, name), getattr(lv, name)
            assert a.dtype == b.dtype, (i, name)
            assert rel_diff(a, b) <= tol, (i, name, rel_diff(a, b))
    assert loop.grads.keys() == vec.grads.keys()
    for k in vec.grads:
        assert rel_diff(loop.grads[k], vec.grads[k]) <= tol, (k, rel_diff(loop.grads[k],
                                                                         vec.grads[k]))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("hidden", "output", "reduction"), PAIRINGS, ids=PAIR_IDS)
def test_loop_equals_vectorized(hidden, output, reduction, dtype):
    tol = 1e-10 if dtype == "float64" else 1e-5
    out_act, loss = output
    rng = case_rng("loop", hidden, out_act, loss, reduction, dtype)
    spec = make_spec(int(rng.integers(1, 6)),
                     [(int(rng.integers(1, 9)), hidden), (int(rng.integers(1, 9)), hidden)],
                     (int(rng.integers(2, 5)), out_act), loss, reduction)
    net = random_net(spec, int(rng.integers(0, 1000)), dtype=dtype)
    X, Y = random_batch(spec, int(rng.integers(1, 17)), rng)
    assert_records_equal(net.backprop(X, Y, "loop"), net.backprop(X, Y, "vectorized"), tol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_loop_equals_vectorized_with_tied_weights_and_labels(dtype):
    tol = 1e-10 if dtype == "float64" else 1e-5
    spec = make_spec(4, [(6, "tanh"), (6, "relu"), (6, "sigmoid")], (5, "softmax"),
                     "cross_entropy", ties={2: 1})
    net = random_net(spec, 4, dtype=dtype)
    X, y = random_batch(spec, 33, np.random.default_rng(4), labels=True)
    assert y.ndim == 1
    assert_records_equal(net.backprop(X, y, "loop"), net.backprop(X, y, "vectorized"), tol)


def test_loop_and_vectorized_do_not_change_the_weights():
    spec = make_spec(3, [(5, "tanh")], (2, "softmax"), "cross_entropy")
    net = random_net(spec, 0)
    before = net.get_weights()
    X, Y = random_batch(spec, 8, np.random.default_rng(0))
    for method in ("loop", "vectorized"):
        net.backprop(X, Y, method)
        for k, v in net.get_weights().items():
            np.testing.assert_array_equal(v, before[k])


# ---------------------------------------------------------------- the math contract
def fprime(act: str, z: np.ndarray) -> np.ndarray:
    """f'(z), written independently of the engine."""
    if act == "identity":
        return np.ones_like(z)
    if act == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        return s * (1 - s)
    if act == "tanh":
        return 1 - np.tanh(z) ** 2
    if act == "relu":
        return (z > 0).astype(z.dtype)
    if act == "leaky_relu":
        return np.where(z > 0, 1.0, LEAKY_SLOPE)
    raise AssertionError(act)


def f(act: str, z: np.ndarray) -> np.ndarray:
    if act == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return {"identity": lambda v: v, "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
            "tanh": np.tanh, "relu": lambda v: np.maximum(v, 0),
            "leaky_relu": lambda v: np.where(v > 0, v, LEAKY_SLOPE * v)}[act](z)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("output", OUTPUTS, ids=[f"{a}-{b}" for a, b in OUTPUTS])
def test_record_follows_design_section_2(output, reduction):
    out_act, loss = output
    K = 7
    spec = make_spec(3, [(5, "tanh"), (4, "leaky_relu")], (2, out_act), loss, reduction)
    net = random_net(spec, 2)
    X, Y = random_batch(spec, K, np.random.default_rng(3))
    rec = net.backprop(X, Y)
    assert isinstance(rec.loss, float)
    assert rec.batch_size == K and rec.method == "vectorized"
    sizes = [3, 5, 4, 2]
    scale = 1 / K if reduction == "mean" else 1.0
    W = [net.layers[i].W for i in range(3)]
    b = [net.layers[i].b for i in range(3)]
    for l, ly in enumerate(rec.layers):
        n, m = sizes[l], sizes[l + 1]
        for name in ("a_prev", "z", "a", "delta", "dW", "db"):
            assert type(getattr(ly, name)) is np.ndarray, name
        assert ly.a_prev.shape == (K, n)
        assert ly.z.shape == ly.a.shape == ly.delta.shape == (K, m)
        assert ly.dW.shape == W[l].shape == (m, n)
        assert ly.db.shape == (m,)
        assert ly.owner == l
        # forward: z = a_prev Wᵀ + b, a = f(z), and the next layer reads this a
        np.testing.assert_allclose(ly.z, ly.a_prev @ W[l].T + b[l], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ly.a, f(spec.layers[l].activation, ly.z), rtol=1e-12,
                                   atol=1e-14)
        # gradient: dW = (1/K) δᵀ a_prev (no 1/K for "sum"), db = (1/K) Σ_k δ_k
        np.testing.assert_allclose(ly.dW, scale * ly.delta.T @ ly.a_prev, rtol=1e-12,
                                   atol=1e-15)
        np.testing.assert_allclose(ly.db, scale * ly.delta.sum(axis=0), rtol=1e-12,
                                   atol=1e-15)
        # the same as the average of per-sample outer products
        outer = sum(np.outer(ly.delta[k], ly.a_prev[k]) for k in range(K))
        np.testing.assert_allclose(ly.dW, scale * outer, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(rec.grads[f"W{l}"], ly.dW, rtol=0, atol=0)
        np.testing.assert_allclose(rec.grads[f"b{l}"], ly.db, rtol=0, atol=0)
    np.testing.assert_array_equal(rec.layers[0].a_prev, X)
    for l in range(2):
        np.testing.assert_array_equal(rec.layers[l + 1].a_prev, rec.layers[l].a)
    # backward: δ^{l-1} = (δ^l W^l) ⊙ f'(z^{l-1})
    for l in (2, 1):
        expect = (rec.layers[l].delta @ W[l]) * fprime(spec.layers[l - 1].activation,
                                                      rec.layers[l - 1].z)
        np.testing.assert_allclose(rec.layers[l - 1].delta, expect, rtol=1e-12, atol=1e-15)
    # output: a − y for the matched pairings, (∂C/∂a) ⊙ f'(z) otherwise
    out = rec.layers[-1]
    if (out_act, loss) in {("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"),
                           ("identity", "squared_error")}:
        np.testing.assert_allclose(out.delta, out.a - Y, rtol=1e-12, atol=1e-15)
    else:
        np.testing.assert_allclose(out.delta, (out.a - Y) * fprime(out_act, out.z),
                                   rtol=1e-12, atol=1e-15)
    # the loss: mean or sum of the per-sample costs
    if loss == "squared_error":
        Ck = 0.5 * ((out.a - Y) ** 2).sum(axis=1)
    elif loss == "cross_entropy":
        Ck = -(Y * np.log(out.a)).sum(axis=1)
    else:
        Ck = -(Y * np.log(out.a) + (1 - Y) * np.log(1 - out.a)).sum(axis=1)
    np.testing.assert_allclose(rec.loss, Ck.sum() * scale, rtol=1e-12)
    assert rec.output is out.a


def test_sum_reduction_is_k_times_mean():
    spec_mean = make_spec(3, [(4, "tanh")], (3, "softmax"), "cross_entropy", "mean")
    spec_sum = make_spec(3, [(4, "tanh")], (3, "softmax"), "cross_entropy", "sum")
    K = 9
    X, Y = random_batch(spec_mean, K, np.random.default_rng(8))
    rm = random_net(spec_mean, 8).backprop(X, Y)
    rs = random_net(spec_sum, 8).backprop(X, Y)
    np.testing.assert_allclose(rs.loss, K * rm.loss, rtol=1e-13)
    for k in rm.grads:
        np.testing.assert_allclose(rs.grads[k], K * rm.grads[k], rtol=1e-12, atol=1e-15)
    for lm, ls in zip(rm.layers, rs.layers, strict=True):
        np.testing.assert_array_equal(lm.delta, ls.delta)   # δ carries no 1/K
