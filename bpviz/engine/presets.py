"""Presets: a network, a data set, training settings and a lesson, ready to play.

A preset is a JSON file ``resources/presets/NAME.json``::

    {"name": "xor", "title": "...", "description": "one line",
     "spec": {...NetworkSpec.to_dict()...},
     "data": {...DataChoice.to_dict()...},
     "train": {...TrainConfig.to_dict(), partial is fine...},
     "lesson": "text" or ["line", "line", ...],
     "views": ["matrices", "equations"], "steps_hint": 3000}

:class:`DataChoice` names a data set (a built-in of
:mod:`bpviz.engine.datasets`, or a CSV, ``.npz`` or IDX file) with its generation settings, so a
preset or a session can rebuild exactly the same arrays. Everything here is
plain, validated data; nothing imports Qt.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..resources import resources_dir
from .datasets import DATASETS, Dataset, make_dataset
from .errors import BpvizError, DataError, SpecError
from .files import regular_file
from .loaders import FILE_KINDS, MAX_ABS_FEATURE, Progress, load_data_file, too_large
from .spec import NetworkSpec
from .trainer import TrainConfig

#: The views a preset may ask the app to open.
VIEWS = ("matrices", "outer-product", "equations", "gradcheck", "timing", "tied", "graph",
         "explain", "weight-images")

#: A ``csv_path`` that starts with this is relative to bpviz's resources folder.
RESOURCE_PREFIX = "bpviz:"
#: A ``csv_path`` that starts with this names a data file whose rows a session file
#: holds (``embedded:grades.csv``); there is no file on disk to read.
EMBEDDED_PREFIX = "embedded:"

#: Largest preset or spec file read, in bytes.
MAX_JSON_BYTES = 1 << 20

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def presets_dir() -> Path:
    """The folder of the preset JSON files."""
    return resources_dir() / "presets"


def resolve_csv_path(path: str) -> Path:
    """A CSV path as a :class:`Path`; ``bpviz:presets/xor.csv`` lies in the resources."""
    if path.startswith(RESOURCE_PREFIX):
        rel = Path(path[len(RESOURCE_PREFIX) :])
        if rel.is_absolute() or ".." in rel.parts:
            raise DataError(
                f"{path!r}: a {RESOURCE_PREFIX} path must stay inside bpviz's resources folder"
            )
        return resources_dir() / rel
    if path.startswith(EMBEDDED_PREFIX):
        raise DataError(
            f"{path[len(EMBEDDED_PREFIX):]}: its rows are embedded in the session file, not "
            "on disk; import the file again to read or split it differently")
    return Path(path)


# ------------------------------------------------------------------ data choice


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _is_whole(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


@dataclass(frozen=True)
class DataChoice:
    """Which data set, and how to make it: enough to rebuild the same arrays.

    Attributes
    ----------
    name : a :data:`~bpviz.engine.datasets.DATASETS` name, or the kind of data
        file: ``"csv"``, ``"npz"`` or ``"idx"`` (:data:`~bpviz.engine.loaders.FILE_KINDS`)
    noise : 0 (clean) to 1, for the generated 2-D sets
    test_fraction : 0 to 0.9 of the rows held out as the test set
    seed : seed of the generator and of the train/test split
    n_samples : total rows (None: the data set's default)
    n_classes : classes of ``"blobs"`` (2..10)
    csv_path : the data file of a file kind (the name is historical: sessions
        keep it); ``bpviz:...`` = inside bpviz; for IDX, the images file
    target : the CSV target column (None: the last one)
    standardize : scale features to mean 0, std 1 using the training rows'
        statistics; None means "for CSV and npz files only" (built-ins and
        IDX images are already in about [-1, 1])
    """

    name: str
    noise: float = 0.0
    test_fraction: float = 0.2
    seed: int = 0
    n_samples: int | None = None
    n_classes: int = 3
    csv_path: str | None = None
    target: str | None = None
    standardize: bool | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> DataChoice:
        """Raise :class:`DataError` on a bad field; return self."""
        if not isinstance(self.name, str) or self.name not in (*DATASETS, *FILE_KINDS):
            raise DataError(
                f"unknown data set {self.name!r}; choose one of "
                f"{', '.join(DATASETS)}, or a data file (csv, npz, idx)"
            )
        if not _is_number(self.noise) or not (math.isfinite(self.noise) and 0 <= self.noise <= 1):
            raise DataError(f"noise must be a number from 0 to 1, got {self.noise!r}")
        if not _is_number(self.test_fraction) or not (
            math.isfinite(self.test_fraction) and 0 <= self.test_fraction <= 0.9
        ):
            raise DataError(
                f"test fraction must be a number from 0 to 0.9, got {self.test_fraction!r}"
            )
        if not _is_whole(self.seed) or not 0 <= self.seed < 2**63:
            raise DataError(f"seed must be a whole number >= 0, got {self.seed!r}")
        if self.n_samples is not None and (
            not _is_whole(self.n_samples) or not 4 <= self.n_samples <= 1_000_000
        ):
            raise DataError(
                f"samples must be a whole number from 4 to 1000000, got {self.n_samples!r}"
            )
        if not _is_whole(self.n_classes) or not 2 <= self.n_classes <= 10:
            raise DataError(f"classes must be a whole number from 2 to 10, got {self.n_classes!r}")
        if self.name in FILE_KINDS:
            if not isinstance(self.csv_path, str) or not self.csv_path.strip():
                raise DataError(f"a {self.name} data choice needs the file's path (csv_path)")
        elif self.csv_path is not None:
            raise DataError(
                f"csv_path is only for CSV, npz and IDX data files, not for {self.name!r}")
        if self.target is not None and (self.name != "csv" or not isinstance(self.target, str)):
            raise DataError("a target column can only be named for CSV data")
        if self.standardize is not None and not isinstance(self.standardize, bool):
            raise DataError(f"standardize must be true, false or null, got {self.standardize!r}")
        return self

    @property
    def standardizes(self) -> bool:
        """Whether :meth:`load` standardises the features."""
        return self.name in ("csv", "npz") if self.standardize is None else self.standardize

    @property
    def is_file(self) -> bool:
        """Whether the data comes from a file (``csv_path``)."""
        return self.name in FILE_KINDS

    def load(self, progress: Progress | None = None) -> Dataset:
        """Make or read the data set (seeded: the same choice gives the same arrays).

        ``progress(fraction) -> bool`` is called while a file is read; False
        cancels (:class:`~bpviz.engine.loaders.ImportCancelled`).
        """
        if self.is_file:
            ds = load_data_file(
                self.name,
                resolve_csv_path(self.csv_path or ""),
                target=self.target,
                test_fraction=float(self.test_fraction),
                seed=int(self.seed),
                progress=progress,
            )
        else:
            ds = make_dataset(
                self.name,
                n_samples=self.n_samples,
                noise=float(self.noise),
                test_fraction=float(self.test_fraction),
                seed=int(self.seed),
                n_classes=int(self.n_classes),
            )
        return standardized(ds) if self.standardizes else ds

    @property
    def embedded(self) -> bool:
        """Whether a session file holds this data file's rows (no file on disk)."""
        return self.is_file and str(self.csv_path).startswith(EMBEDDED_PREFIX)

    @property
    def file_name(self) -> str:
        """A data file's name for labels: ``grades.csv``, or ``grades.csv (embedded)``
        when a session file holds its rows; "" for a built-in data set."""
        path = str(self.csv_path or "")
        if path.startswith(EMBEDDED_PREFIX):
            return f"{path[len(EMBEDDED_PREFIX):]} (embedded)"
        return path.replace("\\", "/").rsplit("/", 1)[-1]

    def describe(self) -> str:
        """E.g. ``spiral (noise 0.1)`` or ``csv iris.csv``."""
        if self.is_file:
            path = self.file_name if self.embedded else self.csv_path
            return (f"{self.name} {path}"
                    + (f" (target {self.target})" if self.target else ""))
        extra = []
        if self.noise:
            extra.append(f"noise {self.noise:g}")
        if self.name == "blobs":
            extra.append(f"{self.n_classes} classes")
        if self.n_samples is not None:
            extra.append(f"{self.n_samples} samples")
        return self.name + (f" ({', '.join(extra)})" if extra else "")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "noise": float(self.noise),
            "test_fraction": float(self.test_fraction),
            "seed": int(self.seed),
        }
        if self.n_samples is not None:
            d["n_samples"] = int(self.n_samples)
        if self.name == "blobs" or self.n_classes != 3:
            d["n_classes"] = int(self.n_classes)
        for key in ("csv_path", "target", "standardize"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        return d

    @classmethod
    def from_dict(cls, d: Any) -> DataChoice:
        """Build and validate a choice from plain data (e.g. parsed JSON)."""
        if not isinstance(d, dict):
            raise DataError(f"a data choice must be a JSON object, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise DataError(
                f"unknown data keys: {', '.join(sorted(map(repr, unknown)))}; "
                f"allowed: {', '.join(sorted(known))}"
            )
        if "name" not in d:
            raise DataError("a data choice needs a 'name'")
        return cls(**d)


def _column_stats(X: np.ndarray, rows: int = 4096) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, std and max |x| of each column of X (N, d), in float64, a block of rows
    at a time (no float64 copy of X)."""
    d = X.shape[1]
    total, big = np.zeros(d), np.zeros(d)
    for i in range(0, len(X), rows):
        part = X[i:i + rows]
        total += part.sum(axis=0, dtype=np.float64)
        big = np.maximum(big, np.abs(part).max(axis=0))
    mean = total / max(len(X), 1)
    sq = np.zeros(d)
    for i in range(0, len(X), rows):
        sq += np.square(X[i:i + rows] - mean).sum(axis=0)
    return mean, np.sqrt(sq / max(len(X), 1)), big


def standardized(ds: Dataset) -> Dataset:
    """``ds`` with features scaled by the training rows' mean and std (std 0 -> 1).

    The statistics are float64 and the result keeps X's dtype. A column with
    values beyond :data:`~bpviz.engine.loaders.MAX_ABS_FEATURE` (or not finite)
    is refused by name: standardising would square it to inf.
    """
    if not len(ds.X_train):
        return ds
    mean, std, big = _column_stats(ds.X_train)
    bad = np.flatnonzero(~(big <= MAX_ABS_FEATURE) | ~np.isfinite(std))
    if bad.size:
        j = int(bad[0])
        col = ds.feature_names[j] if j < len(ds.feature_names) else f"x{j + 1}"
        raise too_large(ds.name, col, float(big[j]))
    std = np.where(std > 1e-12, std, 1.0)
    dt = ds.X_train.dtype
    mean, std = mean.astype(dt), std.astype(dt)

    def scale(X: np.ndarray) -> np.ndarray:
        out = np.subtract(X, mean, dtype=dt)
        out /= std
        return out

    return replace(ds, X_train=scale(ds.X_train), X_test=scale(ds.X_test), x_mean=mean,
                   x_std=std)


# ------------------------------------------------------------------ presets


@dataclass(frozen=True)
class Preset:
    """A ready-made lesson: network, data, training settings and what to watch.

    ``views`` are the app's views to open (from :data:`VIEWS`); ``steps_hint``
    is how many mini-batches it takes to see the point (the CLI's default).
    """

    name: str
    title: str
    description: str
    spec: NetworkSpec
    data: DataChoice
    train: TrainConfig
    lesson: str
    views: tuple[str, ...] = ("matrices",)
    steps_hint: int = 1000

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "spec": self.spec.to_dict(),
            "data": self.data.to_dict(),
            "train": self.train.to_dict(),
            "lesson": self.lesson,
            "views": list(self.views),
            "steps_hint": self.steps_hint,
        }


_PRESET_KEYS = (
    "name",
    "title",
    "description",
    "spec",
    "data",
    "train",
    "lesson",
    "views",
    "steps_hint",
)


def preset_from_dict(d: Any) -> Preset:
    """Build and validate a :class:`Preset` from plain data (e.g. parsed JSON).

    Raises :class:`BpvizError` (a :class:`SpecError`, :class:`DataError` ...)
    that says which field is wrong.
    """
    if not isinstance(d, dict):
        raise SpecError(f"a preset must be a JSON object, got {type(d).__name__}")
    unknown = set(d) - set(_PRESET_KEYS)
    if unknown:
        raise SpecError(
            f"unknown preset keys: {', '.join(sorted(map(repr, unknown)))}; "
            f"allowed: {', '.join(_PRESET_KEYS)}"
        )
    missing = [k for k in ("name", "spec", "data") if k not in d]
    if missing:
        raise SpecError(f"a preset needs {', '.join(repr(k) for k in missing)}")
    name = d["name"]
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise SpecError(f"preset name must be lower-case letters, digits, '-' or '_', got {name!r}")
    texts = {}
    for key in ("title", "description"):
        v = d.get(key, name if key == "title" else "")
        if not isinstance(v, str) or "\n" in v:
            raise SpecError(f"preset {name}: '{key}' must be one line of text")
        texts[key] = v.strip()
    lesson = d.get("lesson", "")
    if isinstance(lesson, list) and all(isinstance(s, str) for s in lesson):
        lesson = "\n".join(lesson)
    if not isinstance(lesson, str):
        raise SpecError(f"preset {name}: 'lesson' must be text or a list of lines")
    views = d.get("views", ["matrices"])
    if not isinstance(views, list) or not all(isinstance(v, str) and v in VIEWS for v in views):
        raise SpecError(f"preset {name}: 'views' must be a list drawn from {', '.join(VIEWS)}")
    steps = d.get("steps_hint", 1000)
    if not _is_whole(steps) or not 1 <= steps <= 10_000_000:
        raise SpecError(
            f"preset {name}: 'steps_hint' must be a whole number from 1 to 10000000, got {steps!r}"
        )
    train = d.get("train", {})
    try:
        spec = NetworkSpec.from_dict(d["spec"])
        data = DataChoice.from_dict(d["data"])
        config = TrainConfig.from_dict(train)
    except TypeError as exc:  # e.g. a wrongly typed field reaching a constructor
        raise SpecError(f"preset {name}: {exc}") from None
    except BpvizError as exc:
        raise type(exc)(f"preset {name}: " + " ".join(str(exc).split())) from None
    return Preset(
        name,
        texts["title"],
        texts["description"],
        spec,
        data,
        config,
        lesson.strip(),
        tuple(views),
        int(steps),
    )


def read_json(path: str | Path, what: str = "file") -> Any:
    """Parse a small JSON file, with one-line :class:`BpvizError` messages."""
    p = regular_file(path, what, MAX_JSON_BYTES)  # no device, FIFO, folder or huge file
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BpvizError(f"{p}: no such {what}; check the path") from None
    except UnicodeDecodeError:
        raise BpvizError(f"{p}: not a text file; a {what} is UTF-8 JSON") from None
    except OSError as exc:
        raise BpvizError(f"{p}: cannot read ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BpvizError(
            f"{p}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise BpvizError(f"{p}: JSON nested too deeply") from None


def preset_names() -> list[str]:
    """Names of the shipped presets, sorted."""
    d = presets_dir()
    return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []


def load_preset(name: str) -> Preset:
    """The shipped preset ``name``; :class:`SpecError` listing the names if unknown."""
    names = preset_names()
    if not isinstance(name, str) or name not in names:
        raise SpecError(
            f"unknown preset {name!r}; choose one of {', '.join(names)} (bpviz presets lists them)"
        )
    path = presets_dir() / f"{name}.json"
    preset = preset_from_dict(read_json(path, "preset"))
    if preset.name != name:
        raise SpecError(f"{path} is named {preset.name!r} inside; rename one to match")
    return preset


def list_presets() -> list[Preset]:
    """Every shipped preset, sorted by name."""
    return [load_preset(n) for n in preset_names()]
