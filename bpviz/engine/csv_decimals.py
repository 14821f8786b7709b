"""Plain decimal cells of a CSV block, parsed eight bytes at a time, exact to the bit.

A cell ``-?digits(.digits)?`` of at most 8 characters (``0.6745``, ``-12.5``,
``42``) is read as one 64-bit word; its digits form an integer below 10⁸ that is
divided by 10ᵏ (k digits after the dot) in float64. Both are exact in float64 and
IEEE division rounds correctly, so the quotient is exactly ``float(cell)``; it is
then rounded to float32 once, as ``np.float32(float(cell))`` does. Other cells
(exponents, ``+``, more digits) are parsed one by one with :func:`float` if they
are at most 1 in 16; anything else sends the block back to the caller
(:mod:`bpviz.engine.csvdata`), whose slower parsers take it or say what is wrong.
"""

from __future__ import annotations

import numpy as np

from .loaders import MAX_ABS_FEATURE

#: Bytes of a block :func:`_plain_cells` parses at a time: its temporaries (a few
#: arrays of 8 bytes per cell, ~2 MB) stay in the CPU's cache, about 1.7x faster
#: than whole 4 MB blocks.
PIECE_BYTES = 1 << 18
_U = np.uint64
_LO7 = _U(0x7F7F7F7F7F7F7F7F)
_HI_NIBBLES = _U(0xF0F0F0F0F0F0F0F0)
_ZEROS = _U(0x3030303030303030)   # "00000000"
_DOTS = _U(0x2E2E2E2E2E2E2E2E)    # "........"
#: The divisor 10**k (k digits after the dot) by the number of bytes at and below the
#: dot in a cell's top-aligned word (0: no dot).
_DIVISORS = np.array([1.0] + [10.0 ** (7 - q) for q in range(8)])


def decimals(text: str, ncols: int, ti: int, fcols: list[int], nrows: int):
    """Features (nrows, d) float32 of a quote-free block of ``nrows`` lines of
    ``ncols`` cells each, parsed by :func:`_plain_cells` a piece of
    :data:`PIECE_BYTES` at a time; None if the block is not that (a blank line, a
    row with another number of cells, more than 1 in 16 cells not plain, a cell
    that is not a finite number), for :func:`numpy.loadtxt` and the slow path to
    parse or blame. Needs :func:`numpy.bitwise_count` (NumPy 2)."""
    if not text.isascii() or not hasattr(np, "bitwise_count"):
        return None
    raw = text.encode("ascii")
    if not raw.endswith(b"\n"):
        raw += b"\n"
    X = np.empty((nrows, len(fcols)), np.float32)
    pos = n = 0
    while pos < len(raw):
        end = raw.find(b"\n", pos + PIECE_BYTES)
        end = len(raw) if end < 0 else end + 1
        V = _plain_cells(raw[pos:end], ncols, ti)
        if V is None or n + len(V) > nrows:
            return None
        X[n: n + len(V)] = V[:, :-1] if ti == ncols - 1 else V[:, fcols]
        n += len(V)
        pos = end
    return X if n == nrows else None


def _plain_cells(piece: bytes, ncols: int, ti: int) -> np.ndarray | None:
    """All cells of ``piece`` (whole lines of ``ncols`` cells, ASCII) as float32
    (rows, ncols), the target column ``ti`` left unparsed; None if the piece has
    other shapes of rows or a cell that is not a finite number (at most 1e30).
    The plain cells by :func:`_words`; the others (an exponent, ``+``, spaces,
    longer numbers) by :func:`float`, one by one, if they are at most 1 in 16.
    """
    got = _words(piece, ncols)
    if got is None:
        return None
    V, ok, ends = got
    ok = ok.reshape(-1, ncols)
    ok[:, ti] = True
    odd = np.flatnonzero(~ok)
    if len(odd) > len(ends) // 16:
        return None
    flat = V.reshape(-1)
    for i in odd.tolist():
        try:
            x = float(piece[ends[i - 1] + 1 if i else 0: ends[i]])
        except ValueError:
            return None
        if not abs(x) <= MAX_ABS_FEATURE:      # NaN, inf, too large: the slow path says
            return None
        flat[i] = x
    return V


