"""The window on a big network (issue 13): frames/s, steps/s against headless, and RSS.

On 784-512-512-10 (K = 32, ReLU hidden layers, softmax output) with a 784-feature
data set built in memory (5,000 training samples, like MNIST rows; no CSV), and
on the digits preset (K = 128) for comparison, it reports in one run:

- ``fps``: frames the window draws per second while training at full speed
  with every matrix panel (a, δ, dW, W, db of every layer) visible (goal >= 20);
- ``steps_ratio``: steps/s in the window against headless training of the same
  network on the same data in this process (``Trainer.train_step`` alone,
  measured before and after; goal >= 0.7);
- ``rss_mb_30s`` and (``--long``) ``rss_mb_300s``: the window process's resident
  memory after 30 s and 300 s of training (goal: the second within 1.5× of the
  first). Without ``--long`` the run takes under a minute (``--seconds``, RSS at
  the end).

Usage::

    QT_QPA_PLATFORM=offscreen python benchmarks/big_network.py [--seconds 20] [--long]
    QT_QPA_PLATFORM=offscreen python benchmarks/big_network.py --network digits

It prints one line per measurement and a JSON summary last. Not a test: the
figures depend on the machine. The CSV parsing figures are ``csv_import.py``'s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
KINDS = ["a", "delta", "dW", "W", "db"]
BIG = "784-512-512-10"


def rss_mb() -> float | None:
    """This process's resident memory now (Linux /proc; psutil elsewhere if installed)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, AttributeError):
        pass
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        return None


def big_data(n: int = 5000, seed: int = 0):
    """A 784-feature, 10-class data set (N, 784) in [0, 1], made in memory."""
    import numpy as np

    from bpviz.engine.datasets import Dataset

    rng = np.random.default_rng(seed)
    protos = rng.random((10, 784))
    y = rng.integers(0, 10, n + n // 5)
    X = np.clip(protos[y] + 0.3 * rng.standard_normal((len(y), 784)), 0, 1)
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-8)
    return Dataset("synthetic-784", np.ascontiguousarray(X[:n]), y[:n],
                   np.ascontiguousarray(X[n:]), y[n:], 10,
                   tuple(str(k) for k in range(10)), tuple(f"x{j}" for j in range(784)))


def big_spec():
    from bpviz.engine.spec import NetworkSpec

    return NetworkSpec.from_dict({"inputs": 784, "loss": "cross_entropy", "layers": [
        {"units": 512, "activation": "relu"}, {"units": 512, "activation": "relu"},
        {"units": 10, "activation": "softmax"}]})


def setup(ctx, network: str, batch: int) -> None:
    """Put ``network`` (``BIG`` or ``digits``) into the controller (a benchmark may use its
    private installers: the window has no way to build an in-memory data set)."""
    ctx.update_config(batch_size=batch)
    if network == BIG:
        ds, spec = big_data(), big_spec()
        trainer = ctx._new_trainer(spec=spec, data=ds)
        ctx._use_data(ctx.data_choice, ds, spec, trainer, force_spec_signal=True)


def headless(network: str, batch: int, seconds: float) -> float:
    """Steps/s of ``Trainer.train_step`` alone on the same network and data."""
    from bpviz.engine.backend import blas_threads
    from bpviz.gui.controller import Controller

    ctx = Controller("digits")
    try:
        setup(ctx, network, batch)
        tr = ctx.call_on_trainer(lambda t: t)
    finally:
        ctx.shutdown()
    with blas_threads(1):  # as the worker trains
        for _ in range(20):
            tr.train_step()
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            tr.train_step()
            n += 1
    return n / (time.perf_counter() - t0)


