"""User-facing errors of the engine.

Every error that bad input can cause is a :class:`BpvizError` whose message
says what is wrong and how to fix it, in one line. The command line prints it
and exits 2; the GUI shows it next to the field that caused it.
"""

from __future__ import annotations


class BpvizError(ValueError):
    """Bad input: a one-line message that says what is wrong and how to fix it."""


class SpecError(BpvizError):
    """An invalid network specification."""


class DataError(BpvizError):
    """A data set or CSV file that cannot be used."""


class SessionError(BpvizError):
    """A session file that cannot be read or written."""


class BackendError(BpvizError):
    """An array backend (NumPy, CuPy) that cannot be used."""
