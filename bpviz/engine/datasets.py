"""Data sets: TensorFlow-Playground-style 2-D generators, 8x8 digits, and data files.

Every data set is a :class:`Dataset` of host NumPy arrays, one sample per row:
``X`` is (N, d) float64 (float32 when read from a file) and ``y`` is (N,) int64
labels 0..C-1 (classification) or (N, t) float64 targets (regression).
Features are left raw: standardising them (and the train/test statistics that
needs) is the caller's job. The readers of files live in ``csvdata`` (CSV)
and ``loaders`` (.npz, IDX, and the limits all readers share).

The 2-D generators follow TensorFlow Playground's ``dataset.ts``: points are
made in Playground units (its view is [-6, 6]^2) and divided by 6, so the
coordinates lie roughly in [-1, 1]. ``noise`` in [0, 1] maps to Playground's
noise slider 0..50 %. Everything is drawn from ``np.random.default_rng(seed)``
and is bitwise reproducible. This module never imports Qt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache, partial

import numpy as np

from ..resources import resources_dir
from .errors import DataError

__all__ = [
    "DATASETS",
    "REGRESSION",
    "SYNTHETIC_2D",
    "Dataset",
    "describe_datasets",
    "load_csv",
    "make_dataset",
]

_DESCRIPTIONS = {
    "circle": "two classes: inside or outside a circle",
    "xor": "two classes: the sign of x*y (four quadrants)",
    "gauss": "two classes: two Gaussian clusters (noise widens them)",
    "spiral": "two classes: two interleaved spirals",
    "moons": "two classes: two interleaved half circles",
    "blobs": "n_classes (2-10) Gaussian blobs on a circle",
    "plane": "regression: target = (x + y) / 10 in Playground units, a tilted plane",
    "reg_gauss": "regression: six signed cone-shaped bumps (height +-1, radius 2 in "
                 "Playground units); the target is the tallest bump at the point",
    "digits": "8x8 handwritten digits, 1797 images, 10 classes, pixels in [0, 1]",
}
DATASETS: tuple[str, ...] = tuple(_DESCRIPTIONS)
REGRESSION: tuple[str, ...] = ("plane", "reg_gauss")
SYNTHETIC_2D: tuple[str, ...] = tuple(n for n in DATASETS if n != "digits")

MAX_SAMPLES = 1_000_000
MAX_INT_CLASSES = 20
_PG = 6.0  # Playground units per output unit


@dataclass(frozen=True)
class Dataset:
    """A train/test split of one data set.

    Attributes
    ----------
    X_train, X_test : ndarray, (N, d) float64 (built-in sets) or float32 (files), C-contiguous
    y_train, y_test : ndarray, (N,) int64 labels 0..C-1, or (N, t) float64 targets
    n_classes : int
        Number of classes C; 0 for regression.
    class_names, feature_names : tuple of str
    image_shape : (rows, cols) or None
        Set when each row of X is an image, e.g. (8, 8) for digits.
    x_mean, x_std : ndarray (d,) or None
        When the features were standardised (:func:`~bpviz.engine.presets.standardized`),
        the training rows' mean and std they were scaled by: raw = X * x_std + x_mean.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    class_names: tuple[str, ...] = ()
    feature_names: tuple[str, ...] = ()
    image_shape: tuple[int, int] | None = None
    description: str = ""
    x_mean: np.ndarray | None = None
    x_std: np.ndarray | None = None

    def __post_init__(self) -> None:
        d = self.X_train.shape[1] if self.X_train.ndim == 2 else -1
        ok = self.X_train.ndim == 2 and self.X_test.ndim == 2 and self.X_test.shape[1] == d
        ok = ok and len(self.y_train) == len(self.X_train) and len(self.y_test) == len(self.X_test)
        if self.n_classes > 0:
            ok = ok and self.y_train.ndim == 1 and self.y_test.ndim == 1
        else:
            ok = ok and self.y_train.ndim == 2 and self.y_test.shape[1:] == self.y_train.shape[1:]
        if not ok:
            raise DataError(
                f"data set {self.name!r}: inconsistent shapes X {self.X_train.shape}/"
                f"{self.X_test.shape}, y {self.y_train.shape}/{self.y_test.shape}; "
                "X must be (N, d) and y (N,) labels or (N, t) targets"
            )

    @property
    def task(self) -> str:
        """``"classification"`` if ``n_classes > 0`` else ``"regression"``."""
        return "classification" if self.n_classes > 0 else "regression"

    @property
    def n_features(self) -> int:
        """Number of input features d."""
        return int(self.X_train.shape[1])

    @property
    def n_targets(self) -> int:
        """Number of regression targets t; 1 for classification."""
        return 1 if self.n_classes > 0 else int(self.y_train.shape[1])


def describe_datasets() -> list[dict]:
    """Return ``[{"name", "task", "description"}, ...]`` for every built-in data set."""
    task = {n: "regression" if n in REGRESSION else "classification" for n in DATASETS}
    return [{"name": n, "task": task[n], "description": _DESCRIPTIONS[n]} for n in DATASETS]


