"""Session files: a network in training, saved and restored without pickle.

A session file (extension ``.bpviz``) is a zip archive that holds the whole
session, so that a teacher can hand it to a student::

    session.json            format, version, spec, dtype, training settings,
                            data choice, step, epoch, optimizer scalars,
                            sampler state (random generator, position),
                            notation, view state (the window's panels and their
                            choices), the columns of the history, what the
                            embedded data set is (names, classes, image shape)
    weights/W0.npy ...      one array per parameter (np.save, allow_pickle=False)
    optimizer/m.W0.npy ...  one array per optimizer slot (momentum v, Adam m and s)
    sampler/perm.npy        the current epoch's shuffled order
    history/steps.npy       (N, 2) int64: step and epoch of each kept step record
    history/values.npy      (N, C) float64: loss, accuracy, evaluation losses, ...
                            (NaN = none), the columns named in session.json
    history/grad_norms.npy  (N, G) float64: the records' gradient norms
    data/X_train.npy ...    a data file's rows (CSV, npz, IDX), as the network
                            sees them, with ``x_mean``/``x_std`` when standardised

A data set made from a seed (circle, digits, ...) or shipped with bpviz
(``bpviz:...``) is stored as its :class:`~bpviz.engine.presets.DataChoice`,
which rebuilds it exactly; a user's data file is embedded (its rows, never its
path: ``embedded:grades.csv``). The history is bounded: at most
:data:`MAX_HISTORY_ROWS` records, evenly thinned (the last one kept).

What a session does not keep: the timeline's matrices of earlier steps and the
checkpoints that continue from them (hundreds of MB, kept in the window's memory
only). A reopened session has the newest step and the curves of every step; its
timeline starts again from that step. The window says so when it saves and opens.

Version 1 files (no history, notation, view state or embedded data) still open.

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
from collections.abc import Iterable
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
from .datasets import Dataset
from .errors import BpvizError, DataError, SessionError
from .files import regular_file
from .fitting import fit_to_data
from .network import DTYPES, Network
from .presets import DataChoice, resolve_csv_path
from .records import StepRecord
from .session_members import (
    MAX_HISTORY_ROWS,
    embed,
    embeds,
    history_members,
    read_embedded,
    read_history,
    whole,
)
from .spec import NetworkSpec
from .trainer import TrainConfig, Trainer

FORMAT = "bpviz-session"
VERSION = 2
#: The format versions this bpviz reads (1: before history, notation, views and data).
READABLE_VERSIONS = (1, 2)
#: The file name extension of session files.
EXTENSION = ".bpviz"
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
    notation : the display notation, ``"out_in"`` or ``"in_out"``
    view : the window's view state (plain JSON: open panels and their choices)
    history : step records without matrices (scalars: losses, accuracies,
        gradient norms), oldest first
    dataset : the embedded data set of a data file (``data.embedded``), else None
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
    notation: str = "out_in"
    view: dict[str, Any] = field(default_factory=dict)
    history: tuple[StepRecord, ...] = ()
    dataset: Dataset | None = None

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
        Embedded data (:attr:`dataset`) is used as it is, without a file.

        The data must fit the saved network as it is: if the fitting policy
        (:func:`~bpviz.engine.fitting.fit_to_data`) would change it, this
        raises :class:`SessionError` instead of refitting, because a refitted
        network would throw the trained weights away; the file stays usable
        with matching data.
        """
        own_data = data is None and dataset is None
        if own_data and self.dataset is not None:
            dataset = self.dataset
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
        if not (cfg.seed == self.config.seed and own_data):
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
    history: Iterable[StepRecord] = (),
    notation: str = "out_in",
    view: dict[str, Any] | None = None,
    dataset: Dataset | None = None,
) -> Path:
    """Write ``net`` (and the trainer's state) to a session file, atomically.

    ``trainer_or_config`` is the :class:`Trainer` (its step, epoch, settings,
    optimizer state and sampler are saved) or just a :class:`TrainConfig`
    (a fresh start). ``step``/``epoch`` override the trainer's counters.
    ``history`` (step records, oldest first; their scalars are kept, thinned to
    :data:`MAX_HISTORY_ROWS`), ``notation`` and ``view`` (plain JSON) are saved
    as they are. A user's data file is embedded: the rows of ``dataset`` (default:
    the trainer's data; with a config, the file is read), and the choice keeps
    only the file's name; a session on embedded data names no preset.
    Returns the path written; raises :class:`SessionError` if it cannot be.
    """
    if not isinstance(data, DataChoice):
        raise SessionError(f"the data choice must be a DataChoice, got {type(data).__name__}")
    if isinstance(trainer_or_config, Trainer):
        trainer = trainer_or_config
        state = trainer.state_dict()
        config = trainer.config
        sampler = state.pop("sampler", None)
        if dataset is None:
            dataset = trainer.data
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
    if view is not None and not isinstance(view, dict):
        raise SessionError(f"the view state must be a dict, got {type(view).__name__}")
    embedded = None
    if embeds(data):
        if dataset is None:
            check_data_file(data)
            try:
                dataset = data.load()
            except BpvizError as exc:
                raise SessionError(f"cannot embed the data: {exc}") from None
        data, embedded = embed(data, dataset, members)
        preset = None  # no preset's lesson is about a user's own data
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
        "notation": str(notation),
        "view": view or {},
    }
    if embedded is not None:
        meta["embedded_data"] = embedded
    hist = history_members(list(history), members)
    if hist is not None:
        meta["history"] = hist
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
    try:
        text = json.dumps(meta, indent=1, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise SessionError(f"the session cannot be written as JSON ({first_line(exc)})") from None
    members = {"session.json": text.encode(), **members}
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
    if not whole(version) or version not in READABLE_VERSIONS:
        raise SessionError(
            f"session format version {version!r} is not supported; this bpviz "
            f"reads versions {', '.join(map(str, READABLE_VERSIONS))}"
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
    if seed is not None and (not whole(seed) or seed < 0):
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
    notation = meta.get("notation", "out_in")
    if not isinstance(notation, str) or not 0 < len(notation) <= 32:
        raise SessionError(f"notation must be a short name, got {notation!r}")
    view = meta.get("view", {})
    if not isinstance(view, dict):
        raise SessionError("the view state in session.json must be an object")
    history = read_history(ar, meta["history"]) if "history" in meta else ()
    dataset = None
    if data.embedded:
        if "embedded_data" not in meta:
            raise SessionError(f"the session names embedded data ({data.file_name}) but "
                               "holds none; it is incomplete")
        dataset = read_embedded(ar, meta["embedded_data"])
    return Session(spec, weights, dtype, config, data, state, step, epoch, version, preset, seed,
                   notation, view, history, dataset)


def _count(meta: dict, key: str) -> int:
    v = meta.get(key, 0)
    if not whole(v) or not 0 <= v < 2**63:
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
    if not whole(t) or t < 0:
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
    if perm.ndim != 1 or not whole(pos) or not 0 <= pos <= perm.size:
        raise SessionError("the sampler state is inconsistent (position outside the epoch)")
    rng = np.random.default_rng()
    try:
        rng.bit_generator.state = s["rng"]
    except (TypeError, ValueError, KeyError, OverflowError):
        raise SessionError("the sampler's random generator state is not valid") from None
    return {"rng": s["rng"], "perm": perm, "pos": pos}


__all__ = ["EXTENSION", "FORMAT", "MAX_HISTORY_ROWS", "READABLE_VERSIONS", "VERSION", "Session",
           "check_data_file", "load_session", "save_session"]
