"""Explain this number (bpviz.engine.explain): every explanation recomputes the engine's
record value to 1e-12 in float64, from the record's own numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bpviz.engine import LayerSpec, Network, NetworkSpec
from bpviz.engine.datasets import make_dataset
from bpviz.engine.explain import (
    MAX_TERMS,
    batch_targets,
    elide,
    explain,
    explain_neuron,
    explain_step,
    update_rule,
)
from bpviz.engine.trainer import TrainConfig, Trainer

TOL = 1e-12

SPECS = {
    "tied-sum-mse": NetworkSpec(2, (LayerSpec(3, "tanh"), LayerSpec(3, "relu"),
                                    LayerSpec(3, "sigmoid", tie_to=1), LayerSpec(1, "tanh")),
                                loss="squared_error", reduction="sum"),
    "softmax-mean": NetworkSpec(2, (LayerSpec(5, "leaky_relu"), LayerSpec(4, "sigmoid"),
                                    LayerSpec(3, "softmax")), loss="cross_entropy"),
    "bce-tied-mean": NetworkSpec(2, (LayerSpec(2, "tanh"), LayerSpec(2, "tanh", tie_to=0),
                                     LayerSpec(1, "sigmoid")), loss="binary_cross_entropy"),
    "identity-sum": NetworkSpec(2, (LayerSpec(4, "relu"), LayerSpec(1, "identity")),
                                loss="squared_error", reduction="sum"),
}
DATA = {"tied-sum-mse": "xor", "softmax-mean": "spiral", "bce-tied-mean": "moons",
        "identity-sum": "reg_gauss"}


def trained(name: str, optimizer: str = "sgd", l2: float = 0.0, seed: int = 0, K: int = 12):
    """A float64 network after two steps; the second step's record with its matrices."""
    spec = SPECS[name]
    ds = make_dataset(DATA[name], seed=seed)
    from bpviz.engine.fitting import fit_to_data
    spec = fit_to_data(spec, ds).spec
    net = Network(spec, seed=seed, dtype="float64")
    tr = Trainer(net, ds, TrainConfig(batch_size=K, optimizer=optimizer, l2=l2, lr=0.05,
                                      seed=seed))
    tr.train_step()
    tr.request_matrices()
    step = tr.train_step()
    return spec, ds, net, tr, step


def cells(step, kind: str, layer: int):
    bp = step.backprop
    if kind == "a":
        M = bp.layers[layer].a_prev if layer < len(bp.layers) else bp.layers[-1].a
    else:
        M = getattr(bp.layers[layer], kind)
    for idx in np.ndindex(M.shape):
        yield (idx if len(idx) == 2 else (idx[0], -1)), float(M[idx])


@pytest.mark.parametrize("name", list(SPECS))
@pytest.mark.parametrize("seed", [0, 1])
def test_every_cell_of_every_kind_equals_the_record(name, seed):
    spec, ds, _net, _tr, step = trained(name, seed=seed)
    y = batch_targets(spec, ds.y_train, step.batch_index)
    L = len(spec.layers)
    for kind in ("a", "z", "delta", "dW", "db"):
        for layer in range(L + (kind == "a")):
            for (i, j), v in cells(step, kind, layer):
                e = explain_step(step, spec, kind, layer, i, j, y=y)
                assert e.value == v
                assert abs(e.total - v) <= TOL, (kind, layer, i, j, e.total, v)


def test_the_printed_terms_are_the_records_numbers():
    spec, ds, _net, _tr, step = trained("softmax-mean")
    bp = step.backprop
    e = explain_step(step, spec, "dW", 1, 2, 3)
    (line,) = e.lines
    K = bp.batch_size
    assert len(line.terms) == K and line.scale == 1.0 / K
    for k, (d, a) in enumerate(line.terms):
        assert (d.kind, d.layer, d.row, d.col) == ("delta", 1, k, 2)
        assert (a.kind, a.layer, a.row, a.col) == ("a", 1, k, 3)
        assert d.value == bp.layers[1].delta[k, 2] and a.value == bp.layers[1].a_prev[k, 3]
    z = explain_step(step, spec, "z", 0, 4, 1)
    W = step.weights["W0"]
    assert [t[1].value for t in z.lines[0].terms] == list(W[1])
    assert z.lines[0].extra[0].value == step.weights["b0"][1]
    y = batch_targets(spec, ds.y_train, step.batch_index)
    out = explain_step(step, spec, "delta", 2, 0, 1, y=y).lines[0]
    assert out.rule == "delta_out" and out.extra[1].value == y[0, 1]      # a − y


