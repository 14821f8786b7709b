"""bpviz's gradients against PyTorch autograd (float64), tied weights included.

PyTorch builds the same network from the same weights with its own layers and
losses; autograd differentiates it. Skipped where torch is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import HIDDEN, OUTPUTS, make_spec, random_batch, random_net, rel_diff

torch = pytest.importorskip("torch")
F = torch.nn.functional

ACT = {
    "identity": lambda z: z,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
}


def torch_grads(net, X, Y):
    """Loss and gradients of ``net``'s weights by autograd (tied layers share tensors)."""
    spec = net.spec
    params = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for k, v in net.get_weights().items()}
    a = torch.tensor(X)
    y = torch.tensor(Y)
    z = None
    for i, ly in enumerate(spec.layers):
        o = spec.owner(i)
        z = F.linear(a, params[f"W{o}"], params[f"b{o}"])
        a = z if ly.activation == "softmax" else ACT[ly.activation](z)
    red = spec.reduction
    if spec.loss == "cross_entropy":
        loss = F.cross_entropy(z, y, reduction=red)           # softmax inside, from z
    elif spec.loss == "binary_cross_entropy":
        loss = F.binary_cross_entropy_with_logits(z, y, reduction="sum")
        loss = loss / len(X) if red == "mean" else loss
    else:
        loss = 0.5 * ((a - y) ** 2).sum()
        loss = loss / len(X) if red == "mean" else loss
    loss.backward()
    return loss.item(), {k: p.grad.numpy() for k, p in params.items()}


CASES = [
    ("tanh", ("softmax", "cross_entropy"), "mean", {}),
    ("relu", ("softmax", "cross_entropy"), "sum", {}),
    ("leaky_relu", ("sigmoid", "binary_cross_entropy"), "mean", {}),
    ("sigmoid", ("identity", "squared_error"), "sum", {}),
    ("identity", ("tanh", "squared_error"), "mean", {}),
    ("tanh", ("relu", "squared_error"), "mean", {}),
    ("relu", ("leaky_relu", "squared_error"), "sum", {}),
    ("sigmoid", ("sigmoid", "squared_error"), "mean", {}),
    ("tanh", ("softmax", "cross_entropy"), "mean", {2: 1}),
    ("relu", ("identity", "squared_error"), "sum", {2: 1, 3: 1}),
]


@pytest.mark.parametrize(("hidden", "output", "reduction", "ties"), CASES,
                         ids=[f"{c[0]}-{c[1][0]}-{c[2]}{'-tied' if c[3] else ''}" for c in CASES])
@pytest.mark.parametrize("method", ["vectorized", "loop"])
def test_gradients_match_autograd(hidden, output, reduction, ties, method):
    out_act, loss = output
    rng = np.random.default_rng(len(hidden) + 7 * len(ties))
    spec = make_spec(5, [(6, hidden)] * 4, (4, out_act), loss, reduction,
                     ties=ties)
    net = random_net(spec, 11)
    X, Y = random_batch(spec, 9, rng)
    rec = net.backprop(X, Y, method)
    t_loss, t_grads = torch_grads(net, X, Y)
    assert rec.loss == pytest.approx(t_loss, rel=1e-12)
    assert rec.grads.keys() == t_grads.keys()
    for k, g in t_grads.items():
        assert rel_diff(rec.grads[k], g) < 1e-10, (k, rel_diff(rec.grads[k], g))


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("output", OUTPUTS, ids=[f"{a}-{b}" for a, b in OUTPUTS])
def test_every_pairing_matches_autograd(hidden, output):
    spec = make_spec(3, [(5, hidden)], (3, output[0]), output[1])
    net = random_net(spec, 2)
    X, Y = random_batch(spec, 6, np.random.default_rng(2))
    rec = net.backprop(X, Y)
    t_loss, t_grads = torch_grads(net, X, Y)
    assert rec.loss == pytest.approx(t_loss, rel=1e-12)
    for k, g in t_grads.items():
        assert rel_diff(rec.grads[k], g) < 1e-10, k


