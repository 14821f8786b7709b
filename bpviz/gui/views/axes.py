"""Axes that read well from the back row.

- :func:`index_ticks` for matrix indices (the heatmaps' axes): ticks only on
  whole, 1-based indices, the ends (1 and the size) always labelled.
- :class:`LogAxis` for log-y plots: labels only at 1, 2 and 5 times a power of
  ten, written as plain numbers (``0.02``, ``1``, ``500``, ``1e−05``).
"""

from __future__ import annotations

import math

import pyqtgraph as pg

SPACINGS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)


def index_ticks(lo: int, hi: int, max_ticks: float) -> tuple[int, list[int]]:
    """``(spacing, values)``: ``lo`` and ``hi`` plus round multiples that fit between them.

    >>> index_ticks(1, 128, 8)
    (20, [1, 20, 40, 60, 80, 100, 128])
    >>> index_ticks(1, 32, 1.5)
    (50, [1, 32])
    """
    if hi < lo:
        return 1, []
    span = hi - lo + 1
    spacing = next((s for s in SPACINGS if span / s <= max(max_ticks, 1.0)), SPACINGS[-1])
    inner = range(spacing * math.ceil(lo / spacing), hi + 1, spacing)
    vals = [lo] + [v for v in inner if v - lo >= 0.6 * spacing and hi - v >= 0.6 * spacing]
    if hi != lo and (max_ticks >= 1.5 or hi - lo <= 1):
        vals.append(hi)
    return spacing, vals


def log_label(exponent: float) -> str:
    """Label of the log-axis tick at ``10**exponent``: '' unless it is 1, 2 or 5 × 10^k.

    >>> [log_label(v) for v in (-2.0, -1.69897, -1.5, 0.0, 2.69897, -5.0)]
    ['0.01', '0.02', '', '1', '500', '1e−05']
    """
    x = 10.0**exponent
    k = math.floor(exponent + 1e-9)
    mant = x / 10.0**k
    if min(abs(mant - m) for m in (1, 2, 5)) > 1e-3 * mant:
        return ""
    return f"{x:.3g}".replace("-", "−")


class LogAxis(pg.AxisItem):
    """A log-mode axis labelled only at 1, 2, 5 × 10^k; other minor ticks stay unlabelled."""

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph API)
        return [log_label(v) for v in values]
