"""Zip archives of JSON and ``.npy`` members: written atomically, read without trust.

The storage layer of session files (:mod:`bpviz.engine.session`). Writing goes
to a temporary file in the target's folder, is flushed to disk, then renamed
over the target, so a crash never leaves half a file. Reading checks every
member before it allocates anything: the archive's size and member count,
each member's uncompressed size, and each ``.npy`` header (dtype, shape and
the bytes it promises) before :func:`numpy.load` runs with
``allow_pickle=False``. Every problem is a :class:`SessionError`.
"""

from __future__ import annotations

import io
import math
import os
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .errors import SessionError

#: Largest uncompressed size of one member.
MAX_MEMBER_BYTES = 512 * 2**20
#: Largest uncompressed size of all members together.
MAX_TOTAL_BYTES = 2 * MAX_MEMBER_BYTES
MAX_MEMBERS = 10_000

#: What reading a damaged zip can raise.
READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    struct.error,
    OverflowError,
    NotImplementedError,
    RuntimeError,
    UnicodeDecodeError,
    MemoryError,
)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (or its type's name)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ------------------------------------------------------------------ writing


def npy_bytes(a: np.ndarray) -> bytes:
    """``a`` in ``.npy`` format, never pickled."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


def write_archive(path: Path, members: dict[str, bytes]) -> Path:
    """Write ``members`` as a zip at ``path`` atomically (temp file, fsync, rename)."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise SessionError(f"{path} is a folder; give a file name such as run.bpviz")
    if not folder.is_dir():
        raise SessionError(f"cannot save to {path}: folder {folder} does not exist")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for name, blob in members.items():
                    zf.writestr(name, blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(folder)
    except OSError as exc:
        raise SessionError(f"cannot save to {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return path


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ------------------------------------------------------------------ reading


class ArchiveReader:
    """Checked access to the members of an open :class:`zipfile.ZipFile`."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        infolist = zf.infolist()
        if len(infolist) > MAX_MEMBERS:
            raise SessionError(f"the archive holds {len(infolist)} files; a session has far fewer")
        self.infos = {i.filename: i for i in infolist}
        if len(self.infos) != len(infolist):
            raise SessionError("the archive holds two files with the same name")
        total = sum(i.file_size for i in infolist)
        if total > MAX_TOTAL_BYTES:
            raise SessionError(
                f"the archive unpacks to {total / 2**20:.0f} MB, over the limit of "
                f"{MAX_TOTAL_BYTES / 2**20:.0f} MB"
            )
        self.zf = zf

    def read(self, name: str, limit: int | None = None) -> bytes:
        """The bytes of member ``name``, refusing more than ``limit`` uncompressed."""
        limit = MAX_MEMBER_BYTES if limit is None else limit
        info = self.infos.get(name)
        if info is None:
            raise SessionError(f"the session file lacks {name}; it is incomplete")
        if info.file_size > limit:
            raise SessionError(
                f"{name} is {info.file_size / 2**20:.0f} MB uncompressed, over the "
                f"limit of {limit / 2**20:.0f} MB"
            )
        with self.zf.open(info) as fh:
            blob = fh.read(limit + 1)
        if len(blob) > limit:
            raise SessionError(f"{name} is over the limit of {limit / 2**20:.0f} MB")
        return blob

    def array(self, name: str, shape: tuple[int, ...] | None, kind: str = "f") -> np.ndarray:
        """Member ``name`` as an array of dtype kind ``kind`` ("f", "i") and ``shape``.

        The ``.npy`` header is checked before any allocation: no object dtype
        (that would need pickle), the right kind and shape, and no more data
        promised than the member holds.
        """
        blob = self.read(name)
        buf = io.BytesIO(blob)
        try:
            major, _minor = np.lib.format.read_magic(buf)
            if major == 1:
                hshape, _fortran, hdtype = np.lib.format.read_array_header_1_0(buf)
            elif major in (2, 3):
                hshape, _fortran, hdtype = np.lib.format.read_array_header_2_0(buf)
            else:
                raise ValueError(f"unknown .npy version {major}")
        except Exception as exc:  # NumPy's header parser: ValueError, SyntaxError, TokenError...
            raise SessionError(f"{name} is not a valid .npy array ({first_line(exc)})") from None
        if hdtype.hasobject:
            raise SessionError(f"{name} holds Python objects (pickled data); refusing to load it")
        if hdtype.kind != kind:
            what = "floating-point numbers" if kind == "f" else "integers"
            raise SessionError(f"{name} must hold {what}, got dtype {hdtype}")
        if shape is not None and tuple(hshape) != tuple(shape):
            raise SessionError(
                f"{name} has shape {tuple(hshape)}, the network needs {tuple(shape)}"
            )
        nbytes = math.prod(hshape) * hdtype.itemsize
        if nbytes > len(blob) - buf.tell():
            raise SessionError(f"{name} is truncated: its header promises {nbytes} bytes of data")
        buf.seek(0)
        try:
            a = np.load(buf, allow_pickle=False)
        except Exception as exc:  # pickled data, a malformed header, short data
            raise SessionError(
                f"{name} cannot be read as a plain array ({first_line(exc)})"
            ) from None
        if not isinstance(a, np.ndarray):
            raise SessionError(f"{name} is not a single array")
        return a
