"""Session files: a network in training, saved and restored without pickle.

A session file is a zip archive::

    session.json            format, version, spec, dtype, training settings,
                            data choice, step, epoch, optimizer scalars,
                            sampler state (random generator, position)
    weights/W0.npy ...      one array per parameter (np.save, allow_pickle=False)
    optimizer/m.W0.npy ...  one array per optimizer slot (momentum v, Adam m and s)
    sampler/perm.npy        the current epoch's shuffled order

Saving is atomic: the archive is written to a temporary file in the same
folder, flushed to disk, then renamed over the target. Loading trusts
nothing: every failure (not a zip, truncated, a missing member, bad JSON, a
pickled or object array, a wrong shape, NaN weights, an unknown version, an
oversized member) is a :class:`SessionError` with a one-line message.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .archive import (
    MAX_TOTAL_BYTES,
    READ_ERRORS,
    ArchiveReader,
    first_line,
    npy_bytes,
    write_archive,
)
from .errors import BpvizError, DataError, SessionError
from .files import regular_file
from .fitting import fit_to_data
from .network import DTYPES, Network
from .presets import DataChoice, resolve_csv_path
from .spec import NetworkSpec
from .trainer import TrainConfig, Trainer

FORMAT = "bpviz-session"
VERSION = 1
#: Largest session.json read (the arrays' limits are in :mod:`.archive`).
MAX_JSON_BYTES = 16 * 2**20

_SLOT_PREFIXES = {"sgd": (), "momentum": ("v",), "adam": ("m", "s")}


@dataclass(frozen=True)
class Session:
    """What a session file holds.

    Attributes
    ----------
    spec : the network's architecture
    weights : ``{"W0": (m, n), "b0": (m,), ...}`` host arrays, one per owning layer
    dtype : ``"float32"`` or ``"float64"``
    config : the training settings
    data : the data set choice
    trainer_state : what :meth:`Trainer.state_dict` gave: ``step``, ``epoch``,
        ``config``, ``optimizer`` (with its ``slots`` arrays), plus ``sampler``
        (``rng`` state, ``perm``, ``pos``) so training resumes exactly
    step, epoch : where training was
    version : the file format version
    preset : the preset the session started from, if any
    seed : the network's initialisation seed
    """

    spec: NetworkSpec
    weights: dict[str, np.ndarray]
    dtype: str
    config: TrainConfig
    data: DataChoice
    trainer_state: dict[str, Any] = field(default_factory=dict)
    step: int = 0
    epoch: int = 0
    version: int = VERSION
    preset: str | None = None
    seed: int | None = None

    def build(
        self,
        backend: str = "numpy",
        *,
        dtype: str | None = None,
        config: TrainConfig | None = None,
        data: DataChoice | None = None,
        dataset: Any = None,
    ) -> tuple[Network, Trainer, Any]:
        """Rebuild ``(Network, Trainer, Dataset)`` with the saved weights and state.

        ``dtype``, ``config`` and ``data`` override the saved ones (a different
        optimizer starts with fresh state); ``dataset`` skips loading the data.

        The data must fit the saved network as it is: if the fitting policy
        (:func:`~bpviz.engine.fitting.fit_to_data`) would change it, this
        raises :class:`SessionError` instead of refitting, because a refitted
        network would throw the trained weights away; the file stays usable
        with matching data.
        """
        if dataset is None:
            check_data_file(data or self.data)
        ds = dataset if dataset is not None else (data or self.data).load()
        fitted = fit_to_data(self.spec, ds)
        if fitted.spec != self.spec:
            why = f" ({fitted.note})" if fitted.changes else ""
            raise SessionError(
                f"the session's trained network is {self.spec.describe()}, but the data set "
                f"{ds.name} ({ds.n_features} features) needs {fitted.spec.describe()}{why}; "
                "pick data that fits the session, or start a new network on this data "
                "(the trained weights only fit their own shapes)"
            )
        net = Network(self.spec, seed=self.seed, dtype=dtype or self.dtype, backend=backend)
        net.set_weights(self.weights)
        cfg = config or self.config
        trainer = Trainer(net, ds, cfg)
        state = dict(self.trainer_state)
        opt = state.pop("optimizer", None)
        if opt is not None and opt.get("name") == trainer.config.optimizer:
            slots = {k: np.asarray(v, dtype=net.dtype) for k, v in opt.get("slots", {}).items()}
            state["optimizer"] = {**opt, "slots": slots}
        if not (cfg.seed == self.config.seed and data is None and dataset is None):
            state.pop("sampler", None)  # other data or seed: start a fresh epoch
        trainer.load_state_dict(state)
        return net, trainer, ds


def check_data_file(choice: DataChoice) -> None:
    """For a CSV choice: its file must be a regular file (not a device, a FIFO or a
    link to one), else :class:`~bpviz.engine.errors.DataError` before it is read."""
    if choice.name != "csv":
        return
    try:
        regular_file(resolve_csv_path(choice.csv_path or ""), "CSV file")
    except BpvizError as exc:
        raise DataError(str(exc)) from None


# ------------------------------------------------------------------ saving


def save_session(
    path: str | os.PathLike,
    net: Network,
    trainer_or_config: Trainer | TrainConfig,
    data: DataChoice,
    *,
    step: int | None = None,
    epoch: int | None = None,
    preset: str | None = None,
) -> Path:
    """Write ``net`` (and the trainer's state) to a session file, atomically.

    ``trainer_or_config`` is the :class:`Trainer` (its step, epoch, settings,
    optimizer state and sampler are saved) or just a :class:`TrainConfig`
    (a fresh start). ``step``/``epoch`` override the trainer's counters.
    Returns the path written; raises :class:`SessionError` if it cannot be.
    """
    if not isinstance(data, DataChoice):
        raise SessionError(f"the data choice must be a DataChoice, got {type(data).__name__}")
    if isinstance(trainer_or_config, Trainer):
        trainer = trainer_or_config
        state = trainer.state_dict()
        config = trainer.config
        sampler = state.pop("sampler", None)
    elif isinstance(trainer_or_config, TrainConfig):
        trainer, state, sampler = None, {"step": 0, "epoch": 0}, None
        config = trainer_or_config
    else:
        raise SessionError(
            f"save_session needs a Trainer or a TrainConfig, got {type(trainer_or_config).__name__}"
        )
    step = int(state.get("step", 0) if step is None else step)
    epoch = int(state.get("epoch", 0) if epoch is None else epoch)
    members: dict[str, bytes] = {}
    weights = net.get_weights()
    for k, v in weights.items():
        if not np.all(np.isfinite(v)):
            raise SessionError(f"weight {k} holds NaN or infinity; not saving a diverged network")
        members[f"weights/{k}.npy"] = npy_bytes(v)
    meta: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "spec": net.spec.to_dict(),
        "dtype": net.dtype.name,
        "seed": net.seed,
        "config": config.to_dict(),
        "data": data.to_dict(),
        "preset": preset,
        "step": step,
        "epoch": epoch,
        "weights": sorted(weights),
    }
    opt = state.get("optimizer")
    if opt is not None:
        slots = opt.get("slots", {})
        meta["optimizer"] = {k: v for k, v in opt.items() if k != "slots"}
        meta["optimizer"]["slots"] = sorted(slots)
        for k, v in slots.items():
            members[f"optimizer/{k}.npy"] = npy_bytes(np.asarray(v))
    if sampler is not None:
        meta["sampler"] = {"rng": sampler["rng"], "pos": sampler["pos"]}
        members["sampler/perm.npy"] = npy_bytes(sampler["perm"])
    members = {"session.json": json.dumps(meta, indent=1, allow_nan=False).encode(), **members}
    return write_archive(Path(path), members)


# ------------------------------------------------------------------ loading


def load_session(path: str | os.PathLike) -> Session:
    """Read and validate a session file; :class:`SessionError` on any problem."""
    p = Path(path)
    name = p.name or str(p)
    try:  # no device, FIFO (it would block), link to one, folder or huge file
        regular_file(p, "session file", MAX_TOTAL_BYTES)
    except BpvizError as exc:
        raise SessionError(str(exc)) from None
    try:
        with zipfile.ZipFile(p) as zf:
            return _read(zf)
    except SessionError:
        raise
    except FileNotFoundError:
        raise SessionError(f"{p}: no such session file; check the path") from None
    except zipfile.BadZipFile:
        raise SessionError(
            f"{name} is not a bpviz session file (not a zip archive, or truncated)"
        ) from None
    except BpvizError as exc:
        raise SessionError(f"{name}: " + " ".join(str(exc).split())) from None
    except RecursionError:
        raise SessionError(f"{name}: session.json is nested too deeply") from None
    except READ_ERRORS as exc:
        raise SessionError(f"{name} is damaged or truncated ({first_line(exc)})") from None


def _read(zf: zipfile.ZipFile) -> Session:
    ar = ArchiveReader(zf)
    raw = ar.read("session.json", MAX_JSON_BYTES)
    try:
        meta = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SessionError("session.json is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise SessionError(
            f"session.json is not valid JSON (line {exc.lineno}: {exc.msg})"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise SessionError("session.json does not describe a bpviz session")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version != VERSION:
        raise SessionError(
            f"session format version {version!r} is not supported; this bpviz "
            f"reads version {VERSION}"
        )
    for key in ("spec", "dtype", "config", "data"):
        if key not in meta:
            raise SessionError(f"session.json lacks {key!r}")
    try:
        spec = NetworkSpec.from_dict(meta["spec"])
        config = TrainConfig.from_dict(meta["config"])
        data = DataChoice.from_dict(meta["data"])
    except TypeError as exc:
        raise SessionError(f"session.json has a field of the wrong type ({exc})") from None
    dtype = meta["dtype"]
    if dtype not in DTYPES:
        raise SessionError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    step, epoch = _count(meta, "step"), _count(meta, "epoch")
    seed = meta.get("seed")
    if seed is not None and (not _whole(seed) or seed < 0):
        raise SessionError(f"seed must be a whole number >= 0 or null, got {seed!r}")
    preset = meta.get("preset")
    if preset is not None and not isinstance(preset, str):
        raise SessionError("preset must be a name or null")

    shapes = _param_shapes(spec)
    weights = {}
    for key, shape in shapes.items():
        a = ar.array(f"weights/{key}.npy", shape)
        if not np.all(np.isfinite(a)):
            raise SessionError(
                f"weight {key} holds NaN or infinity; the session was saved from a diverged network"
            )
        weights[key] = a
    state: dict[str, Any] = {"step": step, "epoch": epoch, "config": config.to_dict()}
    if "optimizer" in meta:
        state["optimizer"] = _optimizer(ar, meta["optimizer"], config, shapes)
    if "sampler" in meta:
        state["sampler"] = _sampler(ar, meta["sampler"])
    return Session(spec, weights, dtype, config, data, state, step, epoch, version, preset, seed)


def _whole(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _count(meta: dict, key: str) -> int:
    v = meta.get(key, 0)
    if not _whole(v) or not 0 <= v < 2**63:
        raise SessionError(f"{key} must be a whole number >= 0, got {v!r}")
    return v


def _param_shapes(spec: NetworkSpec) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    for i, ly in enumerate(spec.layers):
        if ly.tie_to is None:
            m, n = spec.weight_shape(i)
            shapes[f"W{i}"], shapes[f"b{i}"] = (m, n), (m,)
    return shapes


def _optimizer(
    ar: ArchiveReader,
    opt: Any,
    config: TrainConfig,
    shapes: dict[str, tuple[int, ...]],
) -> dict[str, Any]:
    if not isinstance(opt, dict):
        raise SessionError("the optimizer state in session.json must be an object")
    name = opt.get("name")
    if name != config.optimizer:
        raise SessionError(
            f"the optimizer state is for {name!r} but the settings say {config.optimizer!r}"
        )
    t = opt.get("t", 0)
    if not _whole(t) or t < 0:
        raise SessionError(f"the optimizer step count must be a whole number >= 0, got {t!r}")
    slot_names = opt.get("slots", [])
    if not isinstance(slot_names, list) or not all(isinstance(s, str) for s in slot_names):
        raise SessionError("the optimizer's slots must be a list of names")
    slots = {}
    for s in slot_names:
        prefix, _, key = s.partition(".")
        if prefix not in _SLOT_PREFIXES.get(name, ()) or key not in shapes:
            raise SessionError(f"unknown optimizer slot {s!r} for {name}")
        a = ar.array(f"optimizer/{s}.npy", shapes[key])
        if not np.all(np.isfinite(a)):
            raise SessionError(f"optimizer slot {s} holds NaN or infinity")
        slots[s] = a
    scalars = {k: v for k, v in opt.items() if k != "slots"}
    for k, v in scalars.items():
        if k != "name" and (
            isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
        ):
            raise SessionError(f"optimizer setting {k!r} must be a finite number, got {v!r}")
    return {**scalars, "slots": slots}


def _sampler(ar: ArchiveReader, s: Any) -> dict[str, Any]:
    if not isinstance(s, dict) or not isinstance(s.get("rng"), dict):
        raise SessionError("the sampler state in session.json must be an object with 'rng'")
    pos = s.get("pos")
    perm = ar.array("sampler/perm.npy", None, kind="i")
    if perm.ndim != 1 or not _whole(pos) or not 0 <= pos <= perm.size:
        raise SessionError("the sampler state is inconsistent (position outside the epoch)")
    rng = np.random.default_rng()
    try:
        rng.bit_generator.state = s["rng"]
    except (TypeError, ValueError, KeyError, OverflowError):
        raise SessionError("the sampler's random generator state is not valid") from None
    return {"rng": s["rng"], "perm": perm, "pos": pos}


__all__ = ["FORMAT", "VERSION", "Session", "check_data_file", "load_session", "save_session"]
