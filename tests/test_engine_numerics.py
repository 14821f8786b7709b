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
