"""Only regular files are read: devices, FIFOs and folders get one clear message."""

from __future__ import annotations

import os
import sys

import pytest

from bpviz.engine.errors import BpvizError
from bpviz.engine.files import regular_file


def test_a_regular_file_and_a_symlink_to_one_pass(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("x,y\n1,0\n")
    assert regular_file(f) == f
    link = tmp_path / "link.csv"
    link.symlink_to(f)
    assert regular_file(link, "CSV file", max_bytes=100) == link


@pytest.mark.parametrize(("make", "says"), [
    (lambda d: d, "folder"),
    (lambda d: d / "missing.csv", "no such file"),
])
def test_folders_and_missing_files_are_refused(tmp_path, make, says):
    with pytest.raises(BpvizError, match=says):
        regular_file(make(tmp_path), "CSV file")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_devices_and_links_to_them_are_refused(tmp_path):
    with pytest.raises(BpvizError, match="device"):
        regular_file("/dev/zero", "session")
    link = tmp_path / "zero.bpviz"
    link.symlink_to("/dev/zero")
    with pytest.raises(BpvizError, match="device.*only regular files"):
        regular_file(link, "session")


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs are POSIX")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(BpvizError, match="FIFO"):
        regular_file(fifo, "CSV file")


def test_the_size_limit(tmp_path):
    f = tmp_path / "big.csv"
    f.write_bytes(b"x" * 2048)
    regular_file(f, max_bytes=2048)
    with pytest.raises(BpvizError, match="over the limit"):
        regular_file(f, "CSV file", max_bytes=2047)
