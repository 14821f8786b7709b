"""``bpviz gui``: open the desktop app (also what plain ``bpviz`` does).

Automation: ``bpviz gui --preset digits --size 1366x768 --run-for 3 --screenshot out.png --stats``
trains for 3 s, saves a screenshot of the whole window, prints one JSON line
(``steps_per_s``, ``fps``, ``first_frame_s``, ``peak_rss_mb``, null where the
system does not report it) and exits 0.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

VIEW_HELP = ("raise this panel: matrices, outer-product, equations, gradcheck, timing, "
             "or any panel name (network, settings, data, loss, health, compare, ...)")


def _seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not math.isfinite(v) or v < 0 or v > 86_400:
        raise argparse.ArgumentTypeError(f"seconds must be from 0 to 86400, got {text}")
    return v


def _megabytes(text: str) -> int:
    """A whole number of megabytes from 0 to 65536."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of MB") from None
    if not 0 <= v <= 65_536:
        raise argparse.ArgumentTypeError(f"MB must be from 0 to 65536, got {text}")
    return v


def _size(text: str) -> tuple[int, int]:
    """``WxH`` (e.g. ``1366x768``) as (width, height) in pixels."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        w, h = (int(v) for v in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size WxH such as 1366x768"
                                         ) from None
    if not (640 <= w <= 10_000 and 480 <= h <= 10_000):
        raise argparse.ArgumentTypeError(f"a size from 640x480 to 10000x10000, got {text}")
    return w, h


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", help="preset to open (bpviz presets lists them)")
    p.add_argument("--session", metavar="FILE", help="session file to open")
    p.add_argument("--view", metavar="NAME", help=VIEW_HELP)
    p.add_argument("--backend", choices=("numpy", "cupy", "auto"), default="numpy",
                   help="array backend for training (default numpy)")
    p.add_argument("--presentation", action="store_true",
                   help="start in presentation mode (large fonts, thick lines; F5 toggles)")
    p.add_argument("--size", type=_size, metavar="WxH",
                   help="open the window at this size, e.g. 1024x768 or 1920x1080 (the "
                        "default layout is chosen for it)")
    p.add_argument("--run-for", type=_seconds, metavar="SECONDS",
                   help="train for SECONDS, then exit (automation)")
    p.add_argument("--screenshot", metavar="PNG",
                   help="with --run-for: save a PNG of the whole window at the end")
    p.add_argument("--compare", metavar="STORY",
                   help="also open Training ▸ Compare… on a comparison story and play it "
                        "(vanishing-gradients, symmetry, sgd-vs-adam); with --screenshot "
                        "the PNG is of the comparison")
    p.add_argument("--history-mb", type=_megabytes, metavar="MB",
                   help="memory for the timeline's kept steps this time, in MB (0: history "
                        "off; default: the Timeline box's setting, 256 at first)")
    p.add_argument("--stats", action="store_true",
                   help="with --run-for: print one JSON line: steps_per_s, fps, first_frame_s, "
                        "peak_rss_mb")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("gui", help="open the desktop app (the default)",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    return p


def run(args: argparse.Namespace) -> int:
    from ..gui.app import run_gui

    return run_gui(preset=getattr(args, "preset", None),
                   session=getattr(args, "session", None),
                   view=getattr(args, "view", None),
                   run_for=getattr(args, "run_for", None),
                   screenshot=getattr(args, "screenshot", None),
                   stats=bool(getattr(args, "stats", False)),
                   backend=getattr(args, "backend", "numpy") or "numpy",
                   presentation=bool(getattr(args, "presentation", False)),
                   size=getattr(args, "size", None),
                   history_mb=getattr(args, "history_mb", None),
                   compare=getattr(args, "compare", None))
