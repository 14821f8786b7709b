"""Timing loop against vectorized backprop on the same mini-batch.

Times are synchronised for CuPy (the backend's timer waits for the device),
taken after a warm-up, interleaved (vectorized, loop, vectorized, loop, ...)
so that both methods see the same machine state, and reported as min and
median of repeats. Sweeps over many batch sizes or widths live in
:mod:`bpviz.engine.sweep`.
"""

from __future__ import annotations

import statistics
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from .network import Network


@dataclass(frozen=True)
class Comparison:
    """Both methods on one mini-batch: times in ms and the largest |dW difference|."""

    loop_ms: float
    vectorized_ms: float
    loop_median_ms: float
    vectorized_median_ms: float
    max_abs_diff: float
    batch_size: int

    @property
    def speedup(self) -> float:
        return self.loop_ms / self.vectorized_ms if self.vectorized_ms > 0 else float("inf")


def time_call(fn: Any, backend: Any, repeats: int) -> list[float]:
    """Milliseconds of ``repeats`` synchronised calls of ``fn()``."""
    out = []
    for _ in range(repeats):
        t0 = backend.timer()
        fn()
        out.append((backend.timer() - t0) * 1000.0)
    return out


def compare_methods(net: Network, X: Any, Y: Any, repeats: int = 3, warmup: int = 1,
                    cancel: threading.Event | None = None) -> Comparison:
    """Time ``net``'s loop and vectorized backprop on one batch and compare dW.

    Parameters
    ----------
    net : the network (its weights are read, never changed).
    X, Y : one mini-batch, (K, n₀) and targets or labels.
    repeats : timed calls of each method, interleaved; min and median reported.
    warmup : untimed calls of each method first (CuPy compiles kernels then).
    cancel : when set between repeats, stop early (at least one repeat is kept).

    ``max_abs_diff`` is ``max |dW_loop − dW_vec|`` over every layer's per-use dW.
    """
    X, Y = net.prepare(X, Y)
    res: dict[str, Any] = {}

    def run(method: str) -> None:
        res[method] = net.gradients(X, Y, method)

    def vec() -> None:
        run("vectorized")

    def loop() -> None:
        run("loop")

    for _ in range(warmup):
        vec()
        loop()
    t_vec: list[float] = []
    t_loop: list[float] = []
    for r in range(max(1, int(repeats))):
        if r > 0 and cancel is not None and cancel.is_set():
            break
        t_vec += time_call(vec, net.backend, 1)
        t_loop += time_call(loop, net.backend, 1)
    h = net.backend.to_host
    diff = max(
        float(np.max(np.abs(h(lv.dW) - h(lp.dW)))) if lv.dW.size else 0.0
        for lv, lp in zip(res["vectorized"].layers, res["loop"].layers, strict=True)
    )
    return Comparison(min(t_loop), min(t_vec), statistics.median(t_loop),
                      statistics.median(t_vec), diff, int(X.shape[0]))
