"""Engine numerics: sigmoid tails, loss forms, target encoding, data sets, gradcheck.

The comparisons with PyTorch (optimizers, losses at extreme logits) live in
``test_torch_crosscheck.py``; these need NumPy only.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from bpviz.engine.functions import activate, sample_losses, total_loss


# ---------------------------------------------------------------- sigmoid
@pytest.mark.parametrize("z", [-30.0, -15.0, -5.0, 0.0, 5.0, 15.0, 30.0])
def test_float32_sigmoid_is_accurate_in_both_tails(z):
    exact = 1.0 / (1.0 + math.exp(-z))                  # float64, exact to rounding here
    a = activate("sigmoid", np.array([z], np.float32), np)
    assert a.dtype == np.float32
    assert abs(float(a[0]) - exact) / exact < 2e-7      # a few float32 ulps


def test_sigmoid_saturates_without_warnings():
    z = np.array([-1e4, -800.0, 800.0, 1e4, -np.inf, np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = activate("sigmoid", z, np)
    np.testing.assert_array_equal(a, [0.0, 0.0, 1.0, 1.0, 0.0, 1.0])


# ---------------------------------------------------------------- losses
def _batch(loss, dtype, rng):
    z = (rng.normal(size=(20, 4)) * 8.0).astype(dtype)
    z[3] = [-1000.0, 1000.0, 1000.0, 0.0]
    z[7] = [0.0, -745.0, 3.0, 800.0]
    if loss == "cross_entropy":
        return z, activate("softmax", z, np), np.eye(4, dtype=dtype)[rng.integers(0, 4, 20)]
    if loss == "binary_cross_entropy":
        return z, activate("sigmoid", z, np), rng.integers(0, 2, z.shape).astype(dtype)
    return z, z, rng.normal(size=z.shape).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy", "squared_error"])
def test_total_loss_is_the_sum_of_the_sample_losses(loss, dtype):
    z, a, y = _batch(loss, dtype, np.random.default_rng(1))
    each = sample_losses(loss, z, a, y, np)
    assert each.shape == (20,) and np.all(each >= 0)
    total = total_loss(loss, z, a, y, np)
    assert math.isfinite(total)
    assert total == pytest.approx(float(each.astype(np.float64).sum()),
                                  rel=20 * float(np.finfo(dtype).eps))
    one = [total_loss(loss, z[k], a[k], y[k], np) for k in range(20)]   # the loop path
    np.testing.assert_allclose(one, each, rtol=8 * float(np.finfo(dtype).eps),
                               atol=8 * float(np.finfo(dtype).eps))


def test_cross_entropy_of_a_probability_that_underflowed_is_exact():
    # class 1 has probability e^{-745}: a subnormal in float64 (0 in float32)
    z = np.array([[0.0, -745.0]])
    for dtype in ("float64", "float32"):
        zz = z.astype(dtype)
        C = total_loss("cross_entropy", zz, activate("softmax", zz, np),
                       np.array([[0.0, 1.0]], dtype), np)
        assert C == pytest.approx(745.0, rel=1e-12)


# ---------------------------------------------------------------- targets
def _one_output_net():
    from bpviz.engine import LayerSpec, Network, NetworkSpec

    spec = NetworkSpec(2, (LayerSpec(3, "tanh"), LayerSpec(1, "sigmoid")),
                       loss="binary_cross_entropy")
    return Network(spec, seed=0, dtype="float64")


@pytest.mark.parametrize("labels", [[0, 2, 1], [1, -1, 1], [-1, 1]])
def test_one_output_network_refuses_labels_other_than_0_and_1(labels):
    from bpviz.engine.errors import BpvizError

    net = _one_output_net()
    with pytest.raises(BpvizError, match=r"must be 0 or 1.*map ±1 labels to 0/1"):
        net.encode_targets(np.array(labels), len(labels))
    with pytest.raises(BpvizError, match="must be 0 or 1"):
        net.backprop(np.zeros((len(labels), 2)), np.array(labels))


def test_one_output_network_accepts_0_1_and_booleans():
    net = _one_output_net()
    for y in (np.array([0, 1, 1]), np.array([False, True, True]), np.array([1, 1, 1], np.uint8)):
        Y = net.encode_targets(y, 3)
        assert Y.shape == (3, 1) and Y.dtype == np.float64
        np.testing.assert_array_equal(Y[:, 0], y.astype(np.float64))
    np.testing.assert_array_equal(net.encode_targets(np.array([0.25, 2.5]), 2)[:, 0], [0.25, 2.5])


# ---------------------------------------------------------------- Playground's regressGaussian
_PLAYGROUND_BUMPS = [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1],
                     [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]]


def _playground_label(x: float, y: float) -> float:
    """TensorFlow Playground's getLabel of regressGaussian, line for line."""
    label = 0.0
    for cx, cy, sign in _PLAYGROUND_BUMPS:
        scale = min(max(1.0 - math.hypot(x - cx, y - cy) / 2.0, 0.0), 1.0)  # [0,2] -> [1,0]
        new = sign * scale
        if abs(new) > abs(label):
            label = new
    return label


