"""Phase stepping (bpviz.engine.phases): every phase in order, and the update of
a stepped mini-batch equals one ordinary Trainer.train_step on that batch."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import LayerSpec, Network, NetworkSpec
from bpviz.engine.datasets import make_dataset
from bpviz.engine.network import finish
from bpviz.engine.phases import PHASE_KINDS, PhaseStepper, phase_plan
from bpviz.engine.trainer import TrainConfig, Trainer


@pytest.fixture(scope="module")
def xor():
    return make_dataset("xor", n_samples=120, seed=3)


@pytest.fixture(scope="module")
def blobs():
    return make_dataset("blobs", n_samples=150, n_classes=3, seed=1)


def _spec(loss="binary_cross_entropy", out="sigmoid", units=1, reduction="mean", tie=False):
    hidden = [LayerSpec(6, "tanh"), LayerSpec(6, "relu", tie_to=1 if tie else None)]
    if tie:
        hidden = [LayerSpec(6, "tanh"), LayerSpec(6, "tanh"), LayerSpec(6, "tanh", tie_to=1)]
    return NetworkSpec(2, (*hidden, LayerSpec(units, out)), loss=loss, reduction=reduction)


def _twins(spec, data, **cfg):
    config = TrainConfig(batch_size=cfg.pop("batch_size", 16), **cfg)
    return (Trainer(Network(spec, seed=7), data, config),
            Trainer(Network(spec, seed=7), data, config))


def _expected(L):
    seq = []
    for i in range(L):
        seq += [("z", i), ("a", i)]
    seq.append(("loss", L - 1))
    for i in reversed(range(L)):
        seq += [("delta", i), ("dW", i), ("db", i)]
    return [*seq, ("update", -1)]


def test_plan_is_forward_loss_then_each_layer_backwards_then_update():
    spec = _spec()
    assert list(phase_plan(spec)) == _expected(3)
    assert len(phase_plan(spec)) == 5 * 3 + 2
    assert {k for k, _ in phase_plan(spec)} == set(PHASE_KINDS)


def test_stepper_visits_every_phase_in_order(xor):
    tr, _ = _twins(_spec(), xor)
    st = PhaseStepper(tr)
    recs = [st.next() for _ in range(17)]
    assert [(r.kind, r.layer) for r in recs] == _expected(3)
    assert [r.index for r in recs] == list(range(17))
    assert all(r.total == 17 for r in recs)
    assert recs[0].loss is None and recs[-1].loss is not None
    # the next call starts the next batch from its first phase
    nxt = st.next()
    assert (nxt.kind, nxt.layer, nxt.index) == ("z", 0, 0)
    assert nxt.step == recs[0].step + 1


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_update_equals_ordinary_step_bitwise(xor, optimizer):
    stepped, twin = _twins(_spec(), xor, optimizer=optimizer, lr=0.05)
    st = PhaseStepper(stepped)
    for _ in range(4):
        recs = st.run_batch()
        rec = twin.train_step()
        assert recs[-1].kind == "update"
        assert recs[-1].loss == rec.loss
        for k in twin.net.params:
            np.testing.assert_array_equal(stepped.net.params[k], twin.net.params[k], err_msg=k)
    assert (stepped.step, stepped.epoch) == (twin.step, twin.epoch)


@pytest.mark.parametrize("kind", ["tied", "sum", "softmax", "squared"])
def test_update_equals_ordinary_step_other_networks(xor, blobs, kind):
    spec, data = {
        "tied": (_spec(tie=True), xor),
        "sum": (_spec(reduction="sum"), xor),
        "softmax": (_spec("cross_entropy", "softmax", 3), blobs),
        "squared": (_spec("squared_error", "sigmoid", 1), xor),
    }[kind]
    stepped, twin = _twins(spec, data, lr=0.05)
    st = PhaseStepper(stepped)
    for _ in range(3):
        st.run_batch()
        twin.train_step()
    for k in twin.net.params:
        np.testing.assert_array_equal(stepped.net.params[k], twin.net.params[k], err_msg=k)


def test_phase_matrices_are_the_backprop_record_of_that_batch(blobs):
    spec = _spec("cross_entropy", "softmax", 3)
    stepped, twin = _twins(spec, blobs)
    before = Network(spec, seed=7)
    recs = PhaseStepper(stepped).run_batch()
    idx = recs[0].batch_index
    bp = before.backprop(blobs.X_train[idx], blobs.y_train[idx])
    got = {(r.kind, r.layer): r.matrix for r in recs}
    for i, ly in enumerate(bp.layers):                  # each phase: the engine's matrix
        for kind, M in (("z", ly.z), ("a", ly.a), ("delta", ly.delta), ("dW", ly.dW),
                        ("db", ly.db)):
            np.testing.assert_allclose(got[(kind, i)], M, rtol=1e-5, atol=1e-7,
                                       err_msg=f"{kind}{i}")
    assert recs[-1].loss == pytest.approx(bp.loss, rel=1e-6)
    assert got[("loss", 2)].shape == (len(idx),)      # per-sample costs C_k
    assert got[("loss", 2)].mean() == pytest.approx(bp.loss, rel=1e-5)
    assert recs[-1].matrix is None
    done = recs[-1].step_record
    np.testing.assert_array_equal(done.backprop.grads["W2"], bp.grads["W2"])
    np.testing.assert_array_equal(done.batch_index, idx)
    for k, W in before.get_weights().items():
        np.testing.assert_array_equal(done.weights[k], W)


def test_phases_are_the_vectorized_backprop_itself(blobs):
    """Traced or not, Network.phases computes the same arrays: the stepper's matrices
    are those of gradients(), bit for bit, and its result is gradients()'s result."""
    net = Network(_spec("cross_entropy", "softmax", 3), seed=2)
    X, Y = net.prepare(blobs.X_train[:20], blobs.y_train[:20])
    gen = net.phases(X, Y)
    seen = {}
    while True:
        try:
            ph = next(gen)
        except StopIteration as stop:
            traced = stop.value
            break
        seen[(ph.kind, ph.layer)] = ph.value
    plain = net.gradients(X, Y)
    assert traced.loss == plain.loss == finish(net.phases(X, Y, trace=False)).loss
    for i, (a, b) in enumerate(zip(traced.layers, plain.layers, strict=True)):
        for f in ("z", "a", "delta", "dW", "db"):
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f"{f}{i}")
            np.testing.assert_array_equal(seen[(f, i)], getattr(b, f), err_msg=f"{f}{i}")
    assert seen[("loss", 2)].sum() / 20 == pytest.approx(plain.loss, rel=1e-6)