def test_hidden_delta_reads_the_next_layers_delta_and_W():
    spec, _ds, _net, _tr, step = trained("tied-sum-mse")
    e = explain_step(step, spec, "delta", 1, 3, 2)
    (line,) = e.lines
    assert line.rule == "delta_hidden"
    nxt = step.backprop.layers[2]
    W = step.weights[f"W{nxt.owner}"]                       # layer 3 reuses layer 2's W
    assert [t[0].value for t in line.terms] == list(nxt.delta[3])
    assert [t[1].value for t in line.terms] == list(W[:, 2])
    assert ("W", 2, "col", 2) in e.reads


def test_sum_reduction_has_no_one_over_K_and_mean_does():
    spec, *_rest, step = trained("tied-sum-mse")
    assert explain_step(step, spec, "dW", 0, 0, 0).lines[0].scale == 1.0
    spec, *_rest, step = trained("bce-tied-mean")
    assert explain_step(step, spec, "db", 0, 1).lines[0].scale == 1.0 / step.batch_size


def test_a_tied_parameter_is_the_sum_of_its_uses():
    spec, *_rest, step = trained("bce-tied-mean")
    bp = step.backprop
    for kind, layer in (("dW", 0), ("dW", 1)):
        e = explain_step(step, spec, kind, layer, 1, 0)
        tied = e.lines[-1]
        assert tied.rule == "tied" and [t[0].layer for t in tied.terms] == [0, 1]
        assert abs(tied.result - bp.grads["W0"][1, 0]) <= TOL
        assert e.notes and "reused weights" in e.notes[0]
    e = explain_step(step, spec, "db", 1, 0)
    assert abs(e.lines[-1].result - bp.grads["b0"][0]) <= TOL
    spec2, *_r, step2 = trained("softmax-mean")
    assert [ln.rule for ln in explain_step(step2, spec2, "dW", 0, 0, 0).lines] == ["dW"]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("name", ["bce-tied-mean", "tied-sum-mse"])
def test_the_update_gives_the_trainers_new_weights(optimizer, name):
    spec, ds, net, tr, step = trained(name, optimizer=optimizer, l2=0.01)
    y = batch_targets(spec, ds.y_train, step.batch_index)
    for layer in range(len(spec.layers)):
        o = spec.owner(layer)
        for kind in ("W", "b"):
            P = net.params[f"{kind}{o}"]                  # after the step
            for idx in np.ndindex(P.shape):
                i, j = idx if len(idx) == 2 else (idx[0], -1)
                rule = update_rule(tr.optimizer, f"{kind}{o}", idx)
                e = explain_step(step, spec, kind, layer, i, j, y=y, rule=rule)
                assert abs(e.total - P[idx]) <= TOL, (kind, layer, idx)
                assert e.cell == step.weights[f"{kind}{o}"][idx]


def test_without_the_optimizer_state_momentum_says_so():
    spec, _ds, _net, _tr, step = trained("softmax-mean", optimizer="momentum")
    from bpviz.engine.explain import UpdateRule
    e = explain_step(step, spec, "W", 0, 0, 0, rule=UpdateRule("momentum", lr=step.lr))
    assert math.isnan(e.total) and "trainer" in e.notes[-1]


def test_elision_past_eight_terms():
    assert elide(MAX_TERMS) == (tuple(range(MAX_TERMS)), 0, ())
    head, gap, tail = elide(20)
    assert gap == 20 - len(head) - len(tail) > 0 and tail[-1] == 19 and head[0] == 0
    spec, *_rest, step = trained("softmax-mean", K=20)
    line = explain_step(step, spec, "dW", 0, 0, 0).lines[0]
    assert len(line.terms) == 20 and line.shown()[1] > 0     # every term kept, middle elided


def test_neuron_card_and_bad_cells():
    spec, ds, _net, _tr, step = trained("softmax-mean")
    bp = step.backprop
    card = explain_neuron(bp, step.weights, spec, 1, 2, 5)
    assert np.array_equal(card.inputs, bp.layers[1].a_prev[5])
    assert np.array_equal(card.weights, step.weights["W1"][2])
    assert np.array_equal(card.dW_row, bp.layers[1].dW[2])
    for e, v in ((card.z, bp.layers[1].z[5, 2]), (card.a, bp.layers[1].a[5, 2]),
                 (card.delta, bp.layers[1].delta[5, 2]), (card.db, bp.layers[1].db[2])):
        assert abs(e.total - v) <= TOL
    with pytest.raises(ValueError):
        explain(bp, step.weights, spec, "dW", 0, 99, 0)
    with pytest.raises(ValueError):
        explain(bp, step.weights, spec, "nope", 0, 0, 0)
