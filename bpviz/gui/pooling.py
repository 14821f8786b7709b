"""Big matrices drawn at the resolution they are seen at (no Qt; any thread).

A 512×784 weight matrix in a heatmap 300 pixels wide is drawn at several
entries per pixel; colouring and uploading every entry each frame costs the
GUI thread time that grows with the matrix. :func:`pool_signed` shrinks a
matrix to at most ``rows × cols`` blocks, each block shown by its entry of
largest magnitude with its sign, so that the extremes (the entries a student
looks for) survive any shrinking, and ``max |pooled| == max |M|`` exactly (the
colour scale does not change). The full matrix stays in the record: the
readout and the zoomed view read it.

:class:`ViewBudget` is how the window tells the training worker how large the
heatmaps are drawn (in device pixels) and which matrices are on screen, so that
the worker pools each shown matrix once when it builds the snapshot, off the GUI
thread, and spends nothing on the others.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np

#: The side (device pixels) a heatmap is assumed to have before the window says.
DEFAULT_SIDE = 512
#: Limits of the published side: never pool below this, never send more than that.
MIN_SIDE, MAX_SIDE = 32, 4096


def block_edges(n: int, parts: int) -> np.ndarray:
    """Start indices of ``parts`` nearly equal blocks of ``range(n)`` (``parts <= n``).

    >>> block_edges(10, 4).tolist()
    [0, 2, 5, 7]
    """
    return (np.arange(parts, dtype=np.int64) * n) // parts


def _block_index(n: int, parts: int) -> np.ndarray:
    """``(parts, b)`` indices of the blocks of :func:`block_edges`, ``b`` the longest block;
    a shorter block repeats its last index (a repeated entry changes no max or min).

    >>> _block_index(5, 2).tolist()
    [[0, 1, 1], [2, 3, 4]]
    """
    starts = block_edges(n, parts)
    ends = np.append(starts[1:], n)
    b = int((ends - starts).max())
    return np.minimum(starts[:, None] + np.arange(b)[None, :], ends[:, None] - 1)


def pool_signed(M: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``M`` (R, C) shrunk to (min(R, rows), min(C, cols)) blocks, each its extreme entry.

    Block (i, j) covers rows ``block_edges(R, r)[i]`` up to the next edge (likewise
    columns); its value is the entry of largest ``|x|`` in it, sign kept (the
    positive one on a tie). A non-finite entry makes its block non-finite. A vector
    (m,) is treated as one row. Returns C-contiguous float32; ``M`` itself
    (as float32) when it already fits.

    Computed as a gather of each block's rows (then columns) and one max and one min
    per block: about 10× faster than ``np.maximum.reduceat`` along the columns, whose
    strided access dominated the worker's time per published frame.

    Parameters
    ----------
    M : (R, C) or (C,) array
    rows, cols : the largest output shape wanted (at least 1 each)

    Returns
    -------
    (r, c) float32 array with ``r = min(R, rows)``, ``c = min(C, cols)``.
    """
    A = np.asarray(M)
    if A.ndim == 1:
        A = A.reshape(1, -1)
    if A.ndim != 2:
        raise ValueError(f"pool_signed takes a matrix or a vector, got shape {A.shape}")
    R, C = A.shape
    r, c = max(1, min(R, int(rows))), max(1, min(C, int(cols)))
    if R == 0 or C == 0 or (r == R and c == C):
        return np.ascontiguousarray(A, dtype=np.float32)
    hi = lo = A
    if r < R:  # rows first: whole contiguous rows per block, the cheap direction
        G = A[_block_index(R, r)]  # (r, b, C)
        hi, lo = G.max(axis=1), G.min(axis=1)
    if c < C:
        ic = _block_index(C, c)  # (c, b): each row of hi/lo gathered as (c, b) blocks
        hi, lo = hi[:, ic].max(axis=2), lo[:, ic].min(axis=2)
    out = np.where(hi >= -lo, hi, lo)
    bad = np.isnan(hi) | np.isnan(lo)  # NaN compares false: keep it visible as NaN
    if bad.any():
        out[bad] = np.nan
    return np.ascontiguousarray(out, dtype=np.float32)


def pooled_shape(shape: tuple[int, ...], side: int) -> tuple[int, int]:
    """The shape :func:`pool_signed` gives ``shape`` (a vector as one row) for ``side``."""
    R, C = (1, shape[0]) if len(shape) == 1 else (shape[0], shape[1])
    return min(R, side), min(C, side)


class ViewBudget:
    """How the window draws its matrix heatmaps: the largest side, in device pixels, and
    which ``(kind, layer)`` matrices are on screen.

    Thread-safe: the GUI thread :meth:`publish`\\ es it, the worker reads :meth:`side`
    and :meth:`keys` when it builds a snapshot. Shown matrices with more rows or
    columns than ``side`` are sent pooled (:func:`pool_signed`); the others are not
    pooled at all (a heatmap shown later pools its matrix itself until the next
    publish).
    """

    def __init__(self, side: int = DEFAULT_SIDE) -> None:
        self._lock = threading.Lock()
        self._side = self._clamp(side)
        self._keys: frozenset[tuple[str, int]] | None = None

    @staticmethod
    def _clamp(side: float) -> int:
        return int(min(max(int(np.ceil(side)), MIN_SIDE), MAX_SIDE))

    def publish(self, side: float, keys: Iterable[tuple[str, int]] | None = None) -> None:
        """The heatmaps are now at most ``side`` device pixels wide or tall, and show the
        ``(kind, layer)`` matrices ``keys`` (kinds as in ``bpviz.gui.notation.KINDS``,
        engine layers from 0; None: any matrix may be shown)."""
        frozen = None if keys is None else frozenset((str(k), int(i)) for k, i in keys)
        with self._lock:
            self._side = self._clamp(side)
            self._keys = frozen

    def side(self) -> int:
        with self._lock:
            return self._side

    def keys(self) -> frozenset[tuple[str, int]] | None:
        """The ``(kind, layer)`` pairs on screen, or None (not said: pool every matrix)."""
        with self._lock:
            return self._keys
