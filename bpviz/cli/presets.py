"""``bpviz presets``: list the shipped presets."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "presets",
        help="list the presets",
        description="List the shipped presets: name and description. "
        "Use one with bpviz train --preset NAME.",
    )
    p.add_argument(
        "--json", action="store_true", help='print a JSON list of {"name", "description"}'
    )
    return p


def run(args: argparse.Namespace) -> int:
    from ..engine.presets import list_presets

    presets = list_presets()
    if args.json:
        print(json.dumps([{"name": p.name, "description": p.description} for p in presets]))
        return 0
    width = max((len(p.name) for p in presets), default=0)
    for p in presets:
        print(f"{p.name:<{width}}  {p.description}")
    return 0
