"""The ``bpviz`` command: subcommands over the engine, one module each.

Each module ``bpviz/cli/<name>.py`` of :data:`COMMANDS` defines
``add_parser(subparsers)`` and ``run(args) -> int``; it is imported when
``main`` runs, and a module that does not exist is skipped. With no
subcommand, ``bpviz`` opens the desktop app (``gui``), or prints help where
the app is not there.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from .common import ArgumentParser, guarded

#: The subcommands, in the order ``bpviz --help`` lists them.
COMMANDS = ("train", "gradcheck", "presets", "bench", "data", "animate", "gui")


def _load(name: str) -> ModuleType | BaseException | None:
    """The command module, None if it does not exist, or the error importing it."""
    modname = f"{__name__}.{name}"
    try:
        return importlib.import_module(modname)
    except ModuleNotFoundError as exc:
        if exc.name == modname:
            return None
        return exc
    except Exception as exc:  # a broken optional module must not break the others
        return exc


def _unavailable(name: str, error: BaseException):
    def run(args: object) -> int:
        print(
            f"bpviz: error: the {name} command is unavailable here "
            f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})",
            file=sys.stderr,
        )
        return 2

    return run


def build_parser() -> ArgumentParser:
    """The full argument parser, with every available subcommand."""
    from .. import __version__

    parser = ArgumentParser(
        prog="bpviz",
        description="See backpropagation: train small networks and look at the "
        "mini-batch matrices a, delta and dW = delta^T a.",
    )
    parser.add_argument("--version", action="version", version=f"bpviz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        mod = _load(name)
        if mod is None:
            continue
        if isinstance(mod, BaseException):
            p = sub.add_parser(name, help=f"(unavailable: {type(mod).__name__})")
            p.add_argument("rest", nargs="*")
            p.set_defaults(run=_unavailable(name, mod))
            continue
        before = set(sub.choices)
        mod.add_parser(sub)
        for new in set(sub.choices) - before:
            sub.choices[new].set_defaults(run=mod.run)
    parser.set_defaults(commands=tuple(sub.choices))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``bpviz`` with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    Bad input prints one line ``bpviz: error: ...`` on stderr and returns 2;
    Ctrl+C returns 130.
    """
    argv = list(sys.argv[1:] if argv is None else argv)

    def go() -> int:
        parser = build_parser()
        args = parser.parse_args(argv)
        if getattr(args, "run", None) is None:
            if "gui" in args.commands and getattr(_load("gui"), "run", None):
                args = parser.parse_args(["gui"])
            else:
                parser.print_help()
                return 0
        return args.run(args)

    return guarded(go)
