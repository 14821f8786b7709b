"""Training: dtypes kept, bitwise reproducible runs, the trainer's controls.

The trainer is a Qt-free generator; these tests drive it directly and from a
second thread, the way the GUI worker does.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from conftest import dataset, make_spec, random_net

from bpviz.engine import BackpropRecord, BpvizError, Network, predict_labels
from bpviz.engine.optim import Adam, Momentum, make_optimizer
from bpviz.engine.trainer import TrainConfig, Trainer


def classifier(dtype: str = "float64", seed: int = 0) -> Network:
    spec = make_spec(2, [(8, "tanh"), (6, "relu")], (3, "softmax"), "cross_entropy")
    return random_net(spec, seed, dtype=dtype)


def wait_for(cond, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.005)
    return cond()


# ---------------------------------------------------------------- dtypes
REGS = [(0.0, 0.0), (0.01, 0.0), (0.0, 0.01), (0.01, 0.01)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize(("l1", "l2"), REGS, ids=["plain", "L1", "L2", "L1+L2"])
@pytest.mark.parametrize("method", ["vectorized", "loop"])
def test_training_keeps_the_dtype(blobs3, dtype, optimizer, l1, l2, method):
    """NumPy 2 scalar promotion must not turn float32 parameters into float64
    (the NumPy 2 promotion trap), with any optimizer and regularisation."""
    net = classifier(dtype)
    tr = Trainer(net, blobs3, TrainConfig(batch_size=16, lr=0.05, optimizer=optimizer, l1=l1,
                                          l2=l2, method=method, eval_every=3))
    want = np.dtype(dtype)
    for _ in range(4):
        tr.request_matrices()
        rec = next(tr.run(steps=1))
        assert isinstance(rec.loss, float) and math.isfinite(rec.loss)
        for k, p in net.params.items():
            assert p.dtype == want, k
            assert p.flags.c_contiguous or p.flags.f_contiguous, k
        for k, v in rec.weights.items():
            assert v.dtype == want, k
        for ly in rec.backprop.layers:
            for name in ("a_prev", "z", "a", "delta", "dW", "db"):
                assert getattr(ly, name).dtype == want, name
        for k, g in rec.backprop.grads.items():
            assert g.dtype == want, k
    slots = tr.optimizer._slots()
    assert bool(slots) == (optimizer != "sgd")
    for k, v in slots.items():
        assert v.dtype == want, k
    assert net.forward(blobs3.X_test).dtype == want


def test_float32_step_does_no_float64_arithmetic(blobs3):
    """The same float32 step computed by hand in float32 is reproduced exactly."""
    net = classifier("float32")
    tr = Trainer(net, blobs3, TrainConfig(batch_size=16, lr=0.1, optimizer="sgd", l2=0.01))
    tr.request_matrices()
    rec = tr.train_step()
    for k, W in rec.weights.items():
        g = rec.backprop.grads[k]
        if k[0] == "W":
            g = g + np.float32(0.01) * W
        expect = W - np.float32(0.1) * g
        assert expect.dtype == np.float32
        np.testing.assert_array_equal(net.params[k], expect, err_msg=k)


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_optimizer_arithmetic_stays_float32(name):
    """Every array an optimizer computes with is float32 for float32 parameters
    (a NumPy float64 scalar anywhere would make them float64 and the step slower)."""
    opt = make_optimizer(name, lr=np.float64(0.1), l1=np.float64(0.01), l2=np.float64(0.01))
    seen = []
    update = opt.update

    def spy(key, g, xp):
        u = update(key, g, xp)
        seen.append((key, g.dtype, u.dtype))
        return u

    opt.update = spy
    rng = np.random.default_rng(0)
    params = {"W0": rng.normal(size=(3, 2)).astype(np.float32), "b0": np.zeros(3, np.float32)}
    for _ in range(3):
        grads = {k: rng.normal(size=v.shape).astype(np.float32) for k, v in params.items()}
        opt.step(params, grads, np)
    assert len(seen) == 6
    assert all(g == np.float32 and u == np.float32 for _, g, u in seen), seen
    assert all(v.dtype == np.float32 for v in params.values())


# ---------------------------------------------------------------- reproducibility
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("method", ["vectorized", "loop"])
def test_seeded_run_is_bitwise_reproducible(blobs3, optimizer, method):
    cfg = TrainConfig(batch_size=10, lr=0.05, optimizer=optimizer, l2=0.001, method=method,
                      seed=3, eval_every=7)
    runs = []
    for _ in range(2):
        net = Network(make_spec(2, [(8, "tanh")], (3, "softmax"), "cross_entropy"), seed=5,
                      dtype="float32")
        tr = Trainer(net, blobs3, cfg)
        losses = [r.loss for r in tr.run(steps=25)]
        runs.append((losses, net.get_weights(), tr.optimizer.state_dict()))
    (l1, w1, s1), (l2, w2, s2) = runs
    assert l1 == l2
    for k in w1:
        np.testing.assert_array_equal(w1[k], w2[k], err_msg=k)
    for k in s1["slots"]:
        np.testing.assert_array_equal(s1["slots"][k], s2["slots"][k], err_msg=k)


def test_another_seed_gives_another_run(blobs3):
    out = []
    for seed in (1, 2):
        net = classifier("float32")
        tr = Trainer(net, blobs3, TrainConfig(batch_size=10, seed=seed))
        list(tr.run(steps=5))
        out.append(net.get_weights()["W0"])
    assert not np.array_equal(*out)


# ---------------------------------------------------------------- controls
def test_run_stops_after_steps_and_has_no_flags_of_its_own(blobs3):
    """Pausing and stopping belong to the caller (the GUI worker stops asking for
    steps); the trainer has one control: configure(), and run() for the command line."""
    tr = Trainer(classifier(), blobs3, TrainConfig(batch_size=8))
    assert [r.step for r in tr.run(steps=3)] == [1, 2, 3]
    assert [r.step for r in tr.run(steps=2)] == [4, 5]
    for name in ("pause", "resume", "stop", "apply_pending", "set_lr"):
        assert not hasattr(tr, name), name


def test_run_steps_counts(blobs3):
    tr = Trainer(classifier(), blobs3, TrainConfig(batch_size=16))
    recs = list(tr.run(steps=5))
    assert [r.step for r in recs] == [1, 2, 3, 4, 5]
    assert all(r.batch_size == 16 and r.method == "vectorized" for r in recs)
    assert all(r.accuracy is not None and 0 <= r.accuracy <= 1 for r in recs)
    assert all(r.backprop_ms >= 0 for r in recs)


def test_run_epochs_sees_each_sample_at_most_once_per_epoch(blobs3):
    tr = Trainer(classifier(), blobs3, TrainConfig(batch_size=16))
    for epoch in range(2):
        tr.request_matrices()
        rows, epochs = [], []
        for rec in tr.run(epochs=1):
            rows.extend(rec.batch_index.tolist())
            epochs.append(rec.epoch)
            tr.request_matrices()
        assert epochs == [epoch] * (120 // 16)
        assert len(rows) == len(set(rows)) == 120 // 16 * 16


def test_configure_lr_applies_to_the_next_step(blobs3):
    net = classifier()
    tr = Trainer(net, blobs3, TrainConfig(batch_size=16, lr=0.1))
    tr.train_step()
    tr.configure(lr=0.5)
    assert tr.optimizer.lr == 0.5 and tr.config.lr == 0.5
    tr.request_matrices()
    rec = tr.train_step()
    assert rec.lr == 0.5
    for k, W in rec.weights.items():
        np.testing.assert_allclose(net.params[k], W - 0.5 * rec.backprop.grads[k], rtol=1e-14,
                                   atol=1e-16, err_msg=k)


def test_configure_optimizer_starts_it_fresh(blobs3):
    net = classifier()
    tr = Trainer(net, blobs3, TrainConfig(batch_size=16, lr=0.1))
    tr.train_step()
    tr.configure(optimizer="adam", lr=0.01)
    assert isinstance(tr.optimizer, Adam) and tr.config.optimizer == "adam"
    tr.request_matrices()
    rec = tr.train_step()
    assert rec.lr == 0.01
    # Adam's first step, m̂ = g and v̂ = g², with ε added to the bias-corrected
    # root (Algorithm 1 of Kingma & Ba, as torch.optim.Adam): θ − lr·g / (|g| + ε)
    for k, W in rec.weights.items():
        g = rec.backprop.grads[k]
        expect = W - 0.01 * g / (np.abs(g) + 1e-8)
        np.testing.assert_allclose(net.params[k], expect, rtol=1e-12, atol=1e-15, err_msg=k)
    tr.configure(optimizer="momentum", momentum=0.5)
    tr.train_step()
    assert isinstance(tr.optimizer, Momentum) and tr.optimizer.momentum == 0.5
    opt = tr.optimizer
    tr.configure(lr=0.2, l2=0.01)                  # same optimizer: its state goes on
    assert tr.optimizer is opt and (opt.lr, opt.l2) == (0.2, 0.01)
    tr.configure(momentum=0.8)                     # a new momentum starts it afresh
    assert tr.optimizer is not opt and tr.optimizer.momentum == 0.8


@pytest.mark.parametrize(("l1", "l2"), [(0.0, 0.1), (0.05, 0.0), (0.05, 0.1)])
def test_configure_regularization_and_its_penalty(blobs3, l1, l2):
    net = classifier()
    tr = Trainer(net, blobs3, TrainConfig(batch_size=16, lr=0.2))
    assert tr.train_step().penalty == 0.0
    tr.configure(l1=l1, l2=l2)
    tr.request_matrices()
    rec = tr.train_step()
    expect = 0.0
    for k, W in rec.weights.items():
        g = rec.backprop.grads[k]
        if k[0] == "W":                      # weights only, never the biases
            g = g + l2 * W + l1 * np.sign(W)
            expect += 0.5 * l2 * float((W * W).sum()) + l1 * float(np.abs(W).sum())
        np.testing.assert_allclose(net.params[k], W - 0.2 * g, rtol=1e-13, atol=1e-16,
                                   err_msg=k)
    assert rec.penalty == pytest.approx(expect, rel=1e-12) and rec.penalty > 0
    assert rec.objective == rec.loss + rec.penalty


def test_configure_method_and_batch_size(blobs3):
    tr = Trainer(classifier(), blobs3, TrainConfig(batch_size=16))
    assert tr.train_step().method == "vectorized"
    tr.configure(method="loop")
    rec = tr.train_step()
    assert rec.method == "loop" and rec.batch_size == 16
    tr.configure(batch_size=5, eval_every=3)
    rec = tr.train_step()
    assert rec.method == "loop" and rec.batch_size == 5 and tr.config.eval_every == 3
    tr.configure(method="vectorized", lr=0.3, optimizer="momentum")
    rec = tr.train_step()
    assert (rec.lr, rec.method) == (0.3, "vectorized")
    assert isinstance(tr.optimizer, Momentum) and tr.optimizer.lr == 0.3


def test_bad_settings_are_refused_and_change_nothing(blobs3):
    tr = Trainer(classifier(), blobs3)
    opt = tr.optimizer
    for bad in ({"lr": 0}, {"lr": float("nan")}, {"lr": -1}, {"optimizer": "rmsprop"},
                {"l2": -1}, {"method": "batch"}, {"batch_size": 0},
                {"lr": 0.5, "batch_size": 0}):
        with pytest.raises(BpvizError):
            tr.configure(**bad)
    assert tr.optimizer is opt and tr.config == TrainConfig()
    assert tr.train_step().lr == 0.1


def test_request_matrices_gives_one_full_record(blobs3):
    net = classifier()
    tr = Trainer(net, blobs3, TrainConfig(batch_size=12))
    assert tr.train_step().backprop is None
    before = net.get_weights()
    tr.request_matrices()
    rec = tr.train_step()
    assert isinstance(rec.backprop, BackpropRecord)
    assert rec.backprop.batch_size == 12 and len(rec.batch_index) == 12
    assert set(rec.weights) == set(net.params)
    for k, v in rec.weights.items():       # the weights the backprop used
        np.testing.assert_array_equal(v, before[k])
    assert set(rec.grad_norms) == {f"{n}{i}" for n in ("dW", "delta", "ratio") for i in range(3)}
    np.testing.assert_allclose(rec.grad_norms["dW0"], np.linalg.norm(rec.backprop.layers[0].dW))
    # the record is that batch's backprop
    X = blobs3.X_train[rec.batch_index]
    np.testing.assert_array_equal(rec.backprop.layers[0].a_prev, X)
    check = Network(net.spec, dtype="float64")
    check.set_weights(rec.weights)
    again = check.backprop(X, blobs3.y_train[rec.batch_index])
    assert again.loss == pytest.approx(rec.loss, rel=1e-12)
    assert rec.accuracy == np.mean(predict_labels(again.output) == blobs3.y_train[rec.batch_index])
    assert tr.train_step().backprop is None


def test_divergence_restores_finite_weights_and_ends(regression1):
    ds = type(regression1)(**{**vars(regression1), "X_train": regression1.X_train * 10,
                              "y_train": regression1.y_train + 100})
    net = Network(make_spec(2, [(8, "relu")], (1, "identity"), "squared_error"), seed=0,
                  dtype="float32")
    tr = Trainer(net, ds, TrainConfig(batch_size=16, lr=1000.0))
    with np.errstate(all="ignore"):
        recs = list(tr.run(steps=100))
    assert recs[-1].diverged and not math.isfinite(recs[-1].loss)
    assert len(recs) < 100 and not any(r.diverged for r in recs[:-1])
    for k, v in net.get_weights().items():
        assert np.isfinite(v).all(), k
    # it can go on from the restored weights with a sane learning rate
    tr.configure(lr=1e-4)
    rec = tr.train_step()
    assert math.isfinite(rec.loss) and not rec.diverged


# ---------------------------------------------------------------- evaluation
def test_evaluate_matches_the_network(blobs3):
    net = classifier()
    tr = Trainer(net, blobs3, TrainConfig(batch_size=16, lr=0.3))
    list(tr.run(steps=30))
    for which, X, y in (("test", blobs3.X_test, blobs3.y_test),
                        ("train", blobs3.X_train, blobs3.y_train)):
        loss, acc = tr.evaluate(which)
        assert loss == pytest.approx(net.loss(X, y), rel=1e-12)
        assert acc == pytest.approx(np.mean(predict_labels(net.forward(X)) == y))
    assert tr.evaluate("test")[1] > 0.9            # three separable blobs


def test_evaluate_in_chunks_and_sum_reduction(blobs3, monkeypatch):
    from bpviz.engine import trainer as trainer_mod

    spec = make_spec(2, [(8, "tanh")], (3, "softmax"), "cross_entropy", reduction="sum")
    net = random_net(spec, 1)
    tr = Trainer(net, blobs3)
    whole = tr.evaluate("train")
    monkeypatch.setattr(trainer_mod, "EVAL_CHUNK", 7)
    chunked = tr.evaluate("train")
    assert chunked[0] == pytest.approx(whole[0], rel=1e-12)
    assert chunked[0] == pytest.approx(net.loss(blobs3.X_train, blobs3.y_train), rel=1e-12)
    assert chunked[1] == pytest.approx(whole[1])


def test_evaluate_regression_and_empty_test_set(regression1):
    net = Network(make_spec(2, [(8, "tanh")], (1, "identity"), "squared_error"))
    tr = Trainer(net, regression1)
    loss, acc = tr.evaluate("test")
    assert acc is None and loss == pytest.approx(net.loss(regression1.X_test,
                                                          regression1.y_test))
    empty = dataset(regression1.X_train, regression1.y_train)
    assert Trainer(net, empty).evaluate("test") == (None, None)


def test_evaluation_every_n_steps(blobs3):
    tr = Trainer(classifier(), blobs3, TrainConfig(batch_size=16, eval_every=4))
    recs = list(tr.run(steps=8))
    evaluated = [r.step for r in recs if r.test_loss is not None]
    assert evaluated == [4, 8]
    last = recs[-1]
    assert (last.test_loss, last.test_accuracy) == pytest.approx(tr.evaluate("test"))
    assert (last.train_eval_loss, last.train_eval_accuracy) == pytest.approx(
        tr.evaluate("train"))


def test_training_learns(blobs3, regression1):
    tr = Trainer(classifier("float32"), blobs3, TrainConfig(batch_size=16, lr=0.3))
    first = tr.evaluate("test")[0]
    list(tr.run(steps=150))
    loss, acc = tr.evaluate("test")
    assert loss < first / 4 and acc == 1.0
    net = Network(make_spec(2, [(16, "tanh")], (1, "identity"), "squared_error"))
    tr = Trainer(net, regression1, TrainConfig(batch_size=20, lr=0.05, optimizer="adam"))
    first = tr.evaluate("test")[0]
    list(tr.run(steps=300))
    assert tr.evaluate("test")[0] < first / 10


@pytest.mark.parametrize("method", ["vectorized", "loop"])
@pytest.mark.parametrize("ties", [None, {2: 1}], ids=["plain", "tied"])
def test_gradients_come_in_the_layout_of_their_weights(method, ties):
    """The update ``W -= η·dW`` is one contiguous pass only when dW is laid out as W is;
    a Fortran-ordered dW made a whole step of 784-512-512-10 half as fast again
    (benchmarks/README.md)."""
    spec = make_spec(5, [(7, "relu"), (7, "tanh"), (7, "relu")], (3, "softmax"), "cross_entropy",
                     ties=ties)
    net = random_net(spec, 0)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(9, 5)), np.eye(3)[rng.integers(0, 3, 9)]
    grads = net.gradients(X, Y, method).grads
    for k, p in net.params.items():
        assert p.flags.c_contiguous, k
        assert grads[k].shape == p.shape and grads[k].flags.c_contiguous, k
