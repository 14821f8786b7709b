"""Checkpoints: continuing from a past step repeats the run bitwise (SGD, momentum,
Adam), the store stays within its byte budget and refuses to replay across a change
made outside training."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import LayerSpec, Network, NetworkSpec
from bpviz.engine.checkpoints import Checkpoint, CheckpointStore
from bpviz.engine.datasets import make_dataset
from bpviz.engine.errors import BpvizError
from bpviz.engine.trainer import TrainConfig, Trainer

SPEC = NetworkSpec(2, (LayerSpec(6, "tanh"), LayerSpec(5, "relu"), LayerSpec(3, "softmax")),
                   loss="cross_entropy")


def _trainer(optimizer: str, seed: int = 3, batch_size: int = 16) -> Trainer:
    data = make_dataset("blobs", n_samples=150, noise=0.5, seed=1)
    lr = 0.01 if optimizer == "adam" else 0.2
    cfg = TrainConfig(batch_size=batch_size, lr=lr, optimizer=optimizer, seed=seed,
                      eval_every=7)
    return Trainer(Network(SPEC, seed=seed), data, cfg)


def _same(a: Trainer, b: Trainer) -> None:
    wa, wb = a.net.get_weights(), b.net.get_weights()
    assert wa.keys() == wb.keys()
    for k in wa:
        assert np.array_equal(wa[k], wb[k]), k          # bitwise, not approximately
    assert a.step == b.step and a.epoch == b.epoch


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_continue_from_a_checkpoint_is_bitwise_the_uninterrupted_run(optimizer: str) -> None:
    straight = _trainer(optimizer)
    losses = [straight.train_step().loss for _ in range(60)]   # 60 steps: epochs wrap

    run = _trainer(optimizer)
    for _ in range(20):
        run.train_step()
    cp = run.checkpoint()
    for _ in range(25):
        run.train_step()                  # the run went on past the checkpoint ...
    run.restore(cp)                       # ... and comes back to step 20
    assert run.step == 20
    again = [run.train_step().loss for _ in range(40)]
    assert again == losses[20:]           # every loss equal, to the last bit
    _same(run, straight)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_replay_from_an_earlier_checkpoint_reaches_the_step_exactly(optimizer: str) -> None:
    straight = _trainer(optimizer)
    for _ in range(33):
        straight.train_step()
    run = _trainer(optimizer)
    cp = run.checkpoint()                 # step 0
    for _ in range(50):
        run.train_step()
    run.restore(cp)
    run.replay_to(33)
    _same(run, straight)
    assert [run.train_step().loss for _ in range(5)] == \
        [straight.train_step().loss for _ in range(5)]


def test_restore_brings_back_the_settings_of_the_checkpoint() -> None:
    run = _trainer("sgd")
    run.train_step()
    cp = run.checkpoint()
    run.configure(lr=0.5, optimizer="adam")
    run.train_step()
    run.restore(cp)
    assert run.config.lr == 0.2 and run.config.optimizer == "sgd"
    assert run.optimizer.name == "sgd"


def test_a_checkpoint_is_not_changed_by_training_after_restore() -> None:
    run = _trainer("adam")
    for _ in range(3):
        run.train_step()
    cp = run.checkpoint()
    slots = {k: v.copy() for k, v in cp.state["optimizer"]["slots"].items()}
    W0 = cp.weights["W0"].copy()
    run.restore(cp)
    for _ in range(5):
        run.train_step()
    assert np.array_equal(cp.weights["W0"], W0)
    for k, v in slots.items():
        assert np.array_equal(cp.state["optimizer"]["slots"][k], v), k


def _cp(step: int, nbytes: int = 1000) -> Checkpoint:
    return Checkpoint(step, {}, {}, nbytes)


def test_store_stays_within_its_bytes_and_keeps_the_newest_and_spread() -> None:
    store = CheckpointStore(max_bytes=10_000)
    for s in range(0, 2000, 10):
        store.add(_cp(s))
        assert store.nbytes <= store.max_bytes
    steps = store.steps()
    assert steps[-1] == 1990 and len(steps) == 10
    assert steps[0] < 1000               # old steps still represented, not only the newest
    cp, n = store.plan(1995)
    assert cp.step == 1990 and n == 5


def test_store_refuses_to_replay_across_a_change_made_outside_training() -> None:
    store = CheckpointStore()
    store.add(_cp(0))
    store.add(_cp(100))
    store.barrier(150)                   # e.g. a weight edited at step 150
    assert store.plan(150)[0].step == 100          # up to the change: fine
    with pytest.raises(BpvizError, match="after step 150"):
        store.plan(170)
    store.add(_cp(150))                  # taken after the change
    assert store.plan(170) == (store.plan(170)[0], 20)
    assert store.plan(170)[0].step == 150
    with pytest.raises(BpvizError, match="no checkpoint"):
        CheckpointStore().plan(5)


def test_drop_after_forgets_the_later_checkpoints() -> None:
    store = CheckpointStore()
    for s in (0, 10, 20, 30):
        store.add(_cp(s))
    store.drop_after(15)
    assert store.steps() == [0, 10]
    store.add(_cp(5))                    # going back: later ones go
    assert store.steps() == [0, 5]
