"""CSV import: a comma-separated file with a header row as a :class:`Dataset`.

Strict parsing with line numbers in every message; features must be finite
numbers, the target may be numbers or class names. This module never imports Qt.
"""

from __future__ import annotations

import csv
import io
import math
import os
from array import array
from pathlib import Path

import numpy as np

from .datasets import MAX_CSV_BYTES, MAX_INT_CLASSES, Dataset, _check_int, _check_real, _split
from .errors import DataError

__all__ = ["load_csv"]


def _short(cell: str) -> str:
    return repr(cell if len(cell) <= 30 else cell[:27] + "...")


def _read_text(path: str | os.PathLike) -> tuple[Path, str]:
    """Read a CSV file as text (UTF-8, optional BOM), with one-line errors."""
    try:
        p = Path(os.fspath(path))
    except TypeError:
        raise DataError(f"{path!r} is not a file path; pass a str or Path") from None
    try:
        if p.is_dir():
            raise DataError(f"{p} is a folder, not a file; choose a .csv file inside it")
        size = p.stat().st_size
        if size > MAX_CSV_BYTES:
            raise DataError(
                f"{p.name} is {size / 2**20:.0f} MB; bpviz reads CSV files up to "
                f"{MAX_CSV_BYTES // 2**20} MB, so use a sample of the rows"
            )
        raw = p.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{p}: no such file; check the path and the name") from None
    except OSError as exc:
        raise DataError(f"{p}: cannot read ({exc.strerror or exc}); check the file") from None
    try:
        return p, raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{p.name} line {line}: byte 0x{raw[exc.start]:02x} is not UTF-8; "
            "save the file as UTF-8 CSV"
        ) from None


def load_csv(
    path: str | os.PathLike,
    *,
    target: str | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Dataset:
    """Load a comma-separated file with a header row as a :class:`Dataset`.

    All columns but the target are features and must be finite numbers. The
    target is the column named ``target`` (default: the last one). It is a
    classification target if it holds strings, or whole numbers with at most
    20 distinct values; labels are the sorted unique values mapped to 0..C-1
    (``class_names`` keeps them as text). Otherwise it is a regression target.
    Blank lines are skipped. Features are not standardised.

    Returns
    -------
    Dataset
        X (N, d) float64 raw features; y (N,) int64 labels or (N, 1) float64.
    """
    tf = _check_real(test_fraction, "test_fraction", 0.9, "use 0 to 0.9")
    seed = _check_int(seed, "seed", 0, 2**63 - 1)
    if target is not None and not isinstance(target, str):
        raise DataError(f"target {target!r} is not a column name; pass a str or None")
    p, text = _read_text(path)
    fn = p.name
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    feats, lines, targets = array("d"), array("q"), []
    try:
        for row in reader:
            if not any(c.strip() for c in row):
                continue  # blank line
            ln = reader.line_num
            if header is None:
                header, ti, fcols = _parse_header(fn, ln, row, target)
                continue
            if len(row) != len(header):
                raise DataError(
                    f"{fn} line {ln}: {len(row)} cells but the header has "
                    f"{len(header)} columns; give every row the same columns"
                )
            for j in fcols:
                feats.append(_number(fn, ln, row[j], header[j]))
            t = row[ti].strip()
            if not t:
                raise DataError(
                    f"{fn} line {ln}: the target column {header[ti]!r} is empty; "
                    "give every row a target value or delete the row"
                )
            targets.append(t)
            lines.append(ln)
    except csv.Error as exc:
        raise DataError(
            f'{fn} line {reader.line_num}: {exc}; check the quotes (") in that line'
        ) from None
    if header is None:
        raise DataError(f"{fn} is empty; it needs a header row and data rows")
    if not targets:
        raise DataError(f"{fn} has a header but no data rows; add rows below the header")
    X = np.array(feats, dtype=np.float64).reshape(len(targets), len(fcols))
    y, class_names, kind = _parse_target(fn, header[ti], targets, lines)
    rng = np.random.default_rng(seed)
    desc = f"{fn}: {len(targets)} rows, {len(fcols)} features, target {header[ti]!r} ({kind})"
    return Dataset(
        p.stem,
        *_split(X, y, tf, rng),
        n_classes=len(class_names),
        class_names=class_names,
        feature_names=tuple(header[j] for j in fcols),
        description=desc,
    )


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
    return v


def _parse_target(fn: str, col: str, targets: list[str], lines: array):
    """Return (y, class_names, kind): int64 labels + names, or (N, 1) float64 + ()."""
    if all(_is_number(t) for t in targets):
        v = np.array([float(t) for t in targets])
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            k = int(bad[0])
            raise DataError(
                f"{fn} line {lines[k]}: target {_short(targets[k])} in column "
                f"{col!r} is not a finite number; replace it or delete the row"
            )
        uniq = np.unique(v)
        if not (np.all(uniq == np.round(uniq)) and len(uniq) <= MAX_INT_CLASSES):
            return v.reshape(-1, 1), (), "regression"
        y, names = np.searchsorted(uniq, v), tuple(str(int(u)) for u in uniq)
    else:
        names = tuple(sorted(set(targets)))
        index = {s: k for k, s in enumerate(names)}
        y = np.array([index[t] for t in targets])
    if len(names) < 2:
        raise DataError(
            f"{fn}: target column {col!r} has only one class ({names[0]!r}); "
            "a classifier needs at least two classes"
        )
    return y.astype(np.int64), names, f"classification, {len(names)} classes"
