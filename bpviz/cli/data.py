"""``bpviz data``: data files. ``bpviz data fetch mnist|fashion-mnist`` downloads a
data set once into the user's cache and prints the file to pass to ``--data``."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from ..engine.fetch import SOURCES

    p = subparsers.add_parser(
        "data",
        help="download MNIST or Fashion-MNIST into the cache",
        description="Data files. 'bpviz data fetch NAME' downloads a data set's four IDX "
        "files once into bpviz's cache folder (%LOCALAPPDATA%\\bpviz on Windows, "
        "~/Library/Caches/bpviz on macOS, $XDG_CACHE_HOME/bpviz or ~/.cache/bpviz "
        "elsewhere; BPVIZ_CACHE overrides it), checks their SHA-256 checksums, and "
        "prints the images file to give to --data.",
    )
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    f = sub.add_parser("fetch", help="download a data set (once) and verify it",
                       description="Download a data set once into the cache and verify it.")
    f.add_argument("name", choices=tuple(SOURCES), help="the data set")
    f.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def run(args: argparse.Namespace) -> int:
    from ..engine.fetch import SOURCES, fetch

    src = SOURCES[args.name]
    total = sum(size for _, size, _ in src.files)
    bar, seen = None, {}
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="B", unit_scale=True, file=sys.stderr,
                   desc=args.name, leave=False)

    def on_bytes(name: str, got: int, size: int) -> None:
        if bar is not None:
            bar.update(got - seen.get(name, 0))
        seen[name] = got

    try:
        where = fetch(args.name, on_bytes=on_bytes)
    finally:
        if bar is not None:
            bar.close()
    print(where / "train-images-idx3-ubyte.gz")
    print(f"bpviz: {src.title} is in {where}; train on it with "
          f"--data {where / 'train-images-idx3-ubyte.gz'}", file=sys.stderr)
    return 0
