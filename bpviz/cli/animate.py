"""``bpviz animate``: a panel, the whole window or the outer-product stepping as an
animated GIF or MP4, for slides rebuilt by a script.

    bpviz animate --preset digits --view matrices --steps 300 --every 10 --out dW.gif
    bpviz animate --preset outer-product --view outer-product --stepping --out k.gif
    bpviz animate --preset xor --view window --steps 200 --every 5 --out xor.mp4 --fps 20

Training starts from the preset's own start (its seed), so the same command
makes the same frames. Qt draws offscreen: no display is needed. MP4 needs the
optional extra: pip install 'bpviz[video]'.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("animate", help="export an animation (GIF or MP4) of a view",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", required=True, help="preset to train (bpviz presets lists them)")
    p.add_argument("--view", required=True, metavar="NAME",
                   help="a panel (matrices, outer-product, data, loss, health, graph, ...) "
                        "or 'window' for the whole window")
    p.add_argument("--steps", type=int, default=100,
                   help="mini-batches to train (default 100)")
    p.add_argument("--every", type=int, default=1,
                   help="mini-batches between two frames (default 1): steps/every frames")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="the file to write: .gif (Pillow) or .mp4 (needs bpviz[video])")
    p.add_argument("--size", default="960x600", metavar="WxH",
                   help="frame size in pixels (default 960x600)")
    p.add_argument("--fps", type=float, default=10.0, help="frames per second (default 10)")
    p.add_argument("--stepping", action="store_true",
                   help="with --view outer-product: after the steps, one frame per sample "
                        "k = 1…K of the last mini-batch (dW as a sum of outer products)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..gui.animate import AnimationRequest, check_target, parse_size, run_offscreen

    request = AnimationRequest(args.view, args.steps, args.every, parse_size(args.size),
                               args.fps, args.stepping).validate()
    check_target(args.out, request.size)   # a bad file name fails before any training
    bar = tqdm(total=0, unit="frame", disable=args.quiet, file=sys.stderr,
               desc=f"{args.view} → {args.out}")

    def progress(done: int, total: int) -> bool:
        bar.total = total
        bar.n = done
        bar.refresh()
        return True

    try:
        result = run_offscreen(request, args.preset, args.out, progress)
    finally:
        bar.close()
    w, h = request.size
    print(f"wrote {result.path} ({result.frames} frames, {w}x{h}, {request.fps:g} frames/s)")
    return 0
