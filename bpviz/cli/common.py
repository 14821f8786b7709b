"""What the subcommands share: the model options, building the model, and errors.

``add_model_options`` adds ``--preset NAME | --spec FILE | --session FILE`` and
the data and training overrides; ``build_model`` turns them into a ready
:class:`~bpviz.engine.network.Network` and
:class:`~bpviz.engine.trainer.Trainer`. ``guarded`` runs a command so that
bad input ends as one line ``bpviz: error: ...`` on stderr and exit code 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..engine.errors import BpvizError
from ..engine.fpwatch import FloatWatch

#: What a command uses when no --preset, --spec, --session or --data is given.
DEFAULT_PRESET = "xor"


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"bpviz: error: {message}; see '{self.prog} --help'", file=sys.stderr)
        raise SystemExit(2)


def fail(message: str) -> int:
    """Print ``bpviz: error: message`` as one line on stderr; return 2."""
    text = " ".join(str(message).split()) or "unknown error"
    print(f"bpviz: error: {text}", file=sys.stderr)
    return 2


def warn(message: str) -> None:
    """Print ``bpviz: message`` as one line on stderr (not an error)."""
    print(f"bpviz: {message}", file=sys.stderr)


def fitted_spec(spec: Any, ds: Any) -> Any:
    """``spec`` fitted to ``ds`` by the engine's one policy; each change said on stderr.

    See :func:`bpviz.engine.fitting.fit_to_data`: the window builds the same
    network from the same spec and data.
    """
    from ..engine.fitting import fit_to_data

    fitted = fit_to_data(spec, ds)
    for change in fitted.changes:
        warn(change)
    return fitted.spec


def guarded(fn: Callable[[], int | None]) -> int:
    """Run ``fn`` and turn every expected failure into an exit code.

    BpvizError, OSError and JSON errors: one line on stderr, 2. Ctrl+C: 130.
    NumPy's floating-point warnings never print raw: ``fn`` runs inside a
    :class:`~bpviz.engine.fpwatch.FloatWatch` and what it counted is said in
    one line at the end.
    ``SystemExit`` (from ``--help`` or argparse): its code.
    """
    watch = FloatWatch()
    try:
        with watch:
            return int(fn() or 0)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        return fail(str(code))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. bpviz presets | head -1
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0
    except BpvizError as exc:
        return fail(str(exc))
    except json.JSONDecodeError as exc:
        return fail(f"not valid JSON ({exc.msg}, line {exc.lineno})")
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return fail(f"{where}{exc.strerror or exc}")
    finally:
        note = watch.take_message()
        if note:
            warn(note[0].upper() + note[1:])


# ------------------------------------------------------------------ options


def add_model_options(parser: argparse.ArgumentParser, *, dtype: str = "float32") -> None:
    """Add the options that choose and configure a model (shared by the commands)."""
    src = parser.add_argument_group("model (one of)")
    one = src.add_mutually_exclusive_group()
    one.add_argument("--preset", metavar="NAME", help="a shipped preset (bpviz presets lists them)")
    one.add_argument(
        "--spec",
        metavar="FILE",
        help="a network spec JSON file (NetworkSpec.to_dict), or a preset file",
    )
    one.add_argument("--session", metavar="FILE", help="a saved session: continue from it")
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        metavar="NAME|FILE",
        help="a built-in data set (circle, xor, gauss, spiral, moons, blobs, "
        "plane, reg_gauss, digits), a CSV file with a header row, a .npz file "
        "(arrays X and y), or an IDX images file such as train-images-idx3-ubyte.gz "
        "(its labels file beside it; 'bpviz data fetch mnist' downloads them). "
        "Files up to 2 GB are read; the environment variable BPVIZ_MAX_DATA_MB "
        "sets another limit",
    )
    data.add_argument("--target", metavar="COL", help="the CSV's target column (default: last)")
    data.add_argument("--noise", type=float, metavar="X", help="noise 0..1 of the 2-D sets")
    data.add_argument(
        "--test-fraction",
        type=float,
        metavar="X",
        help="fraction 0..0.9 of the rows held out for testing",
    )
    data.add_argument("--samples", type=int, metavar="N", help="rows to generate")
    data.add_argument("--classes", type=int, metavar="C", help="classes of the blobs set")
    tr = parser.add_argument_group("training")
    tr.add_argument("--batch", type=int, metavar="K", help="mini-batch size K")
    tr.add_argument("--lr", type=float, metavar="X", help="learning rate")
    tr.add_argument("--optimizer", metavar="NAME", help="sgd, momentum or adam")
    tr.add_argument("--l1", type=float, metavar="X",
                    help="L1 penalty l1·Σ|W| on the weights (not the biases)")
    tr.add_argument("--l2", type=float, metavar="X",
                    help="L2 penalty l2/2·Σ W² on the weights, added to the gradient (not AdamW)")
    tr.add_argument("--method", metavar="M", help="vectorized (matrix form) or loop")
    tr.add_argument("--backend", metavar="B", default="numpy", help="numpy (default), cupy or auto")
    tr.add_argument(
        "--seed", type=int, metavar="N", help="seed of the weights, the data and the batch order"
    )
    tr.add_argument(
        "--dtype", metavar="T", default=None, help=f"float32 or float64 (default {dtype})"
    )
    parser.set_defaults(default_dtype=dtype)


def _opt(args: argparse.Namespace, name: str) -> Any:
    return getattr(args, name, None)


def _data_override(base: Any, args: argparse.Namespace) -> Any:
    """The data choice after ``--data``, ``--noise`` and friends."""
    from ..engine.datasets import DATASETS
    from ..engine.files import regular_file
    from ..engine.loaders import file_kind
    from ..engine.presets import DataChoice

    d = base
    name = _opt(args, "data")
    if name is not None:
        if name in DATASETS:
            if base is None or base.name != name:
                keep = (
                    {} if base is None else {"test_fraction": base.test_fraction, "seed": base.seed}
                )
                d = DataChoice(name, **keep)
        elif (file_kind(name) != "csv" or name.lower().endswith(".csv")
              or os.path.sep in name or Path(name).exists()):
            path = Path(name).expanduser()
            kind = file_kind(path)
            regular_file(path, f"{kind.upper()} data file")
            d = DataChoice(
                kind,
                csv_path=str(path.resolve()),
                test_fraction=0.2 if base is None else base.test_fraction,
                seed=0 if base is None else base.seed,
            )
        else:
            raise BpvizError(
                f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}, "
                "or give a data file's path (.csv, .npz, IDX)"
            )
    if d is None:
        return None
    changes: dict[str, Any] = {}
    for opt, key in (
        ("noise", "noise"),
        ("test_fraction", "test_fraction"),
        ("samples", "n_samples"),
        ("classes", "n_classes"),
        ("seed", "seed"),
        ("target", "target"),
    ):
        v = _opt(args, opt)
        if v is not None:
            changes[key] = v
    if "target" in changes and d.name != "csv":
        raise BpvizError("--target names a column of a CSV file; use it with --data FILE.csv")
    return replace(d, **changes) if changes else d


def _config_override(base: Any, args: argparse.Namespace) -> Any:
    changes: dict[str, Any] = {}
    for opt, key in (
        ("batch", "batch_size"),
        ("lr", "lr"),
        ("optimizer", "optimizer"),
        ("method", "method"),
        ("seed", "seed"),
        ("l1", "l1"),
        ("l2", "l2"),
    ):
        v = _opt(args, opt)
        if v is not None:
            changes[key] = v.strip().lower() if isinstance(v, str) else v
    return replace(base, **changes).validate()


def _read_spec_file(path: str) -> tuple[Any, Any]:
    """``(spec, preset or None)`` from a spec or preset JSON file."""
    from ..engine.presets import preset_from_dict, read_json
    from ..engine.spec import NetworkSpec

    d = read_json(path, "spec file")
    if isinstance(d, dict) and "spec" in d:
        p = preset_from_dict(d)
        return p.spec, p
    try:
        return NetworkSpec.from_dict(d), None
    except TypeError as exc:
        raise BpvizError(f"{path}: {exc}") from None
    except BpvizError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def build_model(
    args: argparse.Namespace, default_preset: str = DEFAULT_PRESET
) -> tuple[Any, Any, Any, Any]:
    """``(Network, Trainer, DataChoice, Preset or None)`` from the model options.

    Starts from ``--session``, ``--spec``, ``--preset`` (or, with none of them,
    the preset ``default_preset``, or a default network when only ``--data`` is
    given), applies the data and training overrides, loads the data and fits
    the network to it (:func:`fitted_spec`; a session must already fit).
    Raises :class:`BpvizError` on any bad input.
    """
    from ..engine.fitting import default_spec
    from ..engine.network import Network
    from ..engine.presets import load_preset
    from ..engine.session import load_session
    from ..engine.trainer import TrainConfig, Trainer

    backend = _opt(args, "backend") or "numpy"
    dtype = _opt(args, "dtype")
    if dtype is not None and dtype not in ("float32", "float64"):
        raise BpvizError(f"--dtype must be float32 or float64, got {dtype!r}")
    if _opt(args, "session"):
        session = load_session(args.session)
        data = _data_override(session.data, args)
        config = _config_override(session.config, args)
        net, trainer, _ = session.build(
            backend,
            dtype=dtype or session.dtype,
            config=config,
            data=None if data == session.data else data,
        )
        preset = None
        if session.preset:
            try:
                preset = load_preset(session.preset)
            except BpvizError:
                preset = None
        return net, trainer, data, preset

    preset, spec = None, None
    if _opt(args, "spec"):
        spec, preset = _read_spec_file(args.spec)
    elif _opt(args, "preset"):
        preset = load_preset(args.preset)
    elif _opt(args, "data") is None:
        preset = load_preset(default_preset)
    if preset is not None and spec is None:
        spec = preset.spec
    base_data = preset.data if preset is not None else None
    base_config = preset.train if preset is not None else TrainConfig()
    data = _data_override(base_data, args)
    if data is None:
        raise BpvizError(
            f"{args.spec} holds a network but no data; add --data NAME or --data FILE.csv"
        )
    config = _config_override(base_config, args)
    ds = load_with_bar(data)
    spec = fitted_spec(spec, ds) if spec is not None else default_spec(ds)
    net = Network(
        spec,
        seed=config.seed,
        dtype=dtype or _opt(args, "default_dtype") or "float32",
        backend=backend,
    )
    trainer = Trainer(net, ds, config)
    return net, trainer, data, preset


#: Data files at least this big show a progress bar on stderr while they load.
BAR_BYTES = 16 << 20


def load_with_bar(data: Any) -> Any:
    """``data.load()``, with a tqdm bar on stderr for data files of
    :data:`BAR_BYTES` or more."""
    from ..engine.presets import resolve_csv_path

    if not data.is_file:
        return data.load()
    try:
        size = resolve_csv_path(data.csv_path).stat().st_size
    except OSError:
        size = 0
    if size < BAR_BYTES:
        return data.load()
    from tqdm import tqdm

    with tqdm(total=100, desc=f"reading {Path(data.csv_path).name}", unit="%",
              file=sys.stderr, leave=False,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}") as bar:
        def progress(fraction: float) -> bool:
            bar.update(round(100 * fraction) - bar.n)
            return True

        return data.load(progress)


def backend_note(net: Any) -> str:
    """What backend runs, e.g. ``NumPy on the CPU``."""
    return getattr(net.backend, "message", "") or net.backend.name
