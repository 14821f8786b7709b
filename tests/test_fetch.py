"""Tests of ``bpviz data fetch``: never the network (file:// URLs and fake openers)."""

from __future__ import annotations

import hashlib
import io
import urllib.error
from pathlib import Path

import pytest

from bpviz.cli import main
from bpviz.engine import fetch as fetch_mod
from bpviz.engine.fetch import FetchError, Offline, Source, cache_dir, fetch


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A fake data set 'mnist' served from a local folder through file:// URLs."""
    served = tmp_path / "mirror"
    served.mkdir()
    files = []
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        data = name.encode() * 50
        (served / name).write_bytes(data)
        files.append((name, len(data), hashlib.sha256(data).hexdigest()))
    src = Source("test set", (served.as_uri() + "/",), tuple(files))
    monkeypatch.setitem(fetch_mod.SOURCES, "mnist", src)
    monkeypatch.setenv("BPVIZ_CACHE", str(tmp_path / "cache"))
    return served, src


def test_fetch_once_from_a_file_url(mirror, tmp_path) -> None:
    served, src = mirror
    seen: list[tuple[str, int, int]] = []
    where = fetch("mnist", on_bytes=lambda *a: seen.append(a))
    assert where == tmp_path / "cache" / "mnist"
    for name, _, _ in src.files:
        assert (where / name).read_bytes() == (served / name).read_bytes()
    assert seen[-1][1] == seen[-1][2]
    for name, _, _ in src.files:
        (served / name).unlink()  # cached: no second download
    assert fetch("mnist") == where


def test_bad_checksum_is_not_kept(mirror, tmp_path) -> None:
    served, src = mirror
    name = src.files[0][0]
    (served / name).write_bytes(b"x" * src.files[0][1])
    with pytest.raises(FetchError, match="does not match its SHA-256"):
        fetch("mnist")
    assert not (tmp_path / "cache" / "mnist" / name).exists()
    assert not list((tmp_path / "cache" / "mnist").glob("*.part"))


def test_offline_is_one_line(mirror) -> None:
    def no_net(url: str, timeout: float):
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    with pytest.raises(Offline, match="no network connection") as info:
        fetch("mnist", opener=no_net)
    assert "\n" not in str(info.value)


def test_fake_opener_and_http_error(mirror) -> None:
    _, src = mirror
    bodies = {n: n.encode() * 50 for n, _, _ in src.files}
    got = fetch("mnist", opener=lambda url, t: io.BytesIO(bodies[url.rsplit("/", 1)[1]]))
    assert sorted(p.name for p in got.iterdir()) == sorted(bodies)

    def http_404(url: str, timeout: float):
        raise urllib.error.HTTPError(url, 404, "Not Found", None, None)  # type: ignore[arg-type]

    for p in got.iterdir():
        p.unlink()
    with pytest.raises(FetchError, match="HTTP 404") as info:
        fetch("mnist", opener=http_404)
    assert not isinstance(info.value, Offline)


def test_cli_data_fetch(mirror, capsys) -> None:
    assert main(["data", "fetch", "mnist", "--quiet"]) == 0
    out = capsys.readouterr()
    assert out.out.strip().endswith("train-images-idx3-ubyte.gz")
    assert "--data" in out.err
    assert main(["data", "fetch", "cifar"]) == 2


def test_cli_offline_message(mirror, monkeypatch, capsys) -> None:
    def no_net(url: str, timeout: float):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(fetch_mod, "_urlopen", no_net)
    assert main(["data", "fetch", "mnist", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no network" in err and "Traceback" not in err


def test_cache_dir_per_platform(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("BPVIZ_CACHE", raising=False)
    monkeypatch.setattr(fetch_mod.sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert cache_dir() == tmp_path / "local" / "bpviz"
    monkeypatch.setattr(fetch_mod.sys, "platform", "darwin")
    assert cache_dir() == Path.home() / "Library" / "Caches" / "bpviz"
    monkeypatch.setattr(fetch_mod.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "bpviz"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "bpviz"


def test_published_checksums_are_well_formed() -> None:
    for src in fetch_mod.SOURCES.values():
        assert len(src.files) == 4 and all(m.startswith("http") for m in src.mirrors)
        for name, size, sha in src.files:
            assert name.endswith("-ubyte.gz") and size > 1000 and len(sha) == 64
            int(sha, 16)