def child(network: str, seconds: float, batch: int, marks: list[float]) -> int:
    """In the child process: the window with every matrix shown, trained for ``seconds``."""
    from PySide6.QtCore import QTimer

    from bpviz.gui.app import AutoRun, build, make_app, started

    app = make_app()
    ctx, win = build("digits", automation=True)
    setup(ctx, network, batch)
    mp = win.panels["matrices"]
    mp.set_layer(-1)
    mp.set_kinds(KINDS)
    win.raise_view("matrices")
    win.show()
    started()   # as `bpviz gui` does once its window is up
    auto = AutoRun(app, ctx, win, seconds, None, True)
    rss: dict[str, float | None] = {}
    t0: list[float] = []

    def sample() -> None:
        if auto.first_frame_s is None:
            return
        if not t0:
            t0.append(time.perf_counter())
        age = time.perf_counter() - t0[0]
        for m in marks:
            key = f"rss_mb_{m:g}s"
            if key not in rss and age >= m:
                rss[key] = rss_mb()
                print(f"# {key} = {rss[key]:.0f}", file=sys.stderr, flush=True)

    timer = QTimer()
    timer.setInterval(200)
    timer.timeout.connect(sample)
    timer.start()
    rc = auto.exec()
    timer.stop()
    rss["rss_mb_end"] = rss_mb()
    rss["missed_kb"] = round(win.missed_nbytes() / 1024, 1)
    print(json.dumps(rss), flush=True)
    ctx.shutdown()
    return rc or auto.rc


def _env() -> dict[str, str]:
    e = dict(os.environ)
    e.setdefault("QT_QPA_PLATFORM", "offscreen")
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), e.get("PYTHONPATH")]))
    return e


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--network", choices=[BIG, "digits"], default=BIG)
    ap.add_argument("--seconds", type=float, default=20.0,
                    help="seconds of training in the window (default 20)")
    ap.add_argument("--long", action="store_true",
                    help="train 300 s and report RSS at 30 s and 300 s")
    ap.add_argument("--batch", type=int, default=None, help="K (32 big, 128 digits)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--marks", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    batch = args.batch or (32 if args.network == BIG else 128)
    if args.child:
        marks = [float(m) for m in args.marks.split(",") if m]
        return child(args.network, args.seconds, batch, marks)

    seconds = 302.0 if args.long else args.seconds
    marks = [30.0, 300.0] if args.long else ([30.0] if seconds >= 30 else [])
    head = [headless(args.network, batch, 4.0)]
    print(f"headless: {head[-1]:.0f} steps/s", flush=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--network", args.network,
           "--seconds", str(seconds), "--batch", str(batch),
           "--marks", ",".join(f"{m:g}" for m in marks)]
    res = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=seconds + 300)
    if res.returncode != 0:
        raise SystemExit(f"window run failed ({res.returncode}):\n{res.stderr[-3000:]}")
    lines = [json.loads(s) for s in res.stdout.splitlines() if s.startswith("{")]
    stats = {k: v for d in lines for k, v in d.items()}
    head.append(headless(args.network, batch, 4.0))
    print(f"headless: {head[-1]:.0f} steps/s", flush=True)
    ref = sorted(head)[len(head) // 2] if len(head) % 2 else sum(head) / len(head)
    print(f"window:   {stats['steps_per_s']:.0f} steps/s, {stats['fps']:.1f} frames/s, "
          f"RSS at the end {stats.get('rss_mb_end') or float('nan'):.0f} MB", flush=True)
    summary = {
        "network": args.network, "batch": batch, "kinds": KINDS, "cpus": os.cpu_count(),
        "platform": _env()["QT_QPA_PLATFORM"], "seconds": stats.get("seconds"),
        "fps": stats["fps"], "gui_steps_per_s": stats["steps_per_s"],
        "headless_steps_per_s": round(ref, 1),
        "steps_ratio": round(stats["steps_per_s"] / ref, 3) if ref else None,
        **{k: (round(v, 1) if isinstance(v, float) else v) for k, v in stats.items()
           if k.startswith("rss_") or k == "missed_kb"},
        "peak_rss_mb": stats.get("peak_rss_mb"),
        "goals": {"fps": ">= 20", "steps_ratio": ">= 0.7",
                  "rss_mb_300s": "<= 1.5 x rss_mb_30s"},
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
