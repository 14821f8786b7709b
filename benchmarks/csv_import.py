"""CSV import: bpviz's reader against ``np.loadtxt``, side by side in one run.

Writes a CSV of ``--rows`` rows of 784 pixel features (0..255) and a label,
like MNIST's CSV, then times :func:`bpviz.engine.csvdata.load_csv` and
``np.loadtxt(..., dtype=float32)`` on it and reports MB/s, the peak memory
each one allocates (``tracemalloc``, which sees NumPy's buffers) and that
peak over the size of the float32 array. ``load_csv`` does more than parse (the
target's classes, the train/test split); ``np.loadtxt`` only parses. With
``--runs N`` the whole side-by-side measurement is made N times (the speed ratio
of each run, then the lowest). Run it as::

    python benchmarks/csv_import.py [--rows 20000] [--repeat 5] [--runs 1] [--floats]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bpviz.engine.csvdata import load_csv  # noqa: E402


def write_csv(path: Path, rows: int, seed: int = 0, floats: bool = False) -> None:
    """MNIST-like: whole numbers 0..255, or with ``floats`` pixels/255 to 4 decimals."""
    rng = np.random.default_rng(seed)
    header = ",".join(f"px{j}" for j in range(784)) + ",label\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(header)
        for start in range(0, rows, 1000):
            X = rng.integers(0, 256, (min(1000, rows - start), 784))
            X[:, :100] = 0  # MNIST's border pixels are mostly 0
            y = rng.integers(0, 10, len(X))
            cells = ([[f"{v / 255:.4g}" for v in r] for r in X] if floats
                     else [list(map(str, r)) for r in X])
            f.write("".join(",".join(r) + f",{c}\n" for r, c in zip(cells, y, strict=True)))


def best_times(runs: dict, repeat: int) -> dict[str, float]:
    """Best wall time of each reader over ``repeat`` rounds, the readers interleaved
    (A, B, A, B, ...) so that a busy machine slows both alike."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, fn in runs.items():
            gc.collect()
            t = time.perf_counter()
            out = fn()
            best[name] = min(best[name], time.perf_counter() - t)
            del out
    return best


def peak_bytes(fn) -> int:
    """Peak bytes allocated by one call (tracemalloc sees NumPy's buffers)."""
    gc.collect()
    tracemalloc.start()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del out
    return peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5, help="rounds per run (best time kept)")
    ap.add_argument("--runs", type=int, default=1, help="side-by-side runs")
    ap.add_argument("--floats", action="store_true", help="pixels as decimals in [0, 1]")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mnist_like.csv"
        write_csv(path, args.rows, floats=args.floats)
        mb = os.path.getsize(path) / 1e6
        array_mb = args.rows * 784 * 4 / 1e6
        runs = {
            "bpviz load_csv": lambda: load_csv(path, test_fraction=0.2),
            "np.loadtxt float32": lambda: np.loadtxt(path, delimiter=",", skiprows=1,
                                                     dtype=np.float32),
        }
        print(f"{args.rows} rows x 785 columns, {mb:.1f} MB of CSV; "
              f"float32 features {array_mb:.1f} MB")
        ratios = []
        for run in range(args.runs):
            if args.runs > 1:
                print(f"run {run + 1} of {args.runs}")
            print(f"{'reader':<22}{'seconds':>9}{'MB/s':>9}{'peak MB':>10}{'peak/array':>12}")
            res = best_times(runs, args.repeat)
            for name, fn in runs.items():
                sec, peak = res[name], peak_bytes(fn)
                print(f"{name:<22}{sec:>9.2f}{mb / sec:>9.1f}{peak / 1e6:>10.1f}"
                      f"{peak / 1e6 / array_mb:>12.2f}")
            ratios.append(res["np.loadtxt float32"] / res["bpviz load_csv"])
            print(f"bpviz parses at {ratios[-1]:.2f}x the speed of np.loadtxt")
        if args.runs > 1:
            print(f"speed ratio per run: {', '.join(f'{r:.2f}' for r in ratios)}; "
                  f"lowest {min(ratios):.2f}x")


if __name__ == "__main__":
    main()
