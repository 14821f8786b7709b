"""A bounded time series for long training runs (loss and gradient-norm curves).

:class:`DecimatedSeries` keeps at most ``cap`` points whatever the number of
steps: it stores every value until full, then merges neighbouring pairs
(mean of y, later x) and from then on averages ``stride`` new values into one
point, doubling the stride at each merge. Memory and drawing cost stay
constant, the curve keeps its shape, and the last point is always the latest
value (a partial bin is shown as it fills).
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_CAP = 4096


class DecimatedSeries:
    """At most ``cap`` points (x, y); non-finite y values are skipped."""

    def __init__(self, cap: int = DEFAULT_CAP) -> None:
        if cap < 4 or cap % 2:
            raise ValueError("cap must be an even number >= 4")
        self.cap = cap
        self._x = np.empty(cap, dtype=np.float64)
        self._y = np.empty(cap, dtype=np.float64)
        self.clear()

    def clear(self) -> None:
        self._n = 0
        self.stride = 1
        self._acc = 0.0
        self._cnt = 0
        self._last_x = 0.0
        self.total = 0  # values accepted since the last clear

    def __len__(self) -> int:
        return self._n + (1 if self._cnt else 0)

    def append(self, x: float, y: float) -> None:
        y = float(y)
        if not math.isfinite(y):
            return
        self.total += 1
        self._acc += y
        self._cnt += 1
        self._last_x = float(x)
        if self._cnt >= self.stride:
            if self._n == self.cap:
                self._merge()
            self._x[self._n] = self._last_x
            self._y[self._n] = self._acc / self._cnt
            self._n += 1
            self._acc, self._cnt = 0.0, 0

    def _merge(self) -> None:
        h = self.cap // 2
        self._x[:h] = self._x[1:self.cap:2]
        self._y[:h] = 0.5 * (self._y[0:self.cap:2] + self._y[1:self.cap:2])
        self._n = h
        self.stride *= 2

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` copies, the partial last bin included."""
        x, y = self._x[:self._n], self._y[:self._n]
        if self._cnt:
            x = np.append(x, self._last_x)
            y = np.append(y, self._acc / self._cnt)
        else:
            x, y = x.copy(), y.copy()
        return x, y

    def last(self) -> float | None:
        if self._cnt:
            return self._acc / self._cnt
        return float(self._y[self._n - 1]) if self._n else None
