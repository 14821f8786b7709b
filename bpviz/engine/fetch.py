"""Download MNIST and Fashion-MNIST once into the user's cache, checksums verified.

:func:`fetch` downloads the four gzipped IDX files of a data set (training and
test images and labels) into :func:`cache_dir` ``/<name>/``, each checked
against its SHA-256 before it is kept (a download goes to a ``.part`` file,
renamed only once it matches). Files already there and intact are not
downloaded again. Only :mod:`urllib` is used; ``opener`` lets a caller (a test)
serve the bytes without a network. This module never imports Qt.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import BpvizError

__all__ = ["SOURCES", "FetchError", "Offline", "cache_dir", "fetch"]


class FetchError(BpvizError):
    """A download that failed or did not match its checksum."""


class Offline(FetchError):
    """No network: the one-line message says so."""


@dataclass(frozen=True)
class Source:
    """Where a data set's files come from and what they must hash to."""

    title: str
    mirrors: tuple[str, ...]                  # base URLs, tried in order
    files: tuple[tuple[str, int, str], ...]   # (name, bytes, sha256)


#: The data sets ``bpviz data fetch`` knows, with the published SHA-256 of each file.
SOURCES: dict[str, Source] = {
    "mnist": Source(
        "MNIST handwritten digits",
        ("https://ossci-datasets.s3.amazonaws.com/mnist/",
         "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        (("train-images-idx3-ubyte.gz", 9_912_422,
          "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
         ("train-labels-idx1-ubyte.gz", 28_881,
          "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
         ("t10k-images-idx3-ubyte.gz", 1_648_877,
          "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
         ("t10k-labels-idx1-ubyte.gz", 4_542,
          "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6")),
    ),
    "fashion-mnist": Source(
        "Fashion-MNIST (Zalando article images)",
        ("https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
         "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
        (("train-images-idx3-ubyte.gz", 26_421_880,
          "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc"),
         ("train-labels-idx1-ubyte.gz", 29_515,
          "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc"),
         ("t10k-images-idx3-ubyte.gz", 4_422_102,
          "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229"),
         ("t10k-labels-idx1-ubyte.gz", 5_148,
          "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf")),
    ),
}

#: ``opener(url, timeout) -> binary file-like`` (urllib's by default).
Opener = Callable[[str, float], BinaryIO]
#: ``on_bytes(file name, bytes so far, total bytes)`` while downloading.
OnBytes = Callable[[str, int, int], None]


def cache_dir() -> Path:
    """bpviz's cache folder: ``%LOCALAPPDATA%\\bpviz`` on Windows,
    ``~/Library/Caches/bpviz`` on macOS, else ``$XDG_CACHE_HOME/bpviz`` or
    ``~/.cache/bpviz``. ``BPVIZ_CACHE`` overrides all of them."""
    if os.environ.get("BPVIZ_CACHE"):
        return Path(os.environ["BPVIZ_CACHE"]).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return (Path(base) if base else Path.home() / "AppData" / "Local") / "bpviz"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "bpviz"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache") / "bpviz"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _urlopen(url: str, timeout: float) -> BinaryIO:
    return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - https/http mirrors


def _download(url: str, dest: Path, size: int, sha: str, opener: Opener,
              on_bytes: OnBytes | None, timeout: float) -> None:
    part = dest.with_name(dest.name + ".part")
    h, got = hashlib.sha256(), 0
    try:
        with opener(url, timeout) as r, open(part, "wb") as out:
            while True:
                chunk = r.read(1 << 16)
                if not chunk:
                    break
                got += len(chunk)
                if got > size:
                    raise FetchError(f"{url} sends more than the {size:,} bytes expected; "
                                     "the mirror may have changed, try again later")
                h.update(chunk)
                out.write(chunk)
                if on_bytes is not None:
                    on_bytes(dest.name, got, size)
        if h.hexdigest() != sha:
            raise FetchError(f"{dest.name} from {url} does not match its SHA-256 checksum "
                             f"({got:,} bytes); it was not kept, try again later")
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)


def fetch(name: str, *, opener: Opener | None = None, on_bytes: OnBytes | None = None,
          folder: Path | None = None, timeout: float = 30.0) -> Path:
    """Download data set ``name`` (a key of :data:`SOURCES`) unless it is cached.

    Returns
    -------
    Path
        The folder holding the four ``*.gz`` IDX files; pass its
        ``train-images-idx3-ubyte.gz`` to ``--data``.

    Raises
    ------
    Offline
        No network connection (one line that says so).
    FetchError
        A failed download, or a file that does not match its checksum.
    """
    if name not in SOURCES:
        raise FetchError(f"unknown data set {name!r}; choose one of {', '.join(SOURCES)}")
    src = SOURCES[name]
    where = (folder or cache_dir()) / name
    try:
        where.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FetchError(f"cannot create the cache folder {where} ({exc.strerror or exc}); "
                         "set BPVIZ_CACHE to a writable folder") from None
    opener = opener or _urlopen
    for fname, size, sha in src.files:
        dest = where / fname
        if dest.is_file() and dest.stat().st_size == size and _sha256(dest) == sha:
            if on_bytes is not None:
                on_bytes(fname, size, size)
            continue
        errors: list[str] = []
        offline = True        # every mirror failed to connect
        for base in src.mirrors:
            try:
                _download(base + fname, dest, size, sha, opener, on_bytes, timeout)
                break
            except FetchError as exc:
                errors.append(str(exc))
                offline = False
            except urllib.error.HTTPError as exc:
                errors.append(f"{base}{fname}: HTTP {exc.code} {exc.reason}")
                offline = False
            except (urllib.error.URLError, OSError) as exc:  # TimeoutError is an OSError
                errors.append(f"{base}: {getattr(exc, 'reason', None) or exc}")
        else:
            if offline:
                raise Offline(f"cannot download {src.title}: no network connection "
                              f"({errors[0]}); connect and run 'bpviz data fetch {name}' again")
            raise FetchError(f"cannot download {fname}: {'; '.join(errors)}")
    return where