def _words(piece: bytes, ncols: int):
    """Parse the plain cells of ``piece`` (whole lines of ``ncols`` cells, ASCII):
    (values (rows, ncols) float32, plain (n,) bool, separator index (n,)), or None
    if the rows have other numbers of cells. A plain cell is ``-?digits(.digits)?``
    (``5.`` and ``.5`` too) of at most 8 characters; its value is bit for bit
    ``np.float32(float(cell))``; the others' values are garbage.

    Each cell of at most 8 characters ``-?digits(.digits)?`` is parsed in one
    64-bit word, vectorised over the cells: the 8 bytes that end the cell, the
    bytes before it cleared, the dot dropped, the rest left-padded with ``'0'``,
    then the SWAR sum of 8 ASCII digits (as in simdjson and fast_float). That
    integer M (< 10**8) divided by 10**k, both exact in float64, is the correctly
    rounded float64 of the text (Clinger's fast path), i.e. ``float(text)``; then
    rounded to float32 as ``np.float32(float(text))`` does.
    """
    b = np.frombuffer(piece, np.uint8)
    newline = b == 10
    nrows = int(np.count_nonzero(newline))
    sep = b == 44
    sep |= newline
    ends = np.flatnonzero(sep)
    del sep
    if len(ends) != nrows * ncols or not newline[ends[ncols - 1::ncols]].all():
        return None
    del newline, b
    # word i: the 8 bytes before separator i, its cell's last character on top
    words = np.ndarray((len(piece) + 1,), "<u8", buffer=bytes(8) + piece, strides=(1,))
    e = words[ends]
    size = np.diff(ends, prepend=-1).view(_U)            # characters + 1
    ok = size - _U(2) < _U(8)                            # 1 to 8 characters
    below = _U(72) - (size << _U(3))                     # bits below the cell
    z = e >> below                                        # first character lowest
    neg = (z & _U(0xFF)) == _U(0x2D)                      # "-"
    np.left_shift(z, below, out=e)                        # the cell alone, on top
    # the dot: the zero bytes of e ^ "........", an exact test
    np.bitwise_xor(e, _DOTS, out=z)
    dot = z & _LO7
    dot += _LO7
    dot |= z
    dot |= _LO7
    np.invert(dot, out=dot)                               # top bit of each "." byte
    m = dot - (dot != 0)
    ok &= (dot & m) == 0                                  # at most one dot
    m |= dot                                              # the bytes at and below it
    del dot
    np.bitwise_and(e, ~m, out=z)                          # drop the dot: the bytes
    e <<= _U(8)                                           # below it move up one
    e &= m
    e |= z
    div = _DIVISORS[np.bitwise_count(m) >> _U(3)]
    digits = size - _U(1) - neg - (m != 0)
    del m
    ok &= digits - _U(1) < _U(8)
    np.subtract(_U(64), digits << _U(3), out=below)       # bits below the digits
    e >>= below
    e <<= below
    e |= _ZEROS >> (digits << _U(3))                      # "0" in front: 8 digits
    ok &= (e & _HI_NIBBLES) == _ZEROS                     # every byte "0" to "?"
    np.add(e, _U(0x0606060606060606), out=z)
    z &= _HI_NIBBLES
    ok &= z == _ZEROS                                     # ... and at most "9"
    e -= _ZEROS
    e *= _U(2561)                                         # pairs, then fours, of digits
    e >>= _U(8)
    np.right_shift(e, _U(16), out=z)
    z &= _U(0x000000FF000000FF)
    z *= _U(0x0000271000000001)
    e &= _U(0x000000FF000000FF)
    e *= _U(0x000F424000000064)
    e += z
    e >>= _U(32)
    del z
    v = e.astype(np.float64)
    del e
    v /= div
    np.negative(v, out=v, where=neg)
    return v.astype(np.float32).reshape(nrows, ncols), ok, ends
