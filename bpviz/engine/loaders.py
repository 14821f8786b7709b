"""Data files as :class:`~bpviz.engine.datasets.Dataset`: what every reader shares,
and the readers of ``.npz`` archives and of MNIST's IDX files.

- the size limit (:func:`max_data_bytes`: :data:`MAX_DATA_BYTES`, or the
  environment variable ``BPVIZ_MAX_DATA_MB``) and the file check (regular files
  only, :func:`bpviz.engine.files.regular_file`);
- a cancellable progress callback, ``progress(fraction) -> bool`` (False
  cancels: :class:`ImportCancelled`);
- the limits on what a target may hold (classes, magnitude) and on features
  (too large to standardise), each refused in one line that names the column;
- :func:`load_npz` (arrays ``X`` and ``y``), :func:`load_idx` (an images file and
  the labels file beside it, gzipped or not) and :func:`load_data_file`, which
  picks the reader from the file name (:func:`file_kind`).

Features are float32 (N, d), one sample per row. This module never imports Qt.
"""

from __future__ import annotations

import gzip
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .datasets import Dataset, _check_int, _check_real, _split
from .errors import BpvizError, DataError
from .files import regular_file
from .spec import MAX_UNITS

__all__ = [
    "FILE_KINDS",
    "MAX_ABS_FEATURE",
    "MAX_ABS_TARGET",
    "MAX_CLASSES",
    "MAX_DATA_BYTES",
    "ImportCancelled",
    "Progress",
    "file_kind",
    "load_data_file",
    "load_idx",
    "load_npz",
    "max_data_bytes",
]

#: Largest data file read (CSV, npz, IDX; for IDX and npz: the unpacked size), in bytes.
MAX_DATA_BYTES = 2 * 1024**3
#: Environment variable that overrides :data:`MAX_DATA_BYTES`, in MB.
MAX_DATA_ENV = "BPVIZ_MAX_DATA_MB"
#: Most classes a target may have: one output unit each.
MAX_CLASSES = MAX_UNITS
#: Largest |feature| accepted: standardising squares it, and training is float32.
MAX_ABS_FEATURE = 1e30
#: Largest |regression target| accepted: its squared error must stay a float32.
MAX_ABS_TARGET = 1e15
#: The kinds of data file, as :class:`~bpviz.engine.presets.DataChoice` names them.
FILE_KINDS = ("csv", "npz", "idx")

#: ``progress(fraction done in [0, 1]) -> keep going``; False cancels the load.
Progress = Callable[[float], bool]

_FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


class ImportCancelled(DataError):
    """The user cancelled a load through its progress callback."""

    def __init__(self, message: str = "import cancelled; the previous data set is kept") -> None:
        super().__init__(message)


def max_data_bytes() -> int:
    """The size limit of data files: ``BPVIZ_MAX_DATA_MB`` MB if set, else
    :data:`MAX_DATA_BYTES`."""
    raw = os.environ.get(MAX_DATA_ENV, "").strip()
    if not raw:
        return MAX_DATA_BYTES
    try:
        mb = float(raw)
    except ValueError:
        mb = -1.0
    if not 0 < mb < 2**40:
        raise DataError(f"{MAX_DATA_ENV}={raw!r} is not a size in MB; use e.g. 4096 or unset it")
    return int(mb * 2**20)


def report(progress: Progress | None, fraction: float) -> None:
    """Call ``progress(fraction)``; raise :class:`ImportCancelled` if it says stop."""
    if progress is not None and progress(min(max(float(fraction), 0.0), 1.0)) is False:
        raise ImportCancelled()


