"""Two runs side by side (bpviz.engine.compare): B differs from A only in what was changed."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import BpvizError, make_dataset
from bpviz.engine.compare import (
    COMPARISON_PRESETS,
    Change,
    Comparison,
    comparison_preset,
)
from bpviz.engine.spec import LayerSpec, NetworkSpec
from bpviz.engine.trainer import TrainConfig

SPEC = NetworkSpec(2, (LayerSpec(6, "tanh"), LayerSpec(5, "tanh"), LayerSpec(1, "sigmoid")),
                   loss="binary_cross_entropy")
CONFIG = TrainConfig(batch_size=8, lr=0.1, seed=3)


@pytest.fixture(scope="module")
def data():
    return make_dataset("circle", n_samples=200, noise=0.1, seed=1)


def _same(wa: dict, wb: dict, keys=None) -> None:
    for k in keys or wa:
        np.testing.assert_array_equal(wa[k], wb[k], err_msg=k)


def _run(c: Comparison, steps: int) -> list[tuple]:
    """Each step's (record A, record B), with matrices."""
    return [c.step(1, matrices=True) for _ in range(steps)]


def test_lr_change_same_start_same_batches_in_lock_step(data):
    c = Comparison(SPEC, data, CONFIG, Change("lr", 0.5))
    assert c.names == ("lr 0.1", "lr 0.5")
    _same(c.a.net.get_weights(), c.b.net.get_weights())       # bitwise, before any step
    for i, (ra, rb) in enumerate(_run(c, 12), start=1):
        assert ra.step == rb.step == i                          # lock step
        np.testing.assert_array_equal(ra.batch_index, rb.batch_index)
        assert (ra.lr, rb.lr) == (0.1, 0.5)
    assert c.a.config.lr == 0.1 and c.b.config.lr == 0.5
    assert c.a.config == c.b.config.__class__(**{**c.b.config.to_dict(), "lr": 0.1})


def test_activation_change_same_weights_same_batches_different_delta(data):
    c = Comparison(SPEC, data, CONFIG, Change("activation", "relu"))
    assert c.names == ("tanh", "relu")
    assert [ly.activation for ly in c.b.net.spec.layers] == ["relu", "relu", "sigmoid"]
    assert c.a.config == c.b.config
    _same(c.a.net.get_weights(), c.b.net.get_weights())
    ra, rb = c.step(1, matrices=True)
    _same(ra.weights, rb.weights)                               # the weights the batch used
    np.testing.assert_array_equal(ra.batch_index, rb.batch_index)
    np.testing.assert_array_equal(ra.backprop.layers[0].a_prev, rb.backprop.layers[0].a_prev)
    assert not np.allclose(ra.backprop.layers[0].delta, rb.backprop.layers[0].delta)


def test_zeros_vs_glorot(data):
    zeros = NetworkSpec(2, SPEC.layers, loss=SPEC.loss, init="zeros")
    c = Comparison(zeros, data, CONFIG, Change("init", "glorot"))
    assert c.names == ("zeros", "glorot")
    wa, wb = c.a.net.get_weights(), c.b.net.get_weights()
    for k in ("W0", "W1", "W2"):
        assert not wa[k].any() and wb[k].any()
    _same(wa, wb, ["b0", "b1", "b2"])
    recs = _run(c, 20)
    for ra, rb in recs:
        np.testing.assert_array_equal(ra.batch_index, rb.batch_index)
    # symmetry: with zeros every hidden unit stays equal (identical rows of W¹ and W²)
    W = c.a.net.get_weights()
    for k in ("W0", "W1"):
        assert np.all(W[k] == W[k][0])
    assert not np.all(c.b.net.get_weights()["W0"] == c.b.net.get_weights()["W0"][0])


def test_optimizer_and_batch_size_change(data):
    c = Comparison(SPEC, data, CONFIG, Change("optimizer", "adam"))
    assert c.names == ("SGD", "Adam")
    assert (c.a.config.optimizer, c.b.config.optimizer) == ("sgd", "adam")
    for ra, rb in _run(c, 5):
        np.testing.assert_array_equal(ra.batch_index, rb.batch_index)
    c = Comparison(SPEC, data, CONFIG, Change("batch_size", 16))
    assert c.names == ("batch 8", "batch 16")
    _same(c.a.net.get_weights(), c.b.net.get_weights())
    # the same seed: the same shuffled order, cut into batches of 8 and of 16
    ra, rb = c.step(1, matrices=True)
    np.testing.assert_array_equal(ra.batch_index, rb.batch_index[:8])


