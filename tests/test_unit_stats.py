"""Dead and saturated units and update-to-weight ratios (bpviz.engine.unit_stats).

A network is built whose weights make one ReLU unit dead and one tanh unit
saturated; the counts, the indices and the ratios are checked against numbers
computed by hand, and against what the trainer puts in its records.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import dataset, make_spec, random_net

from bpviz.engine.trainer import TrainConfig, Trainer
from bpviz.engine.unit_stats import (
    APPLIED,
    LR_GRADIENT,
    SATURATION_Z,
    dead_units,
    saturated_units,
    saturates,
    unit_stats,
)

DEAD, SATURATED = 3, 5   # 0-based unit indices: unit 3 of the ReLU layer, unit 5 of the tanh one


def _data(n: int = 64, seed: int = 3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0).astype(np.int64)
    return dataset(X, y, n_classes=3)


def _constructed(dtype: str = "float64"):
    """2 → 6 ReLU → 8 tanh → 3 softmax: ReLU unit 3 never active (W row 0, b = −1),
    tanh unit 5 saturated (W row 0, b = 10: z = 10 for every sample)."""
    spec = make_spec(2, [(6, "relu"), (8, "tanh")], (3, "softmax"), "cross_entropy")
    net = random_net(spec, seed=1, dtype=dtype, bias_scale=0.0)
    w = net.get_weights()
    w["W0"][DEAD] = 0.0
    w["b0"][DEAD] = -1.0
    w["W1"][SATURATED] = 0.0
    w["b1"][SATURATED] = 10.0
    net.set_weights(w)
    return net


def test_constructed_network_has_one_dead_and_one_saturated_unit():
    net = _constructed()
    X = _data().X_train
    y = np.eye(3)[_data().y_train]
    rec = net.backprop(X, y)
    st = unit_stats(rec, net.spec, net.get_weights(), lr=0.1)
    relu, tanh, out = st.layers
    assert (relu.units, tanh.units, out.units) == (6, 8, 3)
    assert relu.dead.tolist() == [DEAD] and relu.n_dead == 1
    assert relu.saturated.size == 0                      # ReLU does not saturate
    assert tanh.saturated.tolist() == [SATURATED] and tanh.n_saturated == 1
    assert tanh.dead.size == 0
    assert out.n_dead == out.n_saturated == 0            # softmax: not a saturating layer
    assert [ly.can_saturate for ly in st.layers] == [False, True, False]
    assert relu.dead.dtype == tanh.saturated.dtype == np.int64


def test_the_trainer_records_the_units_and_ratios_of_a_published_step():
    net = _constructed()
    tr = Trainer(net, _data(), TrainConfig(batch_size=32, lr=0.1))
    assert tr.train_step().units is None                 # only with the matrices
    tr.request_matrices()
    rec = tr.train_step()
    assert rec.units is not None and rec.units.update == APPLIED
    assert rec.units.layers[0].dead.tolist() == [DEAD]
    assert rec.units.layers[1].saturated.tolist() == [SATURATED]
    for l in range(3):
        assert rec.grad_norms[f"ratio{l}"] == rec.units.ratios[l]
    first = tr.current_record()                          # no update: the ratio is η·dW
    assert first.units is not None and first.units.update == LR_GRADIENT
    assert first.units.layers[0].dead.tolist() == [DEAD]


def test_sgd_ratio_is_lr_times_gradient_norm_over_weight_norm():
    lr = 0.1
    tr = Trainer(_constructed(), _data(), TrainConfig(batch_size=32, lr=lr))
    tr.request_matrices()
    rec = tr.train_step()
    for l, ly in enumerate(rec.backprop.layers):
        W = rec.weights[f"W{l}"]
        by_hand = lr * np.sqrt((ly.dW ** 2).sum()) / np.sqrt((W ** 2).sum())
        assert rec.units.ratios[l] == pytest.approx(by_hand, rel=1e-9)
        assert 0 < by_hand < 1


def test_momentum_ratio_is_the_applied_update_not_lr_times_gradient():
    lr = 0.05
    net = _constructed()
    tr = Trainer(net, _data(), TrainConfig(batch_size=32, lr=lr, optimizer="momentum"))
    tr.train_step()
    tr.request_matrices()
    rec = tr.train_step()
    for l in range(3):
        before, after = rec.weights[f"W{l}"], net.params[f"W{l}"]
        applied = np.linalg.norm(after - before) / np.linalg.norm(before)
        assert rec.units.ratios[l] == pytest.approx(applied, rel=1e-9)
        sgd = lr * np.linalg.norm(rec.backprop.grads[f"W{l}"]) / np.linalg.norm(before)
        assert abs(rec.units.ratios[l] - sgd) > 0.1 * sgd   # the velocity, not one gradient


def test_a_tied_layer_reports_the_ratio_of_the_weights_it_uses():
    spec = make_spec(3, [(3, "tanh"), (3, "tanh")], (2, "softmax"), "cross_entropy",
                     ties={1: 0})
    net = random_net(spec, seed=2)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    rec = net.backprop(X, np.eye(2)[rng.integers(0, 2, 20)])
    w = net.get_weights()
    st = unit_stats(rec, spec, w, lr=0.5)
    total = 0.5 * np.linalg.norm(rec.layers[0].dW + rec.layers[1].dW) / np.linalg.norm(w["W0"])
    assert st.ratios[0] == st.ratios[1] == pytest.approx(total, rel=1e-9)


def test_zero_weights_give_no_ratio():
    net = _constructed()
    w = net.get_weights()
    w["W2"][:] = 0.0
    net.set_weights(w)
    rec = net.backprop(_data().X_train[:8], np.eye(3)[_data().y_train[:8]])
    st = unit_stats(rec, net.spec, net.get_weights(), lr=0.1)
    assert np.isnan(st.ratios[2]) and np.isfinite(st.ratios[0])


def test_dead_means_zero_for_every_sample():
    a = np.array([[0.0, 1.0, 0.0, 0.0, 0.0],
                  [0.0, 0.0, 0.0, -0.0, -0.5],     # a tanh unit may be negative, not dead
                  [0.0, 0.0, 2e-30, 0.0, 0.0]])
    assert dead_units(a).tolist() == [0, 3]


def test_saturation_rule_more_than_95_percent_beyond_3():
    K = 100
    z = np.zeros((K, 4))
    z[:96, 0] = SATURATION_Z + 0.5       # 96 % beyond: saturated
    z[:95, 1] = SATURATION_Z + 0.5       # 95 %: not more than 95 %
    z[:, 2] = -(SATURATION_Z + 1.0)      # every sample, negative side
    z[:, 3] = SATURATION_Z               # exactly 3 is not beyond
    assert saturated_units(z).tolist() == [0, 2]


def test_which_layers_can_saturate():
    bce = make_spec(2, [(4, "sigmoid"), (4, "relu")], (1, "sigmoid"), "binary_cross_entropy")
    assert [saturates(bce, l) for l in range(3)] == [True, False, False]  # δ = a − y at the end
    mse = make_spec(2, [(4, "tanh")], (1, "tanh"), "squared_error")
    assert [saturates(mse, l) for l in range(2)] == [True, True]          # f'(z) enters δ
