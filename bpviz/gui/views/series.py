"""A bounded time series for long training runs (loss and gradient-norm curves).

:class:`DecimatedSeries` keeps at most ``cap`` points whatever the number of
steps, by min/max decimation: it stores every value until ``cap`` are held,
then merges neighbouring pairs into buckets that keep their least and their
greatest value (each at its own x), and from then on gathers ``stride`` new
values per bucket, doubling the stride at each merge. A spike or a dip is never
averaged away; memory and drawing cost stay constant; the last point is always
the latest value (a bucket still filling is shown by it).
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_CAP = 4096


class DecimatedSeries:
    """At most ``cap`` points (x, y) (plus the latest value); non-finite y values are skipped.

    Storage: ``n`` buckets, each its minimum ``(x_lo, y_lo)`` and maximum
    ``(x_hi, y_hi)``; a bucket of one value has both equal and is drawn as one
    point. While ``stride == 1`` up to ``cap`` buckets, afterwards ``cap / 2``.
    """

    def __init__(self, cap: int = DEFAULT_CAP) -> None:
        if cap < 4 or cap % 4:
            raise ValueError("cap must be a multiple of 4, at least 4")
        self.cap = cap
        self._xl = np.empty(cap, dtype=np.float64)
        self._yl = np.empty(cap, dtype=np.float64)
        self._xh = np.empty(cap, dtype=np.float64)
        self._yh = np.empty(cap, dtype=np.float64)
        self.clear()

    def clear(self) -> None:
        self._n = 0
        self.stride = 1
        self._cnt = 0  # values in the bucket being filled
        self._lo = (0.0, math.inf)
        self._hi = (0.0, -math.inf)
        self._last = (0.0, 0.0)
        self.total = 0  # values accepted since the last clear

    def _room(self) -> int:
        return self.cap if self.stride == 1 else self.cap // 2

    def __len__(self) -> int:
        return len(self.data()[0])

    def append(self, x: float, y: float) -> None:
        y = float(y)
        if not math.isfinite(y):
            return
        x = float(x)
        self.total += 1
        self._cnt += 1
        self._last = (x, y)
        if y < self._lo[1]:
            self._lo = (x, y)
        if y > self._hi[1]:
            self._hi = (x, y)
        if self._cnt >= self.stride:
            while self._n >= self._room():
                self._merge()
            n = self._n
            self._xl[n], self._yl[n] = self._lo
            self._xh[n], self._yh[n] = self._hi
            self._n += 1
            self._cnt = 0
            self._lo, self._hi = (0.0, math.inf), (0.0, -math.inf)

    def extend(self, xs: np.ndarray, ys: np.ndarray) -> None:
        """``append(x, y)`` for each pair in order, the same result, in bulk: the GUI
        takes a frame's records (hundreds at full speed) at once. ``xs``, ``ys``: (N,)."""
        xs = np.asarray(xs, dtype=np.float64)
        ys = np.asarray(ys, dtype=np.float64)
        ok = np.isfinite(ys)
        if not ok.all():
            xs, ys = xs[ok], ys[ok]
        n, i = len(ys), 0
        while i < n:
            if self.stride == 1 and self._cnt == 0 and self._n < self._room():
                # one value per bucket: copy as many as there is room for
                k = min(n - i, self._room() - self._n)
                b = slice(self._n, self._n + k)
                self._xl[b] = self._xh[b] = xs[i:i + k]
                self._yl[b] = self._yh[b] = ys[i:i + k]
                self._n += k
                self.total += k
                self._last = (float(xs[i + k - 1]), float(ys[i + k - 1]))
                i += k
                continue
            if self.stride == 1:          # a full store: append merges, as one value would
                self.append(xs[i], ys[i])
                i += 1
                continue
            take = min(self.stride - self._cnt, n - i)   # the rest of the filling bucket
            cx, cy = xs[i:i + take], ys[i:i + take]
            j = int(np.argmin(cy))        # the first least / greatest, as append's < and >
            if cy[j] < self._lo[1]:
                self._lo = (float(cx[j]), float(cy[j]))
            j = int(np.argmax(cy))
            if cy[j] > self._hi[1]:
                self._hi = (float(cx[j]), float(cy[j]))
            self._cnt += take
            self.total += take
            self._last = (float(cx[-1]), float(cy[-1]))
            i += take
            if self._cnt >= self.stride:
                while self._n >= self._room():
                    self._merge()
                m = self._n
                self._xl[m], self._yl[m] = self._lo
                self._xh[m], self._yh[m] = self._hi
                self._n += 1
                self._cnt = 0
                self._lo, self._hi = (0.0, math.inf), (0.0, -math.inf)

    def _merge(self) -> None:
        """Pairs of buckets into one: the least of both minima, the greatest of both maxima."""
        n = self._n
        h = n // 2
        a, b = slice(0, n - 1, 2), slice(1, n, 2)
        take_a = self._yl[a] <= self._yl[b]
        xl = np.where(take_a, self._xl[a], self._xl[b])
        yl = np.where(take_a, self._yl[a], self._yl[b])
        take_a = self._yh[a] >= self._yh[b]
        xh = np.where(take_a, self._xh[a], self._xh[b])
        yh = np.where(take_a, self._yh[a], self._yh[b])
        self._xl[:h], self._yl[:h], self._xh[:h], self._yh[:h] = xl, yl, xh, yh
        self._n = h
        self.stride *= 2

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` copies in x order: each bucket's minimum and maximum, then the latest
        value unless it is already the last point."""
        n = self._n
        xl, yl, xh, yh = self._xl[:n], self._yl[:n], self._xh[:n], self._yh[:n]
        lo_first = xl <= xh
        x = np.empty((n, 2))
        y = np.empty((n, 2))
        x[:, 0] = np.where(lo_first, xl, xh)
        y[:, 0] = np.where(lo_first, yl, yh)
        x[:, 1] = np.where(lo_first, xh, xl)
        y[:, 1] = np.where(lo_first, yh, yl)
        keep = np.ones((n, 2), dtype=bool)
        keep[:, 1] = xl != xh  # one value: one point
        x, y = x[keep], y[keep]
        # the latest value ends the curve: a bucket still filling is shown by it, and a
        # closed bucket whose extremes came earlier would otherwise end before it
        if self.total and (not len(x) or x[-1] != self._last[0]):
            x = np.append(x, self._last[0])
            y = np.append(y, self._last[1])
        return x, y

    def last(self) -> float | None:
        """The latest value, or None."""
        return self._last[1] if self.total else None
