"""Timing loop against vectorized backprop on the same mini-batch.

Times are synchronised for CuPy (the backend's timer waits for the device),
taken after a warm-up, and reported as min and median of repeats.
"""

from __future__ import annotations

import statistics
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


def compare_methods(net: Network, X: Any, Y: Any, repeats: int = 3, warmup: int = 1
                    ) -> Comparison:
    """Time ``net``'s loop and vectorized backprop on one batch and compare dW.

    ``max_abs_diff`` is ``max |dW_loop − dW_vec|`` over every layer's per-use dW.
    """
    X, Y = net.prepare(X, Y)
    res: dict[str, Any] = {}

    def run(method: str) -> None:
        res[method] = net._backprop(X, Y, method)

    for _ in range(warmup):
        run("vectorized")
        run("loop")
    t_vec = time_call(lambda: run("vectorized"), net.backend, repeats)
    t_loop = time_call(lambda: run("loop"), net.backend, repeats)
    h = net.backend.to_host
    diff = max(
        float(np.max(np.abs(h(lv[4]) - h(lp[4])))) if lv[4].size else 0.0
        for lv, lp in zip(res["vectorized"][1], res["loop"][1])
    )
    return Comparison(min(t_loop), min(t_vec), statistics.median(t_loop),
                      statistics.median(t_vec), diff, int(X.shape[0]))