def test_float32_gradients_match_autograd_to_float32_rounding():
    spec = make_spec(20, [(32, "relu"), (32, "tanh")], (10, "softmax"), "cross_entropy")
    net = random_net(spec, 4, dtype="float32")
    X, Y = random_batch(spec, 64, np.random.default_rng(4))
    rec = net.backprop(X, Y)
    t_loss, t_grads = torch_grads(net, X, Y)            # float64 reference on float32 weights
    assert rec.loss == pytest.approx(t_loss, rel=1e-5)
    for k, g in t_grads.items():
        assert rel_diff(rec.grads[k], g) < 1e-5, k


# ---------------------------------------------------------------- optimizers
def _grad_of(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A gradient that depends on where the parameters are (a smooth bowl with
    ripples), so both optimizers follow their own trajectories for 200 steps."""
    return {k: 0.7 * (p - 0.3) + 0.2 * np.sin(3.0 * p) + 0.05 * p.sum() for k, p in params.items()}


def _start() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {"W0": rng.normal(size=(4, 3)), "b0": rng.normal(size=4),
            "W1": rng.normal(size=(2, 4)), "b1": rng.normal(size=2)}


def _torch_run(name: str, hyper: dict, l1: float, l2: float, steps: int) -> dict[str, np.ndarray]:
    """The same run with torch.optim. Our settings map to torch's as follows:
    ``l2`` is ``weight_decay`` (L2 added to the gradient) in a parameter group
    of the weights only; ``l1`` is ``l1·sign(W)`` added to the weights' gradient
    before the step; ``momentum`` is SGD's with ``dampening=0, nesterov=False``."""
    ts = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in _start().items()}
    groups = [{"params": [p for k, p in ts.items() if k[0] == "W"], "weight_decay": l2},
              {"params": [p for k, p in ts.items() if k[0] == "b"], "weight_decay": 0.0}]
    if name == "adam":
        opt = torch.optim.Adam(groups, lr=hyper["lr"], betas=(hyper["beta1"], hyper["beta2"]),
                               eps=hyper["eps"])
    else:
        opt = torch.optim.SGD(groups, lr=hyper["lr"], momentum=hyper.get("momentum", 0.0),
                              dampening=0.0, nesterov=False)
    for _ in range(steps):
        grads = _grad_of({k: p.detach().numpy().copy() for k, p in ts.items()})
        for k, p in ts.items():
            g = torch.tensor(grads[k])
            if k[0] == "W" and l1:
                g = g + l1 * torch.sign(p.detach())
            p.grad = g
        opt.step()
    return {k: p.detach().numpy() for k, p in ts.items()}


