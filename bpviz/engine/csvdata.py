"""CSV import: a comma-separated file with a header row as a :class:`Dataset`.

Strict parsing with line numbers in every message; features must be finite
numbers, the target may be numbers or class names. This module never imports Qt.

The file is read in blocks of whole lines. A block without quotes goes
through NumPy: plain decimals (``-0.125``, ``42``: at most 8 characters, no
exponent) by :func:`~bpviz.engine.csv_decimals.decimals`, a vectorised parser exact to the bit, the
rest by its C parser (:func:`numpy.loadtxt`, float32); any block they reject,
and everything from the first quote (``"``) or lone carriage return on, is
parsed cell by cell by the :mod:`csv` module, which finds the line and column
to blame. Each block's rows are written into one float32
array sized from the file (:class:`_Rows`), so memory stays near that array
itself: the array and a block, then the array and the train/test split.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .csv_decimals import decimals
from .datasets import MAX_INT_CLASSES, Dataset, _check_int, _check_real
from .errors import DataError
from .loaders import MAX_ABS_FEATURE, Progress, data_file, finish, labels, report, too_large

__all__ = ["load_csv"]

#: Bytes read per block (rounded up to the end of a line).
BLOCK_BYTES = 4 << 20
_BLANK = " \t\f\v,"
_NOT_INT = ".eEnNiIxX_"   # a row without these may be whole numbers only
#: Integer types NumPy's parser tries on a block of whole numbers, narrowest first: a
#: narrower type is parsed faster (int16 about 1.7x float32 on 784 pixel columns); a
#: block that does not fit one moves the blocks after it to the next.
_INT_TYPES = (np.int16, np.int32)


def _short(cell: str) -> str:
    return repr(cell if len(cell) <= 30 else cell[:27] + "...")


class _Blocks:
    """Decoded blocks of whole lines of a file, with the line number each starts at."""

    def __init__(self, p: Path, f: io.BufferedReader, size: int, progress: Progress | None):
        self.p, self.f, self.size, self.progress = p, f, max(size, 1), progress
        self.line = 1       # line number of the next block's first line
        self.done = 0
        self.first = True

    def __iter__(self) -> Iterator[tuple[int, str]]:
        while True:
            raw = self.f.read(BLOCK_BYTES)
            if not raw:
                return
            if not raw.endswith(b"\n"):
                raw += self.f.readline()
            if self.first:
                self.first = False
                if raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = self.line + raw[: exc.start].count(b"\n")
                raise DataError(
                    f"{self.p.name} line {line}: byte 0x{raw[exc.start]:02x} is not UTF-8; "
                    "save the file as UTF-8 CSV"
                ) from None
            start = self.line
            self.line += raw.count(b"\n")
            self.done += len(raw)
            yield start, text
            report(self.progress, self.done / self.size)


def load_csv(
    path: str | os.PathLike,
    *,
    target: str | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    progress: Progress | None = None,
) -> Dataset:
    """Load a comma-separated file with a header row as a :class:`Dataset`.

    All columns but the target are features and must be finite numbers. The
    target is the column named ``target`` (default: the last one). It is a
    classification target if it holds strings, or whole numbers with at most
    20 distinct values; labels are the sorted unique values mapped to 0..C-1
    (``class_names`` keeps them as text). Otherwise it is a regression target.
    Blank lines are skipped. Features are not standardised.

    Parameters
    ----------
    progress : callable, optional
        ``progress(fraction) -> bool``, called after each block; False cancels
        (:class:`~bpviz.engine.loaders.ImportCancelled`).

    Returns
    -------
    Dataset
        X (N, d) float32 raw features; y (N,) int64 labels or (N, 1) float64.
    """
    tf = _check_real(test_fraction, "test_fraction", 0.9, "use 0 to 0.9")
    seed = _check_int(seed, "seed", 0, 2**63 - 1)
    if target is not None and not isinstance(target, str):
        raise DataError(f"target {target!r} is not a column name; pass a str or None")
    p = data_file(path, "CSV file")
    fn = p.name
    report(progress, 0.0)
    try:
        with open(p, "rb") as f:
            rows, targets, header, ti, lines = _read(p, f, target, progress)
    except OSError as exc:
        raise DataError(f"{p}: cannot read ({exc.strerror or exc}); check the file") from None
    if header is None:
        raise DataError(f"{fn} is empty; it needs a header row and data rows")
    if not targets:
        raise DataError(f"{fn} has a header but no data rows; add rows below the header")
    fcols = [j for j in range(len(header)) if j != ti]
    X = rows.array()
    del rows
    y, class_names, kind = _parse_target(fn, header[ti], targets, lines)
    del targets
    return finish(p, X, y, class_names, kind, tuple(header[j] for j in fcols), tf, seed,
                  target=header[ti])


class _Rows:
    """The feature rows of the whole file in one float32 array, filled block by block.

    Sized on the first rows from the file's size and their bytes per row (2 % more,
    and never more rows than the file could hold: each row is at least ``2·ncols``
    bytes); a short guess grows by half. The rows are copied once, with no list of
    blocks to join at the end.
    """

    def __init__(self, size: int, ncols: int, d: int) -> None:
        self.size, self.ncols, self.d = size, ncols, d
        self.buf: np.ndarray | None = None
        self.n = 0

    def add(self, X: np.ndarray, nbytes: int) -> None:
        """Append ``X`` (k, d) (float32 or whole numbers, cast here), rows parsed from
        ``nbytes`` bytes of the file."""
        k = len(X)
        if k == 0:
            return
        if self.buf is None:
            guess = int(k * self.size / max(nbytes, 1) * 1.02) + 16
            most = self.size // (2 * self.ncols) + 1
            self.buf = np.empty((max(k, min(guess, most)), self.d), np.float32)
        elif self.n + k > len(self.buf):
            grown = np.empty((max(self.n + k, len(self.buf) * 3 // 2), self.d), np.float32)
            grown[: self.n] = self.buf[: self.n]
            self.buf = grown
        self.buf[self.n: self.n + k] = X
        self.n += k

    def array(self) -> np.ndarray:
        """The rows added, (N, d) float32, C-contiguous (a view of the buffer)."""
        if self.buf is None:
            return np.zeros((0, self.d), np.float32)
        return self.buf[: self.n]


def _read(p: Path, f, target: str | None, progress: Progress | None):
    """Parse the whole file: (feature rows, target strings, header, target index,
    line of each target)."""
    fn = p.name
    size = p.stat().st_size
    blocks = _Blocks(p, f, size, progress)
    header: list[str] | None = None
    ti, fcols = -1, []
    rows: _Rows | None = None
    targets: list[str] = []
    lines: list[tuple[int, int]] = []   # (first line, rows) of each block, for messages
    it = iter(blocks)
    slow: _Slow | None = None
    ints = [0]          # the first of _INT_TYPES worth trying, for every block
    for start, text in it:
        if header is None:
            got = _header(fn, start, text, target)
            if got is None:
                continue        # blank lines only
            header, ti, fcols, start, text = got
            rows = _Rows(size, len(header), len(fcols))
        if slow is None and ('"' in text
                             or ("\r" in text and "\r" in text.replace("\r\n", "\n"))):
            slow = _Slow(fn, header, ti, fcols)
        if slow is not None:
            slow.feed(start, text)
            continue
        X, t = _fast(text.replace("\r\n", "\n") if "\r" in text else text,
                     len(header), ti, fcols, ints)
        if X is None:
            X, t, lns = _Slow(fn, header, ti, fcols).block(start, text)
            lines += [(ln, 1) for ln in lns]
        else:
            lines.append((start, len(t)))
        rows.add(X, len(text))
        targets += t
    if slow is not None:
        X, t, ln = slow.result()
        rows.add(X, size)
        targets += t
        lines += ln
    return rows, targets, header, ti, lines


def _header(fn: str, start: int, text: str, target: str | None):
    """The header of the first block that has one: (header, ti, fcols, line and text
    after it), or None if the block is blank."""
    sio = io.StringIO(text, newline="")
    reader = csv.reader(sio, strict=True)
    try:
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            ln = start + reader.line_num - 1
            header, ti, fcols = _parse_header(fn, ln, row, target)
            rest = text[sio.tell():]
            return header, ti, fcols, start + reader.line_num, rest
    except csv.Error as exc:
        raise DataError(
            f'{fn} line {start + reader.line_num - 1}: {exc}; check the quotes (") in that line'
        ) from None
    return None


def _fast(text: str, ncols: int, ti: int, fcols: list[int], ints: list[int] | None = None):
    """Features and targets of a quote-free block by NumPy's parser, or (None, None)
    if anything is off (the slow path then says what). The features are (k, d)
    float32, or whole numbers of one of :data:`_INT_TYPES` (finite and far below
    ``MAX_ABS_FEATURE``), which :meth:`_Rows.add` casts to float32.

    Whole numbers (no ``.eE`` and no letters in the first row): NumPy's integer
    parser into the narrowest of :data:`_INT_TYPES` that holds them, from ``ints[0]``
    on (updated for the next blocks: a block that is not whole numbers after all
    ends the tries); else every column as float32; else (class names in the target)
    the feature columns alone, after checking each row's number of cells.
    """
    rows = [ln for ln in text.split("\n") if ln.strip(_BLANK)]
    if not rows:
        return np.zeros((0, len(fcols)), np.float32), []
    if ti == ncols - 1:
        t = [ln[ln.rfind(",") + 1:].strip() for ln in rows]
    elif ti == 0:
        t = [ln[: ln.find(",")].strip() for ln in rows]
    else:
        t = [ln.split(",", ti + 1)[ti].strip() for ln in rows]
    if not all(t):
        return None, None
    try:  # a non-finite number as target: the slow path names its line
        if not np.isfinite(np.array(t, dtype=np.float64)).all():
            return None, None
    except ValueError:
        pass  # class names
    opts = {"delimiter": ",", "comments": None, "ndmin": 2, "quotechar": None}
    A = None
    if ints is None:
        ints = [0]
    if ints[0] < len(_INT_TYPES) and not any(c in rows[0] for c in _NOT_INT):
        for k in range(ints[0], len(_INT_TYPES)):
            try:
                A = np.loadtxt(rows, dtype=_INT_TYPES[k], **opts)
            except (ValueError, OverflowError):
                continue
            ints[0] = k
            break
        else:  # not whole numbers after all (a decimal further down): no more tries
            ints[0] = len(_INT_TYPES)
    if A is None:
        X = decimals(text, ncols, ti, fcols, len(rows))
        if X is not None:
            return X, t
        try:
            A = np.loadtxt(rows, dtype=np.float32, **opts)
        except ValueError:
            A = None
    if A is not None:
        if A.shape != (len(rows), ncols):
            return None, None
        X = A[:, :-1] if ti == ncols - 1 else A[:, fcols]  # cast once, by _Rows.add
        del A
    else:
        if any(ln.count(",") != ncols - 1 for ln in rows):
            return None, None
        try:
            X = np.loadtxt(rows, dtype=np.float32, usecols=fcols, **opts)
        except ValueError:
            return None, None
    if X.shape != (len(rows), len(fcols)):
        return None, None
    if X.dtype.kind == "f" and X.size and not (np.isfinite(X).all()
                                               and np.abs(X).max() <= MAX_ABS_FEATURE):
        return None, None
    return X, t


class _Slow:
    """Cell-by-cell parsing by the csv module, with the line of every problem."""

    def __init__(self, fn: str, header: list[str], ti: int, fcols: list[int]) -> None:
        self.fn, self.header, self.ti, self.fcols = fn, header, ti, fcols
        self.rows: list[np.ndarray] = []
        self.targets: list[str] = []
        self.lines: list[tuple[int, int]] = []
        self._pending = ""          # text of a record cut by a block end (inside quotes)
        self._start = 0

    def block(self, start: int, text: str) -> tuple[np.ndarray, list[str], list[int]]:
        """Parse one block of whole records: features, targets, their lines."""
        feats: list[float] = []
        t: list[str] = []
        lns: list[int] = []
        self._parse(start, text, feats, t, lns, final=True)
        return np.array(feats, np.float32).reshape(len(t), len(self.fcols)), t, lns

    def feed(self, start: int, text: str) -> None:
        """Parse from the first odd block to the end of the file (records may span blocks)."""
        if self._start == 0:
            self._start = start     # later blocks count their lines as the csv module does
        self._pending += text
        feats: list[float] = []
        t: list[str] = []
        lns: list[int] = []
        used, nlines = self._parse(self._start, self._pending, feats, t, lns, final=False)
        self._keep(feats, t, lns)
        self._start += nlines
        self._pending = self._pending[used:]

    def result(self):
        if self._pending:
            feats: list[float] = []
            t: list[str] = []
            lns: list[int] = []
            self._parse(self._start, self._pending, feats, t, lns, final=True)
            self._keep(feats, t, lns)
        X = (np.concatenate(self.rows) if self.rows
             else np.zeros((0, len(self.fcols)), np.float32))
        return X, self.targets, self.lines

    def _keep(self, feats: list[float], t: list[str], lns: list[int]) -> None:
        if t:
            self.rows.append(np.array(feats, np.float32).reshape(len(t), len(self.fcols)))
            self.targets += t
            self.lines += [(ln, 1) for ln in lns]

    def _parse(self, start: int, text: str, feats: list[float], t: list[str],
               lns: list[int], final: bool) -> tuple[int, int]:
        """Parse records of ``text``; return how many characters and lines were used
        (all if ``final``, else up to the last complete record)."""
        fn, header, ti, fcols = self.fn, self.header, self.ti, self.fcols
        lines = list(io.StringIO(text, newline=""))  # \n, \r\n or \r, as csv counts them
        if not final and lines and not lines[-1].endswith(("\n", "\r")):
            lines.pop()
        reader = csv.reader(lines, strict=True)
        used, consumed = 0, 0
        try:
            for row in reader:
                while consumed < reader.line_num:
                    used += len(lines[consumed])
                    consumed += 1
                ln = start + reader.line_num - 1
                if not any(c.strip() for c in row):
                    continue  # blank line
                if len(row) != len(header):
                    raise DataError(
                        f"{fn} line {ln}: {len(row)} cells but the header has "
                        f"{len(header)} columns; give every row the same columns"
                    )
                for j in fcols:
                    feats.append(_number(fn, ln, row[j], header[j]))
                cell = row[ti].strip()
                if not cell:
                    raise DataError(
                        f"{fn} line {ln}: the target column {header[ti]!r} is empty; "
                        "give every row a target value or delete the row"
                    )
                t.append(cell)
                lns.append(ln)
        except csv.Error as exc:
            if not final and "unexpected end of data" in str(exc):
                return used, consumed  # a quoted record continues in the next block
            raise DataError(
                f'{fn} line {start + reader.line_num - 1}: {exc}; check the quotes (") '
                "in that line"
            ) from None
        return (len(text), len(lines)) if final else (used, consumed)


def _parse_header(fn: str, ln: int, row: list[str], target: str | None):
    """Return (column names, target index, feature indices) of a header row."""
    header = [" ".join(c.split()) for c in row]  # strip, one space inside
    if len(header) < 2:
        hint = (
            "; is it separated by ';' or tabs? use commas"
            if any(s in row[0] for s in ";\t")
            else ""
        )
        raise DataError(f"{fn} has only one column{hint}; it needs feature columns and a target")
    seen: set[str] = set()
    for j, h in enumerate(header):
        if not h:
            raise DataError(f"{fn} line {ln}: column {j + 1} has no name; name every column")
        if h in seen:
            raise DataError(f"{fn} line {ln}: column name {h!r} appears twice; rename one")
        seen.add(h)
    if all(_is_number(h) for h in header):
        raise DataError(
            f"{fn}: the first row ({','.join(header)[:40]}) looks like data; "
            "add a header row with column names"
        )
    if target is None:
        ti = len(header) - 1
    elif " ".join(target.split()) in header:
        ti = header.index(" ".join(target.split()))
    else:
        raise DataError(f"{fn} has no column {target!r}; choose one of: {', '.join(header)}")
    return header, ti, [j for j in range(len(header)) if j != ti]


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _number(fn: str, ln: int, cell: str, col: str) -> float:
    s = cell.strip()
    if not s:
        raise DataError(
            f"{fn} line {ln}: column {col!r} is empty; fill in the missing value or delete the row"
        )
    try:
        v = float(s)
    except ValueError:
        raise DataError(
            f"{fn} line {ln}: {_short(s)} in column {col!r} is not a number; "
            "feature columns must be numeric"
        ) from None
    if not math.isfinite(v):
        raise DataError(
            f"{fn} line {ln}: {_short(s)} in column {col!r} is not a finite number; "
            "replace NaN/inf values or delete the row"
        )
    if abs(v) > MAX_ABS_FEATURE:
        raise too_large(fn, col, v, f" line {ln}")
    return v


def _line_of(lines: list[tuple[int, int]], k: int) -> str:
    """The line number of target k, for messages ('?' if unknown)."""
    for start, n in lines:
        if k < n:
            return f"{start}+" if n > 1 else str(start)
        k -= n
    return "?"


def _parse_target(fn: str, col: str, targets: list[str], lines: list[tuple[int, int]]):
    """Return (y, class_names, kind): int64 labels + names, or (N, 1) float64 + ()."""
    if all(_is_number(t) for t in targets):
        v = np.array([float(t) for t in targets])
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            k = int(bad[0])
            raise DataError(
                f"{fn} line {_line_of(lines, k)}: target {_short(targets[k])} in column "
                f"{col!r} is not a finite number; replace it or delete the row"
            )
        return labels(fn, col, v, MAX_INT_CLASSES)
    return labels(fn, col, np.array(targets), MAX_INT_CLASSES)
