"""Opening the user's files safely: regular files only, within a size limit.

A character device (``/dev/zero``, ``/dev/urandom``) or a FIFO passes a size
check (its ``st_size`` is 0) and is then read until memory runs out, or blocks
forever. Every reader of a user-named file (CSV, session, spec, preset) asks
:func:`regular_file` first; it follows symlinks and checks what they point at.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import BpvizError


def regular_file(path: str | os.PathLike[str], what: str = "file",
                 max_bytes: int | None = None) -> Path:
    """``path`` as a :class:`Path` if it names a readable regular file of at most
    ``max_bytes`` bytes; else a :class:`BpvizError` that says what is wrong.

    ``what`` names the file in the message ("CSV file", "session", ...).
    """
    p = Path(path)
    try:
        st = p.stat()                      # follows symlinks: judge the target
    except FileNotFoundError:
        raise BpvizError(f"{what} {p}: no such file") from None
    except OSError as exc:
        raise BpvizError(f"{what} {p}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise BpvizError(f"{what} {p}: that is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else
                "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise BpvizError(f"{what} {p}: that is {kind}; only regular files are read")
    if max_bytes is not None and st.st_size > max_bytes:
        raise BpvizError(f"{what} {p} is {st.st_size / 2**20:,.1f} MB, over the limit of "
                         f"{max_bytes / 2**20:,.0f} MB")
    return p