@pytest.mark.parametrize(("point", "label"), [
    ((-4.0, 2.5), 1.0),          # on a positive peak
    ((0.0, 2.5), -1.0),          # on a negative peak
    ((4.0, -2.5), -1.0),
    ((-4.0, 1.5), 0.5),          # 1 from a peak: half height
    ((1.0, 2.5), -0.5),
    ((0.0, -1.0), 0.25),         # 1.5 below the peak at (0, -2.5)
    ((2.0, 2.5), 0.0),           # 2 from two peaks: the cones end there
    ((0.0, 0.0), 0.0),           # 2.5 from every peak
    ((6.0, 6.0), 0.0),
])
def test_reg_gauss_target_is_playgrounds_cone(point, label):
    from bpviz.engine.datasets import _reg_gauss_target

    got = _reg_gauss_target(np.array([point]))[0]
    assert got == pytest.approx(label, abs=1e-15)
    assert got == pytest.approx(_playground_label(*point), abs=1e-15)


@pytest.mark.parametrize("noise", [0.0, 0.6])
def test_reg_gauss_data_set_follows_playground(noise):
    from bpviz.engine.datasets import make_dataset

    ds = make_dataset("reg_gauss", n_samples=400, noise=noise, seed=3)
    X = np.vstack([ds.X_train, ds.X_test]) * 6.0       # back to Playground units
    y = np.concatenate([ds.y_train, ds.y_test])[:, 0]
    assert np.abs(X).max() <= 6.0 and y.min() >= -1.0 and y.max() <= 1.0
    expect = np.array([_playground_label(*p) for p in X])
    if noise == 0.0:
        np.testing.assert_allclose(y, expect, rtol=0, atol=1e-12)
    else:                                               # labels of displaced points
        assert np.mean(np.abs(y - expect) > 1e-9) > 0.3
    assert np.mean(y == 0.0) > 0.3                      # the flat ground between the cones


# ---------------------------------------------------------------- gradient check floor
@pytest.fixture(scope="module")
def trained_xor_check():
    """The gradient check of the xor preset's network after 30,000 training steps."""
    from bpviz.engine import Network
    from bpviz.engine.gradcheck import gradcheck
    from bpviz.engine.presets import load_preset
    from bpviz.engine.trainer import Trainer

    preset = load_preset("xor")
    net = Network(preset.spec, seed=preset.train.seed, dtype="float64")
    tr = Trainer(net, preset.data.load(), preset.train)
    for _ in tr.run(steps=30_000):
        pass
    idx = tr.next_batch()
    X, Y = tr.data.X_train[idx], tr.data.y_train[idx]
    return gradcheck(net, X, Y), net.loss(X, Y)


def test_gradcheck_passes_on_a_trained_network(trained_xor_check):
    check, _ = trained_xor_check
    assert check.passed(), check.max_rel_error


@pytest.mark.parametrize("where", ["every entry", "largest entry"])
def test_gradcheck_reports_a_1e_4_relative_error_on_a_trained_network(trained_xor_check, where):
    from bpviz.engine.gradcheck import TOLERANCE, compare, noise_floor

    check, C = trained_xor_check
    H = 1e-6                                         # gradcheck's default step
    top = max(float(np.abs(g).max()) for g in check.analytic.values())
    # trained: a floor fixed at |C| = 1 would hide a 1e-4 relative error here
    # (1e-4·|g| / floor < tol); the floor that scales with C does not
    fixed = 64 * float(np.finfo(np.float64).eps) / H / TOLERANCE
    assert C < 0.01 and 1e-4 * top / fixed < TOLERANCE
    assert check.floor == noise_floor(C, H) < top / 10
    for key, g in check.analytic.items():
        wrong = dict(check.analytic)
        if where == "every entry":
            wrong[key] = g * (1 + 1e-4)
        else:
            wrong[key] = g.copy()
            i = np.unravel_index(np.abs(g).argmax(), g.shape)
            wrong[key][i] *= 1 + 1e-4
        res = compare(wrong, check.numeric, check.checked, C, H)
        assert not res.passed(), key
        assert res.max_rel_error[key] == pytest.approx(1e-4, rel=0.01), key