def data_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path if it is a regular file within :func:`max_data_bytes`;
    else a :class:`DataError` in one line."""
    try:
        p = Path(os.fspath(path))
    except TypeError:
        raise DataError(f"{path!r} is not a file path; pass a str or Path") from None
    limit = max_data_bytes()
    try:
        return regular_file(p, what, limit)
    except DataError:
        raise
    except BpvizError as exc:
        hint = (f"; set {MAX_DATA_ENV} (MB) to read larger files, or use a sample of the rows"
                if "over the limit" in str(exc) else "")
        raise DataError(f"{exc}{hint}") from None


def file_kind(path: str | os.PathLike) -> str:
    """``"npz"``, ``"idx"`` (``*-ubyte``, ``*.idx3``, ... optionally ``.gz``) or ``"csv"``."""
    name = Path(os.fspath(path)).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(".npz"):
        return "npz"
    if name.endswith("-ubyte") or ".idx" in name or "-idx" in name:
        return "idx"
    return "csv"


# ------------------------------------------------------------------ shared checks


def check_classes(fn: str, col: str, n: int) -> None:
    """Refuse a target with more than :data:`MAX_CLASSES` classes, naming the count."""
    if n > MAX_CLASSES:
        raise DataError(
            f"{fn}: the target {col!r} has {n:,} classes (at most {MAX_CLASSES:,}); "
            "merge rare classes or choose another target column"
        )


def check_target_size(fn: str, col: str, y: np.ndarray) -> None:
    """Refuse regression targets too large for float32 training, naming the column."""
    big = float(np.max(np.abs(y))) if y.size else 0.0
    if big > MAX_ABS_TARGET:
        raise DataError(
            f"{fn}: the target {col!r} has values up to {big:.3g}, too large to learn "
            f"(at most {MAX_ABS_TARGET:.0e} in size); rescale it, e.g. divide it by a power of ten"
        )


def too_large(fn: str, col: str, value: float, where: str = "") -> DataError:
    """The one message for a feature too large to standardise."""
    return DataError(
        f"{fn}{where}: column {col!r} has values up to {value:.3g}, too large to standardise "
        f"(at most {MAX_ABS_FEATURE:.0e} in size); rescale that column or drop it"
    )


def labels(fn: str, col: str, v: np.ndarray, max_int_classes: int):
    """``(y, class_names, kind)`` of a 1-D target array.

    Strings, and integers (any count): classes, the sorted unique values mapped
    to 0..C-1. Finite floats: classes if they are whole numbers with at most
    ``max_int_classes`` distinct values, else a (N, 1) float64 regression target.
    """
    if v.dtype.kind in "fc" and not np.all(np.isfinite(v)):
        raise DataError(f"{fn}: the target {col!r} holds NaN or inf; replace those values")
    if v.dtype.kind in "fb":
        v = v.astype(np.float64)
        uniq = np.unique(v)
        if not (np.all(uniq == np.round(uniq)) and len(uniq) <= max_int_classes):
            check_target_size(fn, col, v)
            return v.reshape(-1, 1), (), "regression"
        y, names = np.searchsorted(uniq, v), tuple(str(int(u)) for u in uniq)
    elif v.dtype.kind in "iuUS":
        uniq, y = np.unique(v, return_inverse=True)
        check_classes(fn, col, len(uniq))
        names = tuple(u.decode("utf-8", "replace") if isinstance(u, bytes) else str(u)
                      for u in uniq.tolist())
    else:
        raise DataError(f"{fn}: the target {col!r} has dtype {v.dtype}; use numbers or strings")
    check_classes(fn, col, len(names))
    if len(names) < 2:
        raise DataError(
            f"{fn}: target column {col!r} has only one class ({names[0]!r}); "
            "a classifier needs at least two classes"
        )
    return y.astype(np.int64).reshape(-1), names, f"classification, {len(names)} classes"


def finish(p: Path, X: np.ndarray, y: np.ndarray, names: tuple[str, ...], kind: str,
           feature_names: tuple[str, ...], test_fraction: float, seed: int,
           image_shape: tuple[int, int] | None = None, target: str = "y") -> Dataset:
    """Split ``X`` (N, d) float32 and ``y`` into a :class:`Dataset` (seeded)."""
    rng = np.random.default_rng(seed)
    desc = f"{p.name}: {len(X)} rows, {X.shape[1]} features, target {target!r} ({kind})"
    return Dataset(p.stem.removesuffix(".npz"), *_split(X, y, test_fraction, rng),
                   n_classes=len(names), class_names=names, feature_names=feature_names,
                   image_shape=image_shape, description=desc)


def _args(test_fraction: float, seed: int) -> tuple[float, int]:
    return (_check_real(test_fraction, "test_fraction", 0.9, "use 0 to 0.9"),
            _check_int(seed, "seed", 0, 2**63 - 1))


def _features(fn: str, X: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """``X`` as C-contiguous float32, refused by column if not finite or too large."""
    if X.dtype.kind not in "biuf":
        raise DataError(f"{fn}: X has dtype {X.dtype}; features must be numbers")
    X = np.ascontiguousarray(X, dtype=np.float32)
    for start in range(0, len(X), 4096):
        part = X[start:start + 4096]
        bad = ~np.isfinite(part)
        if bad.any():
            j = int(np.flatnonzero(bad.any(axis=0))[0])
            raise DataError(f"{fn}: column {names[j]!r} of X holds NaN, inf, or a value too "
                            "large for float32; replace those values")
        big = np.abs(part).max(axis=0) if part.size else np.zeros(0)
        if big.size and big.max() > MAX_ABS_FEATURE:
            j = int(np.argmax(big))
            raise too_large(fn, names[j], float(big[j]))
    return X


# ------------------------------------------------------------------ npz


def load_npz(path: str | os.PathLike, *, test_fraction: float = 0.2, seed: int = 0,
             progress: Progress | None = None) -> Dataset:
    """Load a NumPy ``.npz`` with arrays ``X`` (N, d) or (N, h, w) images, and ``y``.

    ``y`` is (N,) labels (integers or strings: classes; floats: classes if whole
    numbers with at most 20 values, else regression) or (N, t) float targets. No
    pickles; the unpacked size counts against :func:`max_data_bytes`.

    Returns
    -------
    Dataset
        X (N, d) float32, not standardised; y (N,) int64 labels or (N, t) float64.
    """
    from .datasets import MAX_INT_CLASSES

    tf, seed = _args(test_fraction, seed)
    p = data_file(path, "npz file")
    fn, limit = p.name, max_data_bytes()
    report(progress, 0.0)
    try:
        with zipfile.ZipFile(p) as zf:
            total = sum(i.file_size for i in zf.infolist())
        if total > limit:
            raise DataError(f"{fn} unpacks to {total / 2**20:,.0f} MB, over the limit of "
                            f"{limit / 2**20:,.0f} MB; set {MAX_DATA_ENV} (MB) to allow it")
        with np.load(p, allow_pickle=False) as z:
            missing = [k for k in ("X", "y") if k not in z.files]
            if missing:
                raise DataError(f"{fn} has no array {missing[0]!r} (it has: "
                                f"{', '.join(z.files) or 'none'}); save X (N, d) and y (N,)")
            X, y = z["X"], z["y"]
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        msg = " ".join(str(exc).split())[:120]
        raise DataError(f"{fn} is not a readable .npz file ({msg}); "
                        "save it with numpy.savez(path, X=X, y=y)") from None
    report(progress, 0.5)
    image_shape = None
    if X.ndim == 3:
        image_shape = (int(X.shape[1]), int(X.shape[2]))
        X = X.reshape(len(X), -1)
    if X.ndim != 2 or len(X) < 1 or X.shape[1] < 1:
        raise DataError(f"{fn}: X has shape {X.shape}; it must be (N, d) with N, d >= 1")
    if y.ndim not in (1, 2) or len(y) != len(X):
        raise DataError(f"{fn}: y has shape {y.shape} but X has {len(X)} rows; "
                        "y must be (N,) labels or (N, t) targets")
    feats = tuple(f"x{j + 1}" for j in range(X.shape[1]))
    X = _features(fn, X, feats)
    if y.ndim == 2 and y.shape[1] == 1 and y.dtype.kind not in "fc":
        y = y[:, 0]
    if y.ndim == 2:
        if y.dtype.kind not in "biuf" or not np.all(np.isfinite(y)):
            raise DataError(f"{fn}: y (N, t) must hold finite numbers (regression targets)")
        yy, names, kind = y.astype(np.float64), (), "regression"
        check_target_size(fn, "y", yy)
    else:
        yy, names, kind = labels(fn, "y", y, MAX_INT_CLASSES)
    report(progress, 0.9)
    ds = finish(p, X, yy, names, kind, feats, tf, seed, image_shape)
    report(progress, 1.0)
    return ds


# ------------------------------------------------------------------ IDX

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _open(p: Path) -> BinaryIO:
    with open(p, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(p, "rb") if gz else open(p, "rb")  # noqa: SIM115


def _read_exact(f: BinaryIO, n: int, fn: str, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise DataError(f"{fn} ends early: {what} needs {n:,} bytes, it has {len(data):,}; "
                        "download the file again")
    return data


def read_idx(path: Path, progress: Progress | None = None, share: tuple[float, float] = (0, 1)
             ) -> np.ndarray:
    """The array of one IDX file (gzipped or not), in native byte order.

    Decompression is bounded by the size the header declares; trailing bytes,
    and a declared size over :func:`max_data_bytes`, are refused.
    """
    fn, limit = path.name, max_data_bytes()
    try:
        with _open(path) as f:
            head = _read_exact(f, 4, fn, "the IDX header")
            if head[:2] != b"\0\0" or head[2] not in _IDX_DTYPES or not 1 <= head[3] <= 4:
                raise DataError(f"{fn} is not an IDX file (header {head.hex()}); "
                                "use MNIST's *-idx3-ubyte / *-idx1-ubyte files")
            dt = np.dtype(_IDX_DTYPES[head[2]])
            shape = tuple(int(d) for d in np.frombuffer(
                _read_exact(f, 4 * head[3], fn, "the IDX dimensions"), ">u4"))
            n = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
            if n > limit:
                raise DataError(f"{fn} declares {n / 2**20:,.0f} MB of data, over the limit of "
                                f"{limit / 2**20:,.0f} MB; set {MAX_DATA_ENV} (MB) to allow it")
            out = np.empty(n, np.uint8)
            step, done = 8 << 20, 0
            while done < n:
                chunk = _read_exact(f, min(step, n - done), fn, f"{shape} of {dt.name}")
                out[done:done + len(chunk)] = np.frombuffer(chunk, np.uint8)
                done += len(chunk)
                report(progress, share[0] + share[1] * done / max(n, 1))
            if f.read(1):
                raise DataError(f"{fn} has bytes after the {shape} array its header declares; "
                                "download the file again")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{fn}: cannot read ({exc}); download the file again") from None
    return out.view(dt).reshape(shape).astype(dt.newbyteorder("="), copy=False)


def labels_path(images: Path) -> Path:
    """The labels file beside an images file: ``train-images-idx3-ubyte[.gz]`` →
    ``train-labels-idx1-ubyte`` or ``.gz``."""
    name = images.name
    base = name[:-3] if name.lower().endswith(".gz") else name
    want = base.replace("images", "labels").replace("idx3", "idx1")
    if want == base:
        raise DataError(f"{name}: name the images file (…-images-idx3-ubyte[.gz]); "
                        "its labels file is found beside it")
    for cand in (want, want + ".gz"):
        if (images.parent / cand).exists():
            return images.parent / cand
    raise DataError(f"{name}: no labels file {want}[.gz] beside it; put the pair in one folder")


def load_idx(path: str | os.PathLike, *, test_fraction: float = 0.2, seed: int = 0,
             progress: Progress | None = None) -> Dataset:
    """Load an IDX images file (MNIST, Fashion-MNIST; gzipped or not) and its labels.

    ``path`` is the images file (N, h, w); the labels file (N,) lies beside it
    (:func:`labels_path`). Unsigned-byte pixels are scaled to [0, 1]. A folder
    whose name mentions "fashion" gets Fashion-MNIST's class names.

    Returns
    -------
    Dataset
        X (N, h·w) float32, image_shape (h, w); y (N,) int64 labels.
    """
    tf, seed = _args(test_fraction, seed)
    p = data_file(path, "IDX file")
    lp = data_file(labels_path(p), "IDX labels file")
    report(progress, 0.0)
    img = read_idx(p, progress, (0.0, 0.9))
    lab = read_idx(lp)
    if img.ndim != 3 or lab.ndim != 1 or len(lab) != len(img) or len(img) < 1:
        raise DataError(f"{p.name} holds {img.shape} and {lp.name} holds {lab.shape}; "
                        "expected images (N, h, w) and labels (N,) for the same N")
    if lab.dtype.kind not in "iu":
        raise DataError(f"{lp.name}: labels of dtype {lab.dtype}; expected whole numbers")
    h, w = int(img.shape[1]), int(img.shape[2])
    X = img.reshape(len(img), h * w)
    X = (X.astype(np.float32) / 255.0 if X.dtype == np.uint8
         else _features(p.name, X, tuple(f"x{j + 1}" for j in range(h * w))))
    del img
    y, names, kind = labels(p.name, "label", lab, 0)
    fashion = "fashion" in str(p.parent).lower() and len(names) == 10
    if fashion and names == tuple(str(k) for k in range(10)):
        names = _FASHION
    feats = tuple(f"r{r}c{c}" for r in range(h) for c in range(w))
    ds = finish(p, X, y, names, kind, feats, tf, seed, (h, w), target="label")
    report(progress, 1.0)
    return ds


def load_data_file(kind: str, path: str | os.PathLike, *, target: str | None = None,
                   test_fraction: float = 0.2, seed: int = 0,
                   progress: Progress | None = None) -> Dataset:
    """Read a data file of ``kind`` (:data:`FILE_KINDS`); ``target`` is for CSV only."""
    if kind == "csv":
        from .csvdata import load_csv

        return load_csv(path, target=target, test_fraction=test_fraction, seed=seed,
                        progress=progress)
    if kind == "npz":
        return load_npz(path, test_fraction=test_fraction, seed=seed, progress=progress)
    if kind == "idx":
        return load_idx(path, test_fraction=test_fraction, seed=seed, progress=progress)
    raise DataError(f"unknown kind of data file {kind!r}; use one of {', '.join(FILE_KINDS)}")