def test_loop_method_trainer_steps_phases_in_the_vectorized_form(xor):
    """The stepper is the vectorized backprop one phase at a time, whatever the
    method: with Loop on, its update is one ordinary *vectorized* step, bit for bit
    (and the loop step agrees to rounding)."""
    stepped, loop_twin = _twins(_spec(), xor, method="loop")
    vec_twin = Trainer(Network(_spec(), seed=7), xor, TrainConfig(batch_size=16))
    st = PhaseStepper(stepped)
    for _ in range(2):
        recs = st.run_batch()
        loop_twin.train_step()
        vec_twin.train_step()
    assert recs[-1].step_record.method == "loop"       # the trainer's setting, unchanged
    for k in vec_twin.net.params:
        np.testing.assert_array_equal(stepped.net.params[k], vec_twin.net.params[k])
        np.testing.assert_allclose(stepped.net.params[k], loop_twin.net.params[k], atol=1e-6)


def test_half_done_batch_is_dropped_when_the_trainer_moves_on(xor):
    stepped, twin = _twins(_spec(), xor)
    st = PhaseStepper(stepped)
    first = [st.next() for _ in range(5)]
    assert st.in_batch
    stepped.train_step()                 # Play ran a mini-batch in between
    assert not st.in_batch
    rec = st.next()
    assert (rec.kind, rec.index, rec.step) == ("z", 0, first[0].step + 1)
    # the half-done batch used up its rows but changed no weight: the twin skips
    # those rows, then takes two ordinary steps
    st.run_batch()
    twin.next_batch()
    for _ in range(2):
        twin.train_step()
    for k in twin.net.params:
        np.testing.assert_array_equal(stepped.net.params[k], twin.net.params[k])


def test_step_record_is_what_train_step_yields(blobs):
    spec = _spec("cross_entropy", "softmax", 3)
    stepped, twin = _twins(spec, blobs)
    st = PhaseStepper(stepped)
    last = st.run_batch()[-1]
    twin.request_matrices()
    rec = twin.train_step()
    mine = last.step_record
    assert (mine.step, mine.epoch, mine.batch_size) == (rec.step, rec.epoch, rec.batch_size)
    assert mine.loss == rec.loss
    assert mine.accuracy == pytest.approx(rec.accuracy)
    np.testing.assert_array_equal(mine.batch_index, rec.batch_index)
    for k in rec.weights:
        np.testing.assert_array_equal(mine.weights[k], rec.weights[k])
    assert mine.grad_norms == pytest.approx(rec.grad_norms)
    assert all(r.step_record is None for r in st.run_batch()[:-1])