def test_spec_change_keeps_the_weights_of_equal_shapes(data):
    """A wider first layer: W¹, W² change shape; W³ (1×5) starts equal although the
    initialiser drew the first layers in another order."""
    other = NetworkSpec(2, (LayerSpec(7, "tanh"), LayerSpec(5, "tanh"), LayerSpec(1, "sigmoid")),
                        loss="binary_cross_entropy")
    c = Comparison(SPEC, data, CONFIG, Change("spec", other))
    assert c.names == ("2-6-5-1", "2-7-5-1")
    wa, wb = c.a.net.get_weights(), c.b.net.get_weights()
    _same(wa, wb, ["W2", "b2"])
    assert wb["W0"].shape == (7, 2) and wb["W1"].shape == (5, 7)


def test_reset_repeats_the_same_runs(data):
    c = Comparison(SPEC, data, CONFIG, Change("lr", 0.5))
    first = [(ra.loss, rb.loss) for ra, rb in (c.step() for _ in range(10))]
    c.reset()
    assert c.step_count == 0
    again = [(ra.loss, rb.loss) for ra, rb in (c.step() for _ in range(10))]
    assert first == again


@pytest.mark.parametrize("change, words", [
    (Change("colour", "red"), "unknown change 'colour'"),
    (Change("activation", "softmax"), "activation of the hidden layers 'softmax'"),
    (Change("activation", "tanh"), "the same as A's"),
    (Change("optimizer", "rmsprop"), "optimizer 'rmsprop'"),
    (Change("lr", -1.0), "learning rate -1.0"),
    (Change("lr", float("nan")), "learning rate nan"),
    (Change("init", "ones"), "initialiser 'ones'"),
    (Change("batch_size", 0), "batch size 0"),
    (Change("batch_size", 2.5), "batch size 2.5"),
    (Change("spec", "big"), "network 'big'"),
])
def test_a_bad_change_is_one_clear_line(data, change, words):
    with pytest.raises(BpvizError) as err:
        Comparison(SPEC, data, CONFIG, change)
    msg = str(err.value)
    assert words in msg and "\n" not in msg and msg.startswith("cannot compare")


def test_no_hidden_layer_cannot_change_activation(data):
    spec = NetworkSpec(2, (LayerSpec(1, "sigmoid"),), loss="binary_cross_entropy")
    with pytest.raises(BpvizError, match="no hidden layer"):
        Comparison(spec, data, CONFIG, Change("activation", "relu"))


def test_divergence_stops_both_and_says_which(data):
    linear = NetworkSpec(2, (LayerSpec(6, "identity"), LayerSpec(1, "identity")))
    c = Comparison(linear, data, TrainConfig(batch_size=8, lr=0.1, seed=0), Change("lr", 1000.0))
    for _ in range(200):
        ra, rb = c.step()
        if rb.diverged:
            break
    assert rb.diverged and c.diverged == "lr 1000"
    with pytest.raises(BpvizError, match="diverged"):
        c.step()
    c.reset()
    assert c.step()[0].step == 1


@pytest.mark.parametrize("name", list(COMPARISON_PRESETS))
def test_presets_build_and_train(name):
    p = comparison_preset(name)
    c = p.build()
    ra, rb = c.step(5, matrices=True)
    assert ra.step == rb.step == 5
    assert ra.backprop is not None and rb.backprop is not None
    assert p.layer < len(ra.backprop.layers)
    assert np.isfinite([ra.loss, rb.loss]).all()


def test_vanishing_gradients_story():
    """Deep sigmoid: ‖δ¹‖ far below ‖δ⁶‖; relu keeps them within a small factor."""
    c = comparison_preset("vanishing-gradients").build()
    ra, rb = c.step(50, matrices=True)
    assert c.names == ("sigmoid", "relu")
    assert ra.grad_norms["delta0"] < 0.01 * ra.grad_norms["delta5"]
    assert rb.grad_norms["delta0"] > 0.1 * rb.grad_norms["delta5"]


def test_unknown_preset():
    with pytest.raises(BpvizError, match="unknown comparison 'nope'; choose one of "
                                         "vanishing-gradients"):
        comparison_preset("nope")
