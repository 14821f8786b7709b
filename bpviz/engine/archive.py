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
import re
import secrets
import stat
import struct
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
    """Write ``members`` as a zip at ``path`` atomically (temp file, fsync, rename).

    A symlink is written through: its target is replaced and the link stays.
    An existing file keeps its permission bits; a new one gets the usual ones
    (0666 less the umask), not a temporary file's 0600. Temporary files that
    an interrupted save of the same file left beside it (``.NAME.*.tmp``) are
    removed first. Returns ``path``; :class:`SessionError` if it cannot be
    written.
    """
    path = Path(path)
    if path.is_dir():
        raise SessionError(f"{path} is a folder; give a file name such as run.bpviz")
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise SessionError(f"cannot save to {path}: folder {folder} does not exist")
    if target.exists() and not target.is_file():
        raise SessionError(f"cannot save to {path}: it is not a regular file")
    mode = None
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except OSError:
        pass  # a new file
    remove_stale_temps(target)
    tmp = None
    try:
        fd, tmp = _create_temp(folder, target.name)
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for name, blob in members.items():
                    zf.writestr(name, blob)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
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


def temp_pattern(target: Path) -> re.Pattern[str]:
    """The names of the temporary files a save of ``target`` writes beside it."""
    return re.compile(rf"\.{re.escape(target.name)}\.[A-Za-z0-9_]{{8,32}}\.tmp")


def remove_stale_temps(target: Path) -> list[Path]:
    """Remove the temporary files an interrupted save of ``target`` left; the removed."""
    folder = target.parent if str(target.parent) else Path(".")
    pat, gone = temp_pattern(target), []
    try:
        names = os.listdir(folder)
    except OSError:
        return gone
    for name in names:
        p = folder / name
        if pat.fullmatch(name) and not p.is_symlink() and p.is_file():
            try:
                p.unlink()
                gone.append(p)
            except OSError:
                pass
    return gone


def _create_temp(folder: Path, name: str) -> tuple[int, str]:
    """A new temporary file ``.NAME.XXXXXXXX.tmp`` in ``folder`` (0666 less the umask)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = str(folder / f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise OSError(f"no free temporary file name in {folder}")


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

        The ``.npy`` header is read first, from the compressed stream, and
        checked before any allocation: no object dtype (that would need
        pickle), the right kind and shape, and no more data promised than the
        zip says the member holds. Then exactly the data the header declares
        is decompressed, plus one byte: a member with trailing bytes (a small
        file that would unpack to far more) is refused without unpacking the
        rest, so what is read is bounded by the header's size.

        Returns
        -------
        numpy.ndarray
            Of shape ``shape`` (any shape when None), a writable copy.
        """
        info = self.infos.get(name)
        if info is None:
            raise SessionError(f"the session file lacks {name}; it is incomplete")
        if info.file_size > MAX_MEMBER_BYTES:
            raise SessionError(
                f"{name} is {info.file_size / 2**20:.0f} MB uncompressed, over the "
                f"limit of {MAX_MEMBER_BYTES / 2**20:.0f} MB"
            )
        with self.zf.open(info) as fh:
            try:
                major, _minor = np.lib.format.read_magic(fh)
                if major == 1:
                    hshape, fortran, hdtype = np.lib.format.read_array_header_1_0(fh)
                elif major in (2, 3):
                    hshape, fortran, hdtype = np.lib.format.read_array_header_2_0(fh)
                else:
                    raise ValueError(f"unknown .npy version {major}")
            except SessionError:
                raise
            except Exception as exc:  # NumPy's header parser: ValueError, SyntaxError...
                raise SessionError(
                    f"{name} is not a valid .npy array ({first_line(exc)})"
                ) from None
            header_len = fh.tell()
            if hdtype.hasobject:
                raise SessionError(
                    f"{name} holds Python objects (pickled data); refusing to load it"
                )
            if hdtype.kind != kind:
                what = "floating-point numbers" if kind == "f" else "integers"
                raise SessionError(f"{name} must hold {what}, got dtype {hdtype}")
            if shape is not None and tuple(hshape) != tuple(shape):
                raise SessionError(
                    f"{name} has shape {tuple(hshape)}, the network needs {tuple(shape)}"
                )
            nbytes = math.prod(hshape) * hdtype.itemsize
            declared = header_len + nbytes
            if info.file_size < declared:
                raise SessionError(
                    f"{name} is truncated: its header promises {nbytes} bytes of data"
                )
            blob = fh.read(nbytes + 1)  # one byte more tells trailing bytes, unread
        if len(blob) > nbytes:
            raise SessionError(
                f"{name} holds bytes after the array its header declares "
                f"({nbytes:,} bytes of data); refusing it"
            )
        if len(blob) < nbytes:
            raise SessionError(
                f"{name} holds {len(blob):,} bytes of data, its header declares {nbytes:,}"
            )
        try:
            a = np.frombuffer(blob, dtype=hdtype, count=math.prod(hshape))
            a = a.reshape(hshape, order="F" if fortran else "C").copy()
        except (ValueError, TypeError) as exc:
            raise SessionError(f"{name} cannot be read as a plain array ({first_line(exc)})"
                               ) from None
        return a
