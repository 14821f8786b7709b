"""Hostile input: devices, FIFOs, bad session fields, zip bombs, divergence, interrupted
saves, closing the window mid-sweep, thousands of classes.

Each hostile file is built by the ``hostile`` fixture. The command line runs as a
subprocess with a timeout, so a hang (a FIFO read) fails instead of hanging; the
window's cases use a real :class:`~bpviz.gui.controller.Controller`.
"""

from __future__ import annotations

import gc
import json
import os
import stat
import subprocess
import sys
import time
import tracemalloc
import warnings
import weakref
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from bpviz.engine.archive import write_archive
from bpviz.engine.errors import BpvizError, SessionError
from bpviz.engine.fpwatch import FloatWatch
from bpviz.engine.presets import load_preset
from bpviz.engine.session import load_session, save_session
from bpviz.engine.trainer import TrainConfig, Trainer

REPO = Path(__file__).resolve().parents[1]
POSIX = sys.platform != "win32" and os.path.exists("/dev/zero")
needs_posix = pytest.mark.skipif(not POSIX, reason="needs /dev/zero and FIFOs (POSIX)")
TIMEOUT = 120  # s: a hang fails the test instead of hanging the suite

#: Trailing bytes after a valid weight member (a real bomb has 500 MB; the bound is the
#: same, and a few MB show it without making the test slow).
BOMB_BYTES = 48 * 2**20