# ---------------------------------------------------------------- validation


def _check_real(value: object, what: str, hi: float, use: str) -> float:
    """Return ``float(value)`` if it is a finite real number in [0, hi], else raise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise DataError(f"{what} {value!r} is not a number; {use}")
    if not (math.isfinite(float(value)) and 0.0 <= float(value) <= hi):
        raise DataError(f"{what} {value!r} is out of range; {use}")
    return float(value)


def _check_int(value: object, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DataError(f"{what} {value!r} is not a whole number; use an integer {lo} to {hi}")
    if not lo <= int(value) <= hi:
        raise DataError(f"{what} {value} is out of range; use an integer {lo} to {hi}")
    return int(value)


def _split(X: np.ndarray, y: np.ndarray, tf: float, rng: np.random.Generator):
    """Shuffle rows and cut off ``round(N * tf)`` test rows (keeping >= 1 train row)."""
    n = X.shape[0]
    n_test = min(round(n * tf), n - 1)
    perm = rng.permutation(n)
    te, tr = perm[:n_test], perm[n_test:]
    c = np.ascontiguousarray
    return c(X[tr]), c(y[tr]), c(X[te]), c(y[te])


# ---------------------------------------------------------------- generators
# Each takes (rng, n, noise) with noise in [0, 1] and returns (X (n, 2) in
# Playground units, y (n,) int64 labels or (n,) float64 targets).


def _halves(n: int) -> tuple[int, int]:
    return n // 2, n - n // 2


def _circle(rng, n, noise):
    radius, pn = 5.0, 0.5 * noise
    n1, n0 = _halves(n)
    r = np.concatenate([rng.uniform(0, radius * 0.5, n1), rng.uniform(radius * 0.7, radius, n0)])
    angle = rng.uniform(0, 2 * np.pi, n)
    X = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
    shift = rng.uniform(-radius, radius, (n, 2)) * pn  # label of a displaced point
    return X, (np.hypot(*(X + shift).T) < radius * 0.5).astype(np.int64)


def _xor(rng, n, noise):
    X = rng.uniform(-5, 5, (n, 2))
    X += np.where(X > 0, 0.3, -0.3)
    shift = rng.uniform(-5, 5, (n, 2)) * (0.5 * noise)
    return X, ((X + shift).prod(axis=1) >= 0).astype(np.int64)


def _gauss(rng, n, noise):
    std = math.sqrt(0.5 + 7.0 * (0.5 * noise))  # Playground: variance 0.5..4
    n1, n0 = _halves(n)
    X = np.concatenate([rng.normal(2, std, (n1, 2)), rng.normal(-2, std, (n0, 2))])
    return X, np.repeat(np.array([1, 0], np.int64), [n1, n0])


def _spiral(rng, n, noise):
    parts = []
    for m, dt in zip(_halves(n), (0.0, np.pi), strict=True):
        i = np.arange(m) / max(m, 1)
        r, t = i * 5, 1.75 * i * 2 * np.pi + dt
        xy = np.column_stack([r * np.sin(t), r * np.cos(t)])
        parts.append(xy + rng.uniform(-1, 1, (m, 2)) * (0.5 * noise))
    return np.concatenate(parts), np.repeat(np.array([1, 0], np.int64), _halves(n))


def _moons(rng, n, noise):
    n0, n1 = _halves(n)
    t = rng.uniform(0, np.pi, n)
    outer = np.column_stack([np.cos(t[:n0]), np.sin(t[:n0])])
    inner = np.column_stack([1 - np.cos(t[n0:]), 0.5 - np.sin(t[n0:])])
    X = np.concatenate([outer, inner]) - [0.5, 0.25] + rng.normal(0, 0.3 * noise, (n, 2))
    return X * 4.0, np.repeat(np.array([0, 1], np.int64), [n0, n1])


def _blobs(rng, n, noise, n_classes):
    counts = [n // n_classes + (k < n % n_classes) for k in range(n_classes)]
    angle = np.pi / 2 + 2 * np.pi * np.arange(n_classes) / n_classes
    centers = 3.5 * np.column_stack([np.cos(angle), np.sin(angle)])
    y = np.repeat(np.arange(n_classes, dtype=np.int64), counts)
    return centers[y] + rng.normal(0, 0.4 + 1.6 * noise, (n, 2)), y


def _plane(rng, n, noise):
    X = rng.uniform(-6, 6, (n, 2))
    shift = rng.uniform(-6, 6, (n, 2)) * (0.5 * noise)
    return X, (X + shift).sum(axis=1) / 10.0


_BUMPS = np.array(
    [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]]
)


def _reg_gauss_target(P: np.ndarray) -> np.ndarray:
    """Playground's ``regressGaussian`` label of points P (n, 2), in Playground units.

    Each bump is a clamped cone ``sign·max(0, 1 − d/2)`` (d: distance to its
    centre); the label is the bump of largest magnitude (the first one on a
    tie, 0 farther than 2 from every centre). Returns (n,) in [-1, 1].
    """
    d = np.hypot(P[:, None, 0] - _BUMPS[:, 0], P[:, None, 1] - _BUMPS[:, 1])  # (n, 6)
    mag = np.clip(1.0 - d / 2.0, 0.0, 1.0)
    best = mag.argmax(axis=1)
    return mag[np.arange(len(P)), best] * _BUMPS[best, 2] + 0.0  # + 0.0: no -0.0


def _reg_gauss(rng, n, noise):
    X = rng.uniform(-6, 6, (n, 2))
    P = X + rng.uniform(-6, 6, (n, 2)) * (0.5 * noise)
    return X, _reg_gauss_target(P)


_GENERATORS = {f.__name__[1:]: f for f in (_circle, _xor, _gauss, _spiral, _moons, _plane)}
_GENERATORS["reg_gauss"] = _reg_gauss


@lru_cache(maxsize=1)
def _digits_raw() -> tuple[np.ndarray, np.ndarray]:
    """Load ``resources/datasets/digits.npz``: X (1797, 64) uint8 0..16, y (1797,) 0..9."""
    path = resources_dir() / "datasets" / "digits.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            X, y = np.asarray(z["X"]), np.asarray(z["y"])
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(
            f"cannot read the digits data {path} ({exc}); reinstall bpviz or restore that file"
        ) from exc
    if X.shape != (1797, 64) or y.shape != (1797,):
        raise DataError(
            f"{path} holds X {X.shape}, y {y.shape}, not (1797, 64) and (1797,); "
            "restore the file from the bpviz repository"
        )
    X.setflags(write=False)  # cached: shared by every call
    y.setflags(write=False)
    return X, y


def make_dataset(
    name: str,
    *,
    n_samples: int | None = None,
    noise: float = 0.0,
    test_fraction: float = 0.2,
    seed: int = 0,
    n_classes: int = 3,
) -> Dataset:
    """Generate a built-in data set and split it into train and test rows.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    n_samples : int, optional
        Total rows N (train + test), 4..1,000,000. Default 500 for classification,
        1200 for regression (Playground's defaults), all 1797 for digits; for
        digits a smaller N draws a random subset and a larger one is capped at 1797.
    noise : float
        0 (clean) to 1 (Playground's 50 %). Ignored by digits.
    test_fraction : float
        0 to 0.9; ``round(N * test_fraction)`` rows go to the test set.
    seed : int
        Seed of ``np.random.default_rng``; same seed, same arrays.
    n_classes : int
        Number of classes C for ``"blobs"`` (2..10); checked but unused otherwise.

    Returns
    -------
    Dataset
        X (N, 2) float64 in about [-1, 1] (digits: (N, 64) in [0, 1]);
        y (N,) int64 labels, or (N, 1) float64 targets for regression.
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise DataError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    if n_samples is not None:
        n_samples = _check_int(n_samples, "n_samples", 4, MAX_SAMPLES)
    noise = _check_real(noise, "noise", 1.0, "use 0 (clean) to 1")
    tf = _check_real(test_fraction, "test_fraction", 0.9, "use 0 to 0.9")
    seed = _check_int(seed, "seed", 0, 2**63 - 1)
    n_classes = _check_int(n_classes, "n_classes", 2, 10)
    rng = np.random.default_rng(seed)
    n = n_samples if n_samples is not None else (1200 if name in REGRESSION else 500)
    feats, shape = ("x1", "x2"), None
    if name == "digits":
        X, y = _digits_raw()
        if n_samples is not None and n_samples < len(X):
            idx = rng.choice(len(X), n_samples, replace=False)
            X, y = X[idx], y[idx]
        X, C, shape = X / 16.0, 10, (8, 8)
        feats = tuple(f"r{r}c{c}" for r in range(8) for c in range(8))
    else:
        if name == "blobs" and n < n_classes:
            raise DataError(f"n_samples {n} is less than n_classes {n_classes}; use more samples")
        gen = partial(_blobs, n_classes=n_classes) if name == "blobs" else _GENERATORS[name]
        X, y = gen(rng, n, noise)
        X, C = X / _PG, {"blobs": n_classes, "plane": 0, "reg_gauss": 0}.get(name, 2)
    X = np.asarray(X, dtype=np.float64)
    y = y.astype(np.float64).reshape(-1, 1) if C == 0 else y.astype(np.int64)
    return Dataset(name, *_split(X, y, tf, rng), n_classes=C,
                   class_names=tuple(str(k) for k in range(C)), feature_names=feats,
                   image_shape=shape, description=_DESCRIPTIONS[name])  # fmt: skip


from .csvdata import load_csv  # noqa: E402  (re-exported; csvdata imports Dataset)
