"""bpviz's vectorized forward+backward against PyTorch and against the GEMM floor.

What is timed, per network (float32, one mini-batch of K samples):

* **bpviz**: ``net.gradients(X, Y, "vectorized")`` on prepared arrays, i.e.
  what one training step costs without the optimizer update: forward, loss,
  ``δ`` of every layer, ``dW``/``db`` with the 1/K of the mean.
* **torch**: the same weights as leaf tensors, ``F.linear`` + ReLU +
  ``F.cross_entropy`` forward and ``loss.backward()`` (``.grad`` reset to None
  before each call).
* **GEMM floor**: only the matrix products of the step, done with the backend
  on the same shapes: forward ``a Wᵀ``, ``dW = δᵀ a`` and ``dX = δ W`` (not for
  the first layer). Nothing else can be cheaper than this.

With ``--update`` both contenders also apply the plain gradient-descent update
``W -= η·dW`` to every parameter (bpviz's SGD optimizer; torch's in-place
``p.sub_(η·p.grad)``): a whole training step on a prepared batch. The floor
stays the products alone.

One thread each (``torch.set_num_threads(1)``; BLAS and OpenMP limited to one
thread with threadpoolctl), interleaved A/B/C in one run (the order rotates
every round), each sample a block of calls long enough to time, min and
median over the rounds. CuPy (``--backend cupy``) is synchronised at the end
of every block; torch then runs on CUDA if it can, and is left out otherwise.

Usage::

    python benchmarks/engine_vs_torch.py                 # NumPy vs torch CPU
    python benchmarks/engine_vs_torch.py --rounds 60     # more rounds, steadier
    python benchmarks/engine_vs_torch.py --backend cupy  # on a GPU
    python benchmarks/engine_vs_torch.py --update        # with the SGD update

The goals are the NumPy backend's, for the backprop alone; other runs print
their ratios without a verdict.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

try:
    import bpviz  # noqa: F401
except ImportError:  # a source checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bpviz.engine import LayerSpec, Network, NetworkSpec, get_backend
from bpviz.engine.optim import Optimizer

#: the learning rate of ``--update`` (small: the weights barely move over a run)
UPDATE_LR = 1e-6

#: (sizes, K, goal vs torch, goal vs GEMM floor or None)
NETS: list[tuple[tuple[int, ...], int, float | None, float | None]] = [
    ((2, 8, 8, 2), 32, 0.5, None),
    ((64, 32, 10), 128, 0.5, None),
    ((784, 128, 10), 256, 0.9, 1.15),
    ((784, 512, 512, 10), 256, 1.0, 1.15),
    ((784, 512, 512, 10), 32, None, None),   # the window's big network (big_network.py)
]


def make_spec(sizes: tuple[int, ...]) -> NetworkSpec:
    """ReLU hidden layers, softmax + cross-entropy output."""
    hidden = [LayerSpec(u, "relu") for u in sizes[1:-1]]
    return NetworkSpec(sizes[0], [*hidden, LayerSpec(sizes[-1], "softmax")],
                       loss="cross_entropy")


# ---------------------------------------------------------------- contenders
def bpviz_step(net: Network, X: Any, Y: Any, update: bool = False) -> Callable[[], Any]:
    backprop, sgd = net.gradients, Optimizer(lr=UPDATE_LR)

    def step() -> Any:
        result = backprop(X, Y, "vectorized")
        if update:
            sgd.step(net.params, result.grads, net.xp)
        return result
    return step


def torch_step(torch: Any, net: Network, X: np.ndarray, labels: np.ndarray,
               device: str, update: bool = False) -> tuple[Callable[[], Any], list[Any]]:
    F = torch.nn.functional
    w = net.get_weights()
    params = []
    for i in range(net.n_layers):
        params.append(torch.tensor(w[f"W{i}"], device=device, requires_grad=True))
        params.append(torch.tensor(w[f"b{i}"], device=device, requires_grad=True))
    Xt = torch.tensor(X, device=device)
    yt = torch.tensor(labels, dtype=torch.long, device=device)
    last = net.n_layers - 1

    def step() -> Any:
        for p in params:
            p.grad = None
        a = Xt
        for i in range(last + 1):
            a = F.linear(a, params[2 * i], params[2 * i + 1])
            if i < last:
                a = F.relu(a)
        loss = F.cross_entropy(a, yt)
        loss.backward()
        if update:
            with torch.no_grad():
                for p in params:
                    p.sub_(UPDATE_LR * p.grad)
        return loss
    return step, params


def gemm_floor_step(xp: Any, sizes: tuple[int, ...], K: int) -> Callable[[], Any]:
    """The matrix products of one step and nothing else."""
    rng = np.random.default_rng(1)
    arr = lambda *s: xp.asarray(rng.standard_normal(s, dtype=np.float32))  # noqa: E731
    acts = [arr(K, n) for n in sizes]                         # a^0 .. a^L  (K, n_l)
    Ws = [arr(sizes[l + 1], sizes[l]) for l in range(len(sizes) - 1)]   # (m, n)
    deltas = [arr(K, sizes[l + 1]) for l in range(len(sizes) - 1)]      # (K, m)
    L = len(Ws)

    def step() -> Any:
        out = None
        for l in range(L):
            out = acts[l] @ Ws[l].T                 # forward   (K, m)
        for l in range(L - 1, -1, -1):
            out = deltas[l].T @ acts[l]              # dW        (m, n)
            if l > 0:
                out = deltas[l] @ Ws[l]              # dX        (K, n)
        return out
    return step


# ---------------------------------------------------------------- timing
#: the clock of the timed blocks: wall time, or the CPU time of this thread
#: (every contender runs on the calling thread with one thread each, so the CPU
#: clock leaves out the time other processes take on a busy machine)
CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}
clock = time.perf_counter


def block_time(fn: Callable[[], Any], n: int, sync: Callable[[], None]) -> float:
    """Seconds per call of ``fn`` over a block of ``n`` calls (synchronised)."""
    sync()
    t0 = clock()
    for _ in range(n):
        fn()
    sync()
    return (clock() - t0) / n


def calibrate(fn: Callable[[], Any], sync: Callable[[], None], block_s: float) -> int:
    """Calls per block so that one block lasts about ``block_s`` seconds."""
    n = 1
    while True:
        t = block_time(fn, n, sync) * n
        if t >= block_s or n >= 1 << 16:
            return n
        n = max(n * 2, int(n * block_s / max(t, 1e-9) * 1.1))


def interleaved(contenders: dict[str, Callable[[], Any]], syncs: dict[str, Callable[[], None]],
                rounds: int, n: int) -> dict[str, list[float]]:
    """Per-call seconds of every contender, one block each per round, order rotating."""
    names = list(contenders)
    times: dict[str, list[float]] = {k: [] for k in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for k in order:
            times[k].append(block_time(contenders[k], n, syncs[k]))
    return times


# ---------------------------------------------------------------- checks
def max_rel_diff(net: Network, grads: dict[str, Any], params: list[Any]) -> float:
    """Largest ``|g_bpviz − g_torch| / max|g_torch|`` over every parameter."""
    worst = 0.0
    for i in range(net.n_layers):
        for key, p in ((f"W{i}", params[2 * i]), (f"b{i}", params[2 * i + 1])):
            g = net.backend.to_host(grads[key]).astype(np.float64)
            t = p.grad.detach().cpu().numpy().astype(np.float64)
            worst = max(worst, float(np.abs(g - t).max() / max(np.abs(t).max(), 1e-30)))
    return worst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", default="numpy", choices=("numpy", "cupy"))
    ap.add_argument("--rounds", type=int, default=40, help="interleaved rounds (samples)")
    ap.add_argument("--block-ms", type=float, default=20.0,
                    help="length of one timed block of calls")
    ap.add_argument("--threads", type=int, default=1, help="BLAS/torch threads")
    ap.add_argument("--clock", default="wall", choices=tuple(CLOCKS),
                    help="wall time, or this thread's CPU time (steadier on a busy machine; "
                         "only with one thread and --backend numpy)")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    ap.add_argument("--update", action="store_true",
                    help="time a whole training step: the backprop and the SGD update")
    ap.add_argument("--nets", default="all",
                    help="comma-separated indices into the list of networks (0-4)")
    args = ap.parse_args(argv)
    if args.clock == "cpu" and (args.backend != "numpy" or args.threads != 1):
        ap.error("--clock cpu needs --backend numpy and --threads 1")
    global clock
    clock = CLOCKS[args.clock]

    from threadpoolctl import threadpool_info, threadpool_limits

    be = get_backend(args.backend)
    torch = None
    device = "cuda" if be.name == "cupy" else "cpu"
    if not args.no_torch:
        try:
            import torch  # type: ignore[no-redef]
            torch.set_num_threads(args.threads)
            if device == "cuda" and not torch.cuda.is_available():
                print("torch has no CUDA here: torch left out")
                torch = None
        except Exception as exc:  # ImportError, or a broken install
            print(f"torch cannot be used ({type(exc).__name__}): pip install 'bpviz[bench]'")
            torch = None

    def torch_sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    picked = NETS if args.nets == "all" else [NETS[int(i)] for i in args.nets.split(",")]
    rows = []
    with threadpool_limits(limits=args.threads):
        blas = ", ".join(f"{p['internal_api']} {p.get('version') or ''} ({p['num_threads']} thr)"
                         for p in threadpool_info())
        print(f"backend: {be.message}; numpy {np.__version__}; "
              + (f"torch {torch.__version__} on {device}" if torch else "no torch"))
        print(f"thread pools: {blas}")
        print(f"{args.rounds} interleaved rounds, blocks of ~{args.block_ms:g} ms, "
              f"{args.clock} clock\n")
        for sizes, K, goal_torch, goal_floor in picked:
            net = Network(make_spec(sizes), seed=0, dtype="float32", backend=be)
            rng = np.random.default_rng(0)
            Xh = rng.standard_normal((K, sizes[0])).astype(np.float32)
            labels = rng.integers(0, sizes[-1], K)
            X, Y = net.prepare(Xh, labels)
            contenders = {"bpviz": bpviz_step(net, X, Y, args.update),
                          "floor": gemm_floor_step(be.xp, sizes, K)}
            syncs = {"bpviz": be.synchronize, "floor": be.synchronize}
            check = float("nan")
            if torch is not None:
                contenders["torch"], params = torch_step(torch, net, Xh, labels, device)
                syncs["torch"] = torch_sync
                contenders["torch"]()
                check = max_rel_diff(net, contenders["bpviz"]().grads, params)
                if args.update:
                    contenders["torch"], params = torch_step(torch, net, Xh, labels, device,
                                                             update=True)
            for k, fn in contenders.items():         # warm up (CuPy compiles kernels)
                block_time(fn, 3, syncs[k])
            n = calibrate(contenders["bpviz"], be.synchronize, args.block_ms / 1000)
            t = interleaved(contenders, syncs, args.rounds, n)
            if args.update or be.name != "numpy":   # the goals are NumPy's, backprop alone
                goal_torch = goal_floor = None
            rows.append((sizes, K, goal_torch, goal_floor, n, t, check))
            print_row(rows[-1])
    print()
    print_table(rows, be.name, args.clock, args.update)
    return 0


def _stats(ts: list[float]) -> tuple[float, float]:
    return min(ts) * 1e3, statistics.median(ts) * 1e3


def print_row(row: tuple) -> None:
    sizes, K, _, _, n, t, check = row
    parts = [f"{k} {a:.4f}/{b:.4f} ms" for k, (a, b) in ((k, _stats(v)) for k, v in t.items())]
    print(f"{'-'.join(map(str, sizes))} K={K}: {n} calls/block; " + "; ".join(parts)
          + ("" if math.isnan(check) else f"; grad rel diff vs torch {check:.1e}"))


def print_table(rows: list[tuple], backend: str, clock_name: str, update: bool = False) -> None:
    """The Markdown table of the README: times, ratios (of the mins, of the medians), goals."""
    with_torch = bool(rows) and "torch" in rows[0][5]
    what = "forward+backward+update" if update else "forward+backward"
    print(f"backend {backend}, float32, ms per {what} ({clock_name} clock, min / median)")
    print("| network | K | bpviz | torch | GEMM floor | bpviz/torch | goal "
          "| bpviz/floor | goal |")
    print("|---|---|---|---|---|---|---|---|---|")

    def verdict(ratio: tuple[float, float], goal: float | None) -> str:
        if goal is None:
            return "–"
        return f"≤ {goal}×: " + ("met" if max(ratio) <= goal else "MISSED")

    for sizes, K, goal_torch, goal_floor, _, t, _ in rows:
        b, f = _stats(t["bpviz"]), _stats(t["floor"])
        rf = (b[0] / f[0], b[1] / f[1])
        if with_torch:
            tt = _stats(t["torch"])
            rt = (b[0] / tt[0], b[1] / tt[1])
            torch_cells = [f"{tt[0]:.4f} / {tt[1]:.4f}", f"{rt[0]:.2f}× / {rt[1]:.2f}×",
                           verdict(rt, goal_torch)]
        else:
            torch_cells = ["–", "–", "–"]
        cells = ["-".join(map(str, sizes)), str(K), f"{b[0]:.4f} / {b[1]:.4f}",
                 torch_cells[0], f"{f[0]:.4f} / {f[1]:.4f}", *torch_cells[1:],
                 f"{rf[0]:.2f}× / {rf[1]:.2f}×", verdict(rf, goal_floor)]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    raise SystemExit(main())