OPT_CASES = [
    ("sgd", {"lr": 0.05}),
    ("momentum", {"lr": 0.02, "momentum": 0.9}),
    ("adam", {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
    ("adam", {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-3}),  # eps that matters
]


@pytest.mark.parametrize(("l1", "l2"), [(0.0, 0.0), (0.0, 0.05), (0.02, 0.0), (0.02, 0.05)],
                         ids=["plain", "l2", "l1", "l1+l2"])
@pytest.mark.parametrize(("name", "hyper"), OPT_CASES,
                         ids=["sgd", "momentum", "adam", "adam-eps1e-3"])
def test_optimizers_match_torch_optim_over_200_steps(name, hyper, l1, l2):
    from bpviz.engine.optim import make_optimizer

    opt = make_optimizer(name, l1=l1, l2=l2, **hyper)
    params = _start()
    for _ in range(200):
        opt.step(params, _grad_of(params), np)
    ref = _torch_run(name, hyper, l1, l2, 200)
    moved = max(np.abs(ref[k] - v).max() for k, v in _start().items())
    assert moved > 0.1                                  # the runs went somewhere
    for k, p in params.items():
        assert p.dtype == np.float64
        assert rel_diff(p, ref[k]) < 1e-10, (k, rel_diff(p, ref[k]))


# ---------------------------------------------------------------- losses at extreme logits
def _ce_cases():
    rng = np.random.default_rng(5)
    wide = rng.normal(size=(16, 4)) * 300.0           # probabilities far below the subnormals
    return {
        "ties-at-1000": (np.array([[-1000.0, 1000.0, 1000.0]]), np.array([1])),
        "gap-745": (np.array([[0.0, -745.0, 3.0], [2.0, 1.0, -740.0]]), np.array([1, 2])),
        "mixed": (np.vstack([rng.normal(size=(6, 3)) * 3.0, [[-1000.0, 1000.0, 1000.0]],
                             [[0.0, -745.0, 3.0]]]), np.array([0, 1, 2, 0, 1, 2, 1, 1])),
        "wide": (wide, rng.integers(0, 4, 16)),
    }


CE = _ce_cases()
TOL_OF = {"float64": 1e-12, "float32": 1e-6}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(CE))
def test_cross_entropy_matches_torch_at_extreme_logits(case, dtype):
    from bpviz.engine.functions import activate, sample_losses, total_loss

    z, lab = CE[case]
    z = z.astype(dtype)
    y = np.eye(z.shape[1], dtype=dtype)[lab]
    a = activate("softmax", z, np)
    zt = torch.tensor(z.astype(np.float64))          # the exact reference on the same inputs
    ref_each = F.cross_entropy(zt, torch.tensor(lab), reduction="none").numpy()
    tol = TOL_OF[dtype]
    assert total_loss("cross_entropy", z, a, y, np) == pytest.approx(ref_each.sum(), rel=tol)
    # per sample, a cost well below 1 is held to a few ulps of 1 instead: log Σ e^s
    # of a nearly certain sample carries that much (torch float32 is 1.4e-6 off
    # on the first "mixed" sample, C = 0.035)
    ulps = 4 * float(np.finfo(dtype).eps)
    each = sample_losses("cross_entropy", z, a, y, np)
    np.testing.assert_allclose(each, ref_each, rtol=tol, atol=ulps)
    # and one sample at a time, as the loop path calls it
    for k in range(len(z)):
        C = total_loss("cross_entropy", z[k], a[k], y[k], np)
        assert C == pytest.approx(ref_each[k], rel=tol, abs=ulps), k


def _bce_cases():
    rng = np.random.default_rng(6)
    return {
        "800-right": (np.array([[800.0], [0.3], [-1.2], [2.0]]), np.array([[1.0], [1], [0], [0]])),
        "tails": (np.array([[800.0, -800.0, 30.0, -30.0, 0.5, -2.0]]),
                  np.array([[1.0, 0, 1, 0, 1, 0]])),
        "800-wrong": (np.array([[800.0, -800.0], [0.1, 0.2]]), np.array([[0.0, 1], [1, 0]])),
        "random": (rng.normal(size=(12, 3)) * 20.0, rng.integers(0, 2, (12, 3)).astype(float)),
    }


BCE = _bce_cases()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(BCE))
def test_binary_cross_entropy_matches_torch_at_extreme_logits(case, dtype):
    from bpviz.engine.functions import activate, sample_losses, total_loss

    z, y = (v.astype(dtype) for v in BCE[case])
    a = activate("sigmoid", z, np)
    ref = F.binary_cross_entropy_with_logits(torch.tensor(z.astype(np.float64)),
                                             torch.tensor(y.astype(np.float64)),
                                             reduction="none").numpy()
    tol = TOL_OF[dtype]
    assert total_loss("binary_cross_entropy", z, a, y, np) == pytest.approx(ref.sum(), rel=tol)
    np.testing.assert_allclose(sample_losses("binary_cross_entropy", z, a, y, np),
                               ref.sum(axis=1), rtol=tol, atol=4 * float(np.finfo(dtype).eps))
