"""DecimatedSeries.extend: the bulk form of append, equal to it point for point."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.gui.views.series import DecimatedSeries


@pytest.mark.parametrize("cap", [4, 8, 16, 64])
def test_extend_in_chunks_equals_append_one_by_one(cap: int) -> None:
    rng = np.random.default_rng(cap)
    for trial in range(60):
        n = int(rng.integers(0, 1500))
        x = np.arange(n, dtype=float)
        y = rng.normal(size=n)
        y[rng.random(n) < 0.05] = np.nan        # skipped, as append skips them
        if trial % 3 == 0:
            y = np.round(y, 1)                  # ties: the first extreme is kept
        one, bulk = DecimatedSeries(cap), DecimatedSeries(cap)
        for xi, yi in zip(x, y, strict=True):
            one.append(xi, yi)
        i = 0
        while i < n:
            k = int(rng.integers(1, 300))
            bulk.extend(x[i:i + k], y[i:i + k])
            i += k
        for u, v in zip(one.data(), bulk.data(), strict=True):
            np.testing.assert_array_equal(u, v)
        assert (one.total, one.stride, one.last()) == (bulk.total, bulk.stride, bulk.last())


@pytest.mark.parametrize("cap", [4, 16])
def test_the_latest_value_always_ends_the_curve(cap: int) -> None:
    """Whatever the length, the curve ends at the newest step with its value, and keeps at
    most ``cap + 1`` points — also when a just-closed bucket's extremes came earlier
    (a falling-then-rising run), which once left the curve a few steps short."""
    rng = np.random.default_rng(7)
    s = DecimatedSeries(cap)
    for k in range(1, 700):
        y = float(rng.normal()) if k % 5 else -10.0 - k   # dips inside buckets
        s.append(k, y)
        x, yy = s.data()
        assert x[-1] == k and yy[-1] == y, k
        assert len(x) <= cap + 1 and np.all(np.diff(x) > 0)
