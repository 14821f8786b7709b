"""bpviz train: train a network from the command line.

Examples:

    bpviz train --preset xor
    bpviz train --preset digits --json
    bpviz train --data iris.csv --target species --steps 2000 --save iris.bpviz
    bpviz train --session iris.bpviz --steps 0          # evaluate only

Exit status: 0 when training ran, 2 on bad input, 3 when training diverged
(the loss became infinite or NaN; the weights were rolled back to the last
finite checkpoint, and --save still saves them), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .common import add_model_options, backend_note, build_model, fail, warn

#: The exit status of a run whose training diverged.
DIVERGED_EXIT = 3


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train",
        help="train a network (a preset, a spec file or a session)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_options(p)
    run_ = p.add_argument_group("run")
    how_long = run_.add_mutually_exclusive_group()
    how_long.add_argument(
        "--steps",
        type=int,
        metavar="N",
        help="mini-batches to train (default: the preset's hint, or 1000); 0 only evaluates",
    )
    how_long.add_argument("--epochs", type=int, metavar="N", help="passes over the training set")
    run_.add_argument("--save", metavar="FILE",
                      help="save a session file at the end (.bpviz is added to a name "
                           "without an extension)")
    run_.add_argument(
        "--json", action="store_true", help="print one JSON line with the results at the end"
    )
    return p


def _round(x: float | None, nd: int = 6) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.{nd}g}")


def run(args: argparse.Namespace) -> int:
    from ..engine.backend import blas_threads
    from ..engine.session import EXTENSION, save_session

    if args.steps is not None and args.steps < 0:
        return fail(f"--steps must be 0 or more, got {args.steps}")
    if args.epochs is not None and args.epochs < 1:
        return fail(f"--epochs must be 1 or more, got {args.epochs}")
    if args.save:
        if not Path(args.save).suffix and not Path(args.save).is_dir():
            args.save = f"{args.save}{EXTENSION}"
        _check_save_path(Path(args.save))
    net, trainer, data, preset = build_model(args)
    if args.backend == "auto" and not args.json:
        warn(f"backend: {backend_note(net)}")
    steps, n_train = args.steps, len(trainer.data.X_train)
    if args.epochs is not None:  # whole passes: the trainer drops a last partial batch
        steps = args.epochs * max(1, n_train // trainer.batch_size)
    elif steps is None:
        steps = preset.steps_hint if preset is not None else 1000
    start = trainer.step
    interrupted, diverged = False, None
    bar = _progress(steps)
    t0 = time.perf_counter()
    quiet = np.errstate(over="ignore", invalid="ignore", divide="ignore")  # divergence is
    try:  # reported below
        with blas_threads(1), quiet:
            if steps != 0:
                for rec in trainer.run(steps=steps):
                    if bar is not None:
                        bar.update(1)
                        if rec.test_accuracy is not None or rec.step % 50 == 0:
                            bar.set_postfix(_postfix(rec), refresh=False)
                    if rec.diverged:
                        diverged = rec.step
    except KeyboardInterrupt:
        interrupted = True
    finally:
        seconds = time.perf_counter() - t0
        if bar is not None:
            bar.close()
    done = trainer.step - start
    with blas_threads(1), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        loss, train_acc = trainer.evaluate("train")
        test_loss, test_acc = trainer.evaluate("test")
        penalty = trainer.penalty()
    saved = None
    if args.save:
        saved = str(
            save_session(
                args.save, net, trainer, data, preset=preset.name if preset is not None else None
            )
        )
    result = {
        "steps": done,
        "epochs": round(done * trainer.batch_size / n_train, 3),
        "seconds": round(seconds, 4),
        "steps_per_s": round(done / seconds, 1) if done and seconds > 0 else None,
        "loss": _round(loss),
        "penalty": _round(penalty),
        "objective": _round(None if loss is None else loss + penalty),
        "train_accuracy": _round(train_acc),
        "test_loss": _round(test_loss),
        "test_accuracy": _round(test_acc),
        "backend": net.backend.name,
        "method": trainer.config.method,
        "dtype": net.dtype.name,
        "batch_size": trainer.batch_size,
        "network": net.spec.describe(),
        "data": data.describe(),
        "preset": preset.name if preset is not None else None,
        "total_steps": trainer.step,
        "diverged": diverged is not None,
        "interrupted": interrupted,
        "saved": saved,
    }
    if diverged is not None:
        warn(
            f"training diverged at step {diverged} (the loss is not finite); the weights "
            "were rolled back to the last finite checkpoint; try a smaller --lr"
        )
    if interrupted:
        warn(f"interrupted after {done} steps")
    if args.json:
        print(json.dumps(result))
    else:
        print(_summary(result))
    return 130 if interrupted else DIVERGED_EXIT if diverged is not None else 0


def _check_save_path(path: Path) -> None:
    """Fail before training, not after, if ``--save`` cannot be written."""
    from ..engine.errors import BpvizError

    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise BpvizError(f"--save {path}: that is a folder; give a file name such as run.bpviz")
    if not folder.is_dir():
        raise BpvizError(f"--save {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise BpvizError(f"--save {path}: folder {folder} is not writable")


def _progress(steps: int) -> Any:
    if steps == 0:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(
        total=steps,
        file=sys.stderr,
        disable=None,
        unit="step",
        leave=False,
        dynamic_ncols=True,
        mininterval=0.2,
    )


def _postfix(rec: Any) -> dict[str, str]:
    out = {"loss": f"{rec.loss:.4g}"}
    if rec.test_accuracy is not None:
        out["test"] = f"{100 * rec.test_accuracy:.1f}%"
    elif rec.accuracy is not None:
        out["acc"] = f"{100 * rec.accuracy:.0f}%"
    return out


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _summary(r: dict[str, Any]) -> str:
    head = f"{r['preset'] + ': ' if r['preset'] else ''}{r['network']} on {r['data']}"
    speed = f" ({r['steps_per_s']:.0f} steps/s)" if r["steps_per_s"] else ""
    lines = [
        head,
        f"{r['steps']} steps of {r['batch_size']} in {r['seconds']:.2f} s{speed}, "
        f"{r['method']}, {r['backend']} {r['dtype']}",
    ]
    loss = "n/a" if r["loss"] is None else f"{r['loss']:.4g}"
    test_loss = "n/a" if r["test_loss"] is None else f"{r['test_loss']:.4g}"
    if r["train_accuracy"] is None:
        lines.append(f"loss {loss} (train), {test_loss} (test)")
    else:
        lines.append(
            f"loss {loss}, train accuracy {_pct(r['train_accuracy'])}, "
            f"test accuracy {_pct(r['test_accuracy'])}"
        )
    if r["penalty"]:
        lines.append(f"L1/L2 penalty {r['penalty']:.4g}: the optimizer minimises "
                     f"{r['objective']:.4g} (loss + penalty)")
    if r["saved"]:
        lines.append(f"saved {r['saved']}")
    return "\n".join(lines)
