"""NumPy's floating-point warnings, caught and said once in words.

Left alone, an overflow in a matrix product prints NumPy's raw warning
("RuntimeWarning: overflow encountered in matmul", with a file and a line) on
stderr, once per place, in the middle of whatever the user reads. Inside a
:class:`FloatWatch` NumPy calls the watch instead (``np.errstate(call=...)``,
which is per thread): it counts overflows, invalid values (NaN) and divisions
by zero, and :meth:`FloatWatch.take_message` words them as one line, once.
The command line (``bpviz.cli.common.guarded``) and the window's training
worker each run inside one. Underflow stays ignored, as NumPy's default.
"""

from __future__ import annotations

from collections import Counter
from types import TracebackType
from typing import Any

import numpy as np

__all__ = ["FloatWatch"]

#: NumPy's names of the events, in the order they are said, with their words.
_WORDS = {
    "overflow": "overflowed to infinity",
    "invalid value": "gave invalid results (NaN)",
    "divide by zero": "divided by zero",
}


class FloatWatch:
    """A context manager that counts NumPy floating-point events instead of warning.

    Attributes
    ----------
    counts : collections.Counter
        ``{"overflow": n, "invalid value": n, "divide by zero": n}`` since the
        last :meth:`take_message`.
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._said = False
        self._cm: Any = None

    def __enter__(self) -> FloatWatch:
        self._cm = np.errstate(over="call", invalid="call", divide="call", under="ignore",
                               call=self._seen)
        self._cm.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        cm, self._cm = self._cm, None
        if cm is not None:
            cm.__exit__(et, ev, tb)

    def _seen(self, kind: str, _flag: int) -> None:
        self.counts[kind] += 1

    def take_message(self, once: bool = True) -> str | None:
        """One line that says what happened since the last call, or None.

        With ``once`` (the default) only the first message is returned; later
        events are counted but not said again until :meth:`rearm`.
        """
        if not self.counts or (once and self._said):
            self.counts.clear()
            return None
        parts = [f"{words} {self.counts[k]:,} time{'s' if self.counts[k] != 1 else ''}"
                 for k, words in _WORDS.items() if self.counts[k]]
        self.counts.clear()
        self._said = True
        return ("the arithmetic " + ", ".join(parts) + "; some numbers are infinite or NaN "
                "(a smaller learning rate, or features on a smaller scale, usually helps)")

    def rearm(self) -> None:
        """Say the next event again (e.g. after a reset)."""
        self._said = False
        self.counts.clear()
