"""``bpviz bench``: time loop against vectorized backprop over batch sizes or widths.

For every batch size K (or hidden width) and every backend that works, both
methods run on the same mini-batch (a warm-up, then interleaved repeats; the
table shows the fastest run, --json also the median), and the largest
|dW_loop - dW_vec| shows that they compute the same gradient. NumPy runs with
one BLAS thread. A backend that does not work is skipped with one line.

Examples::

    bpviz bench --preset digits
    bpviz bench --preset timing --batches 1,8,64,512 --repeats 9
    bpviz bench --preset digits --mode width --widths 16,64,256,1024 --batch 128
    bpviz bench --preset digits --backends numpy,cupy --json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .common import add_model_options, build_model, warn

DEFAULT_PRESET = "timing"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "bench", help="time loop against vectorized backprop over K (or width)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(p)
    b = p.add_argument_group("sweep")
    b.add_argument("--mode", choices=("batch", "width"), default="batch",
                   help="sweep the batch size K (default) or the width of every hidden "
                        "layer at K = --batch")
    b.add_argument("--batches", metavar="LIST",
                   help="batch sizes, e.g. 1,2,4,8 (default 1, 2, 4, ... up to 1024 or the "
                        "training-set size)")
    b.add_argument("--widths", metavar="LIST",
                   help="hidden widths for --mode width (default 8,16,...,1024)")
    b.add_argument("--backends", metavar="LIST",
                   help="numpy and/or cupy, comma-separated (default numpy,cupy; one that "
                        "does not work is skipped)")
    b.add_argument("--repeats", type=int, default=5, metavar="N",
                   help="timed runs of each method per point (default 5)")
    b.add_argument("--warmup", type=int, default=1, metavar="N",
                   help="untimed runs of each method first (default 1)")
    b.add_argument("--csv", metavar="FILE", help="also write the table to a CSV file")
    b.add_argument("--json", action="store_true",
                   help="print one JSON object with every row instead of the table")
    b.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return p


def _backends(args: argparse.Namespace) -> list[str]:
    if args.backends is not None:
        return [b for b in args.backends.replace(" ", "").lower().split(",") if b] or ["?"]
    chosen = (args.backend or "numpy").strip().lower()
    if chosen in ("numpy", "auto"):
        return ["numpy", "cupy"]
    return [chosen]


def format_table(res: Any) -> str:
    """The rows as an aligned text table (one line per point and backend)."""
    width_mode = res.mode == "width"
    head = ["backend", "K", *(["width"] if width_mode else []), "loop ms", "vectorized ms",
            "speed-up", "max |dW diff|"]
    lines = [head]
    for r in res.rows:
        lines.append([r.backend, str(r.batch), *([str(r.width)] if width_mode else []),
                      f"{r.loop_ms:.3f}", f"{r.vectorized_ms:.3f}",
                      "inf" if r.speedup is None else f"{r.speedup:.1f}x",
                      f"{r.max_abs_diff:.1e}"])
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    out = []
    for n, row in enumerate(lines):
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                 enumerate(zip(row, widths, strict=True))]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


class _Bar:
    """A tqdm bar on stderr driven by ``progress(done, total)``."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="point", file=sys.stderr, leave=False,
                            dynamic_ncols=True, desc="timing")
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(args: argparse.Namespace) -> int:
    from ..engine.sweep import parse_int_list, sweep

    batches = parse_int_list(args.batches, "--batches") if args.batches is not None else None
    widths = parse_int_list(args.widths, "--widths") if args.widths is not None else None
    backends = _backends(args)
    if args.preset is None and args.spec is None and args.session is None and args.data is None:
        args.preset = DEFAULT_PRESET
    args.backend = "numpy"  # the sweep builds its own network on every backend
    net, trainer, data, preset = build_model(args)
    if args.mode == "width" and batches is not None:
        warn("--batches is for --mode batch; with --mode width use --batch K")
    bar = _Bar(not args.no_progress)
    try:
        res = sweep(net.spec, net.get_weights(), trainer.data, mode=args.mode,
                    batches=batches if args.mode == "batch" else None, widths=widths,
                    batch=trainer.batch_size if args.mode == "width" else None,
                    backends=backends, repeats=args.repeats, warmup=args.warmup,
                    dtype=str(net.dtype), seed=trainer.config.seed, progress=bar)
    finally:
        bar.close()
    if args.csv:
        with open(args.csv, "w", encoding="utf-8", newline="") as f:
            f.write(res.to_csv())
    if args.json:
        obj = res.to_dict()
        obj.update(preset=getattr(preset, "name", None), data=data.describe(),
                   headline=res.headline(), cupy_overtakes_numpy_at=res.crossover())
        print(json.dumps(obj, allow_nan=False))
    else:
        for name, why in res.skipped.items():
            warn(f"{name} skipped: {why}")
        m = res.meta
        fixed = f", K={m['batch']}" if res.mode == "width" else ""
        print(f"{m['network']} on {data.describe()}{fixed}; {m['dtype']}, "
              f"{m['repeats']} repeats (min shown), BLAS threads: {m['blas_threads']}")
        print(format_table(res))
        print(res.headline())
        if {"numpy", "cupy"} <= set(res.backends()):
            x, var = res.crossover(), "width" if res.mode == "width" else "K"
            print(f"cupy's vectorized form beats numpy's from {var}={x} on" if x is not None
                  else "numpy's vectorized form is ahead of cupy's at every point measured")
    return 0
