"""The desktop app's benchmark figures (issue 3), measured in one run.

With the digits preset, K = 128 and every matrix of every layer shown
(a, δ, dW, W, db), it reports:

- ``fps``: frames the window draws per second while training at full speed
  (goal >= 25);
- ``steps_per_s`` in the window against headless ``bpviz train --preset digits
  --batch 128 --json`` on the same machine, measured before and after the GUI
  run (interleaved; the median headless figure is the reference; goal >= 50 %);
- ``first_frame_s``: seconds from process start to the first drawn frame of
  ``bpviz gui --preset digits`` (goal <= 2 s), the median of three launches.

``--views matrices,graph`` shows those docks side by side (split, not tabbed)
during the window run; the default is the matrices alone.

Usage::

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_fps.py [--seconds 8] [--repeats 3]
        [--views matrices,graph]

It prints one line per measurement and a JSON summary last. Not a test: the
figures depend on the machine (cores, load, display).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
KINDS = ["a", "delta", "dW", "W", "db"]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.setdefault("QT_QPA_PLATFORM", "offscreen")
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), e.get("PYTHONPATH")]))
    return e


def last_json(out: str) -> dict:
    lines = [s for s in out.splitlines() if s.startswith("{")]
    if not lines:
        raise RuntimeError(f"no JSON line in output:\n{out[-2000:]}")
    return json.loads(lines[-1])


def run(cmd: list[str], timeout: float = 600) -> dict:
    res = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr[-2000:]}")
    return last_json(res.stdout)


def headless(batch: int, steps: int) -> float:
    out = run([sys.executable, "-m", "bpviz", "train", "--preset", "digits", "--batch",
               str(batch), "--steps", str(steps), "--json"])
    return float(out["steps_per_s"])


def child(seconds: float, batch: int, speed: float | None,
          views: tuple[str, ...] = ("matrices",)) -> int:
    """In the child process: the window with ``views`` shown (every matrix of every
    layer in the matrices panel), trained for ``seconds``."""
    from PySide6.QtCore import Qt

    from bpviz.gui.app import AutoRun, build, make_app, started

    app = make_app()
    ctx, win = build("digits", automation=True)
    ctx.update_config(batch_size=batch)
    if speed:
        ctx.set_speed(speed)
    mp = win.panels["matrices"]
    mp.set_layer(-1)
    mp.set_kinds(KINDS)
    for name in views:
        if not win.raise_view(name):
            raise SystemExit(f"unknown view {name!r}")
    for name in views[1:]:  # side by side, even where the default layout tabs them
        win.splitDockWidget(win.docks[views[0]], win.docks[name], Qt.Orientation.Horizontal)
    win.show()
    started()   # as `bpviz gui` does once its window is up
    auto = AutoRun(app, ctx, win, seconds, None, True)  # keep it: it owns the timers
    rc = auto.exec()
    ctx.shutdown()
    return rc or auto.rc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--speed", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--views", default="matrices",
                    help="comma-separated docks shown side by side (default: matrices)")
    args = ap.parse_args()
    views = tuple(v.strip() for v in args.views.split(",") if v.strip()) or ("matrices",)
    if args.child:
        return child(args.seconds, args.batch, args.speed, views)

    me = [sys.executable, str(Path(__file__).resolve())]
    head, gui, first = [], [], []
    for _ in range(args.repeats):
        head.append(headless(args.batch, steps=max(500, int(args.seconds * 300))))
        print(f"headless bpviz train: {head[-1]:.0f} steps/s", flush=True)
        g = run(me + ["--child", "--seconds", str(args.seconds), "--batch", str(args.batch),
                      "--views", ",".join(views)])
        gui.append(g)
        print(f"window, full speed:   {g['steps_per_s']:.0f} steps/s, {g['fps']:.1f} frames/s, "
              f"peak RSS {g['peak_rss_mb'] or float('nan'):.0f} MB", flush=True)
        f = run([sys.executable, "-m", "bpviz", "gui", "--preset", "digits", "--run-for", "0",
                 "--stats"])
        first.append(float(f["first_frame_s"]))
        print(f"first frame:          {first[-1]:.2f} s after launch", flush=True)
    head.append(headless(args.batch, steps=max(500, int(args.seconds * 300))))
    print(f"headless bpviz train: {head[-1]:.0f} steps/s", flush=True)
    ref = statistics.median(head)
    steps = statistics.median(g["steps_per_s"] for g in gui)
    summary = {
        "preset": "digits", "batch": args.batch, "kinds": KINDS, "views": list(views),
        "cpus": os.cpu_count(),
        "platform": env()["QT_QPA_PLATFORM"],
        "fps": round(statistics.median(g["fps"] for g in gui), 1),
        "gui_steps_per_s": round(steps, 1),
        "headless_steps_per_s": round(ref, 1),
        "steps_ratio": round(steps / ref, 3) if ref else None,
        "first_frame_s": round(statistics.median(first), 3),
        "peak_rss_mb": max((round(g["peak_rss_mb"], 1) for g in gui if g["peak_rss_mb"]),
                           default=None),  # None where the system does not tell
        "goals": {"fps": ">= 25", "steps_ratio": ">= 0.5", "first_frame_s": "<= 2"},
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