def bpviz(*args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    """``python -m bpviz ARGS`` from this checkout, with a timeout."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "bpviz", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=REPO)


def assert_one_line_error(r: subprocess.CompletedProcess[str], says: str, rc: int = 2) -> None:
    assert r.returncode == rc, r.stderr
    assert "Traceback" not in r.stderr and "Warning" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("bpviz: error:"), r.stderr
    assert says in lines[0], r.stderr


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _rewrite(src: Path, dst: Path, **meta_changes: Any) -> Path:
    """A copy of session ``src`` with fields of session.json changed (dotted keys nest)."""
    m = _members(src)
    meta = json.loads(m["session.json"])
    for key, value in meta_changes.items():
        d = meta
        *path, last = key.split("__")
        for k in path:
            d = d[k]
        d[last] = value
    m["session.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, blob in m.items():
            zf.writestr(name, blob)
    return dst


def _bomb(src: Path, dst: Path, trailing: int = BOMB_BYTES) -> Path:
    """A small session whose W0 member is a valid .npy plus ``trailing`` zero bytes."""
    m = _members(src)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, blob in m.items():
            if name != "weights/W0.npy":
                zf.writestr(name, blob)
        with zf.open("weights/W0.npy", "w", force_zip64=True) as fh:
            fh.write(m["weights/W0.npy"])
            chunk = b"\0" * 2**20
            for _ in range(trailing // len(chunk)):
                fh.write(chunk)
    return dst


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Every hostile file, built once: ``h.NAME`` is its path."""
    d = tmp_path_factory.mktemp("hostile")
    p = load_preset("xor")
    from bpviz.engine import Network

    net = Network(p.spec, seed=1)
    good = save_session(d / "good.bpviz", net, Trainer(net, p.data.load(), p.train), p.data)
    h = SimpleNamespace(dir=d, good=good)
    for name, seed in (("seed_neg", -1), ("seed_half", 1.5), ("seed_text", "x")):
        setattr(h, name, _rewrite(good, d / f"{name}.bpviz", config__seed=seed))
    h.bomb = _bomb(good, d / "bomb.bpviz")
    h.csv_good = d / "good.csv"
    h.csv_good.write_text("x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    h.huge_cell_csv = d / "huge.csv"
    h.huge_cell_csv.write_text("x1,x2,y\n" + "".join(
        f"{1e300 if i == 3 else i * 0.1},{(i * 7) % 5 * 0.2},{i % 2}\n" for i in range(40)))
    if POSIX:
        h.zero = Path("/dev/zero")
        h.zero_link = d / "zero.bpviz"
        h.zero_link.symlink_to("/dev/zero")
        h.fifo = d / "pipe.bpviz"
        os.mkfifo(h.fifo)
        h.fifo_csv = d / "pipe.csv"
        os.mkfifo(h.fifo_csv)
        h.csv_zero = _rewrite(good, d / "csv_zero.bpviz", data__csv_path="/dev/zero")
        h.csv_fifo = _rewrite(good, d / "csv_fifo.bpviz", data__csv_path=str(h.fifo_csv))
        h.csv_urandom_link = d / "urandom.csv"
        h.csv_urandom_link.symlink_to("/dev/urandom")
        h.csv_link = _rewrite(good, d / "csv_link.bpviz",
                              data__csv_path=str(h.csv_urandom_link))
    return h


# ------------------------------------------------------------------ only regular files


@needs_posix
@pytest.mark.parametrize(("name", "says"), [
    ("zero", "device"), ("zero_link", "device"), ("fifo", "FIFO"),
])
def test_session_that_is_not_a_regular_file_cli(hostile, name, says) -> None:
    r = bpviz("train", "--session", str(getattr(hostile, name)), "--steps", "1")
    assert_one_line_error(r, says)


@needs_posix
@pytest.mark.parametrize(("name", "says"), [
    ("csv_zero", "device"), ("csv_fifo", "FIFO"), ("csv_link", "device"),
])
def test_session_whose_csv_path_is_not_a_regular_file_cli(hostile, name, says) -> None:
    r = bpviz("train", "--session", str(getattr(hostile, name)), "--steps", "1")
    assert_one_line_error(r, says)


@needs_posix
def test_spec_file_that_is_a_fifo_or_device_cli(hostile) -> None:
    assert_one_line_error(bpviz("train", "--spec", str(hostile.fifo_csv)), "FIFO")
    assert_one_line_error(bpviz("gradcheck", "--spec", "/dev/zero"), "device")


@needs_posix
def test_gui_session_that_is_a_fifo_cli(hostile) -> None:
    r = bpviz("gui", "--session", str(hostile.fifo), "--run-for", "0")
    assert_one_line_error(r, "FIFO")


def test_good_session_still_trains_cli(hostile) -> None:
    r = bpviz("train", "--session", str(hostile.good), "--steps", "3", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["steps"] == 3


# ------------------------------------------------------------------ session fields


@pytest.mark.parametrize("name", ["seed_neg", "seed_half", "seed_text"])
def test_bad_seed_in_a_session_cli(hostile, name) -> None:
    r = bpviz("train", "--session", str(getattr(hostile, name)), "--steps", "1")
    assert_one_line_error(r, "seed must be a whole number")


@pytest.mark.parametrize("seed", [-1, 1.5, "x", True, 2**64])
def test_train_config_validates_the_seed(seed) -> None:
    with pytest.raises(BpvizError, match="seed must be a whole number"):
        TrainConfig.from_dict({"seed": seed})
    TrainConfig.from_dict({"seed": 2**63 - 1})


# ------------------------------------------------------------------ decompression bound


def test_bomb_is_refused_without_unpacking_it(hostile) -> None:
    assert hostile.bomb.stat().st_size < 1 * 2**20  # small on disk
    tracemalloc.start()
    try:
        with pytest.raises(SessionError, match="after the array its header declares"):
            load_session(hostile.bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < BOMB_BYTES // 8, f"peak {peak / 2**20:.1f} MB: the member was unpacked"


def test_bomb_cli(hostile) -> None:
    assert_one_line_error(bpviz("train", "--session", str(hostile.bomb)), "header declares")


# ------------------------------------------------------------------ numbers


def test_diverged_training_exits_3_and_says_so_once() -> None:
    r = bpviz("train", "--data", "reg_gauss", "--lr", "1000", "--steps", "300")
    assert r.returncode == 3, r.stderr
    assert "RuntimeWarning" not in r.stderr and "encountered" not in r.stderr
    assert r.stderr.count("diverged") == 1
    assert "3 when training diverged" in bpviz("train", "--help").stdout


def test_numpy_warnings_never_reach_stderr_raw_cli(hostile) -> None:
    r = bpviz("train", "--data", str(hostile.huge_cell_csv), "--steps", "20")
    assert "RuntimeWarning" not in r.stderr and "encountered in" not in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_float_watch_counts_and_says_once() -> None:
    watch = FloatWatch()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a raw warning would raise here
        with watch:
            _ = np.float32(3e38) * np.float32(10)
            _ = np.array([0.0]) / 0.0
        note = watch.take_message()
        assert note is not None and "overflowed" in note and "NaN" in note
        with watch:
            _ = np.float32(3e38) * np.float32(10)
        assert watch.take_message() is None  # said once
        watch.rearm()
        with watch:
            _ = np.float32(3e38) * np.float32(10)
        assert "overflowed" in (watch.take_message() or "")


# ------------------------------------------------------------------ saving


def test_interrupted_saves_are_cleaned_permissions_kept_symlinks_followed(tmp_path) -> None:
    target = tmp_path / "run.bpviz"
    write_archive(target, {"a.txt": b"1"})
    stale = [tmp_path / f".run.bpviz.{tag}.tmp" for tag in ("abcd1234", "x9y8z7w6")]
    for s in stale:
        s.write_bytes(b"half a zip")
    other = tmp_path / ".other.bpviz.abcd1234.tmp"
    other.write_bytes(b"not ours")
    if POSIX:
        os.chmod(target, 0o644)
    write_archive(target, {"a.txt": b"2"})
    assert not any(s.exists() for s in stale) and other.exists()
    assert zipfile.ZipFile(target).read("a.txt") == b"2"
    if POSIX:
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        link = tmp_path / "link.bpviz"
        link.symlink_to(target)
        write_archive(link, {"a.txt": b"3"})
        assert link.is_symlink() and zipfile.ZipFile(target).read("a.txt") == b"3"
        assert stat.S_IMODE(target.stat().st_mode) == 0o644


@pytest.mark.skipif(not POSIX, reason="umask is POSIX")
def test_a_new_file_gets_the_usual_permissions(tmp_path) -> None:
    old = os.umask(0o022)
    try:
        path = write_archive(tmp_path / "new.bpviz", {"a": b""})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


# ------------------------------------------------------------------ the window

pytest.importorskip("pytestqt")


@pytest.fixture
def window(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QSettings

    from bpviz.gui.controller import Controller
    from bpviz.gui.main_window import MainWindow

    made: list[Any] = []

    def make(preset: str = "circle") -> tuple[Any, Any]:
        ctx = Controller(preset)
        s = QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat)
        win = MainWindow(ctx, settings=s, restore_layout=False, save_layout=False)
        win.errors = []
        win.error_dialog = lambda title, text: win.errors.append(text)
        win.show()
        qtbot.waitExposed(win)
        made.append((ctx, win))
        return ctx, win

    yield make
    for ctx, win in made:
        win.close()
        ctx.shutdown()


def _state(ctx: Any) -> tuple[Any, ...]:
    return ctx.spec, ctx.data_choice, ctx.config, ctx.session_path


@needs_posix
@pytest.mark.parametrize("name", ["zero", "zero_link", "fifo", "csv_zero", "csv_fifo",
                                  "csv_link", "seed_neg", "seed_half", "seed_text", "bomb"])
def test_window_open_refuses_hostile_sessions(window, hostile, name) -> None:
    ctx, win = window()
    before = _state(ctx)
    t0 = time.perf_counter()
    assert win.open_session(str(getattr(hostile, name))) is False
    assert time.perf_counter() - t0 < 10  # no read until memory runs out, no hang
    assert len(win.errors) == 1 and "\n" not in win.errors[0]
    assert _state(ctx) == before


@needs_posix
@pytest.mark.parametrize("name", ["zero", "fifo_csv", "csv_urandom_link"])
def test_window_import_csv_refuses_devices_and_fifos(window, hostile, name) -> None:
    ctx, win = window()
    before = _state(ctx)
    assert win.import_csv(str(getattr(hostile, name))) is False
    assert "only regular files" in win.errors[-1]
    assert _state(ctx) == before
    assert win.import_csv(str(hostile.csv_good)) is True


def test_divergence_notice_stays_until_play_or_reset(qtbot, window) -> None:
    ctx, win = window("regression")
    assert ctx.update_config(lr=900.0, optimizer="sgd")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with qtbot.waitSignal(ctx.diverged, timeout=20_000):
            win.actions_.play.trigger()
        qtbot.waitUntil(lambda: not ctx.is_playing, timeout=20_000)
    assert not [w for w in caught if "encountered" in str(w.message)]  # no raw NumPy warning
    notice = win.divergence_notice
    assert notice.isVisible() and "diverged" in notice.text()
    ctx.message.emit("something else")  # the status bar moves on; the notice stays
    win.statusBar().clearMessage()
    assert notice.isVisible()
    ctx.reset()
    assert not notice.isVisible()
    with qtbot.waitSignal(ctx.diverged, timeout=20_000):
        win.actions_.play.trigger()
    qtbot.waitUntil(lambda: notice.isVisible(), timeout=20_000)
    assert ctx.update_config(lr=0.01)
    win.actions_.play.trigger()
    qtbot.waitUntil(lambda: not notice.isVisible(), timeout=20_000)


def test_closing_the_window_stops_a_sweep_and_frees_the_window(qtbot, tmp_path, qtlog,
                                                               monkeypatch) -> None:
    from PySide6.QtCore import QSettings

    import bpviz.gui.timing_thread as tt
    from bpviz.gui.controller import Controller
    from bpviz.gui.main_window import MainWindow
    from bpviz.gui.timing_lab import TimingLab

    real = tt.sweep

    def held(**kw: Any) -> Any:  # the sweep waits after its first point until cancelled
        report, cancel = kw.pop("progress"), kw["cancel"]

        def progress(done: int, total: int) -> None:
            report(done, total)
            if done >= 1:
                cancel.wait(20)
        return real(progress=progress, **kw)

    monkeypatch.setattr(tt, "sweep", held)
    monkeypatch.setattr(TimingLab, "isolate", False)

    def run() -> tuple[Any, Any, Any]:
        ctx = Controller("circle")
        win = MainWindow(ctx, settings=QSettings(str(tmp_path / "c.ini"),
                                                 QSettings.Format.IniFormat),
                         restore_layout=False, save_layout=False)
        win.show()
        qtbot.waitExposed(win)
        lab = win.panels["timing"]
        lab.max_k.setValue(64)
        lab.use_cupy.setChecked(False)
        lab.repeats.setValue(1)
        lab.run_btn.click()
        qtbot.waitUntil(lambda: lab._thread is not None and lab._thread.isRunning(),
                        timeout=20_000)
        thread = lab._thread
        win.close()  # no aboutToQuit: the window itself must stop the threads
        assert thread.isFinished() and not ctx.worker.isRunning()
        return weakref.ref(win), weakref.ref(ctx), weakref.ref(lab)

    refs = run()

    def freed() -> bool:   # a cycle through Qt objects takes a collection or two per link
        gc.collect()
        return all(r() is None for r in refs)

    qtbot.waitUntil(freed, timeout=5_000)
    assert not any("Destroyed while thread" in m.message for m in qtlog.records)


def test_data_view_draws_thousands_of_classes_fast(qtbot) -> None:
    from bpviz.engine.datasets import Dataset
    from bpviz.gui.views.data_view import MAX_LEGEND_CLASSES, DataView
    from bpviz.gui.views.demo import DemoContext

    rng = np.random.default_rng(0)
    C, N = 4000, 8000
    y = np.arange(N) % C
    X = rng.normal(size=(N, 2))
    ds = Dataset("many", X, y, X[:800].copy(), y[:800].copy(), C,
                 class_names=tuple(f"c{i}" for i in range(C)))
    small = Dataset("few", X[:60], y[:60] % 3, X[:10].copy(), y[:10] % 3, 3)
    view = DataView(DemoContext(None, small))
    qtbot.addWidget(view)
    view.show()
    t0 = time.perf_counter()
    view.set_dataset(ds)
    view.repaint()
    took = time.perf_counter() - t0
    assert took < 1.0, f"{took:.2f} s for {C} classes"
    labels = [label.text for _sample, label in view._legend.items]
    assert len(labels) <= MAX_LEGEND_CLASSES + 1 and any("4,000 classes" in t for t in labels)
    view.set_dataset(small)
    assert sum("class " in label.text for _s, label in view._legend.items) == 3
