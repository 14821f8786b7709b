"""Animations for slides (bpviz.gui.animate, ``bpviz animate``, File ▸ Export animation…)
and Training ▸ Reset (same start) / Reset (new start)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageSequence
from PySide6.QtCore import QPoint, QSettings

from bpviz.engine.errors import BpvizError
from bpviz.gui import animate
from bpviz.gui.animate import AnimationRequest, make_renderer, render

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def gif_frames(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        return [np.asarray(f.convert("RGB")).astype(np.int16) for f in ImageSequence.Iterator(im)]


def region(widget, child) -> tuple[slice, slice]:
    """Rows and columns of ``child`` in a grab of ``widget`` (1:1 pixels offscreen)."""
    p = child.mapTo(widget, QPoint(0, 0))
    return (slice(p.y() + 4, p.y() + child.height() - 4),
            slice(p.x() + 4, p.x() + child.width() - 4))


def test_gif_of_training_has_the_asked_frames_and_size(qtbot, tmp_path):
    req = AnimationRequest("matrices", steps=6, every=2, size=(320, 240), fps=5)
    out = tmp_path / "m.gif"
    r = animate.animate_preset(req, "xor", out)
    assert (r.frames, r.cancelled) == (3, False)
    frames = gif_frames(out)
    assert len(frames) == 3
    assert all(f.shape == (240, 320, 3) for f in frames)
    # training changed the matrices between frames: the pictures differ
    assert np.abs(frames[0] - frames[-1]).max() > 50
    with Image.open(out) as im:
        assert im.info["duration"] == 200 and im.info["loop"] == 0
    # the same command makes the same frames (the preset's seeded start)
    again = tmp_path / "again.gif"
    animate.animate_preset(req, "xor", again)
    assert all(np.array_equal(a, b) for a, b in zip(frames, gif_frames(again), strict=True))


def test_outer_product_stepping_changes_only_the_sum(qtbot, tmp_path):
    """k = 1…K: the running sum and the outer product of sample k change from frame to
    frame; the vectorized dW = δᵀa/K, the same matrix all along, does not."""
    req = AnimationRequest("outer-product", steps=20, size=(1280, 720), fps=4,
                           stepping=True).validate()
    out = tmp_path / "k.gif"
    r = make_renderer(req, "outer-product")
    try:
        K = r.widget.K()
        result = render(req, r, out)
        hm = r.widget.heatmaps
        running = region(r.widget, hm["running"])
        vectorized = region(r.widget, hm["vectorized"])
    finally:
        r.close()
    assert K > 1 and result.frames == K
    frames = gif_frames(out)
    assert len(frames) == K and frames[0].shape == (720, 1280, 3)
    for a, b in zip(frames, frames[1:], strict=False):
        assert np.abs(a[running] - b[running]).mean() > 1.0      # the sum fills up
        assert np.abs(a[vectorized] - b[vectorized]).mean() < 0.5  # dW stays


def test_cancel_stops_the_export(qtbot, tmp_path):
    req = AnimationRequest("loss", steps=10, every=1, size=(200, 150))
    out = tmp_path / "c.gif"
    calls = []

    def progress(done: int, total: int) -> bool:
        calls.append((done, total))
        return done < 2

    r = animate.animate_preset(req, "xor", out, progress)
    assert r.cancelled and r.frames == 2
    assert calls[-1] == (2, 10)
    assert not out.exists()


def test_gif_keeps_repeated_frames(tmp_path):
    """Pillow merges a frame equal to the previous one: the writer keeps every frame."""
    w = animate.GifWriter(tmp_path / "same.gif", fps=10)
    frame = np.zeros((40, 60, 3), np.uint8)
    frame[10:20, 10:30] = (200, 30, 30)
    for _ in range(3):
        w.append(frame)
    w.close()
    frames = gif_frames(tmp_path / "same.gif")
    assert len(frames) == 3
    assert all(np.abs(f - frame).max() <= 1 for f in frames)


def test_bad_requests_are_refused_before_training(tmp_path):
    ok = AnimationRequest("matrices", 4)
    with pytest.raises(BpvizError, match="unknown view"):
        AnimationRequest("nope", 4).validate()
    with pytest.raises(BpvizError, match="outer-product"):
        AnimationRequest("matrices", 4, stepping=True).validate()
    with pytest.raises(BpvizError, match="every"):
        AnimationRequest("matrices", 4, every=5).validate()
    with pytest.raises(BpvizError, match="size"):
        AnimationRequest("matrices", 4, size=(10, 10)).validate()
    with pytest.raises(BpvizError, match=".gif or .mp4"):
        animate.check_target(tmp_path / "x.avi", ok.size)
    with pytest.raises(BpvizError, match="no folder"):
        animate.check_target(tmp_path / "missing" / "x.gif", ok.size)
    assert animate.parse_size("640x400") == (640, 400)
    with pytest.raises(BpvizError, match="WIDTHxHEIGHT"):
        animate.parse_size("big")


def test_mp4_without_the_video_extra_is_refused_with_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(animate, "video_available", lambda: False)
    with pytest.raises(BpvizError, match=r"pip install 'bpviz\[video\]'"):
        animate.check_target(tmp_path / "x.mp4", (320, 240))
    with pytest.raises(BpvizError, match=r"bpviz\[video\]"):
        animate.animate_preset(AnimationRequest("loss", 2), "xor", tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_mp4_loads_back_with_the_asked_frames_and_size(qtbot, tmp_path):
    if not animate.video_available():
        pytest.skip("MP4 needs imageio and imageio-ffmpeg (pip install 'bpviz[video]')")
    import imageio.v3 as iio

    out = tmp_path / "m.mp4"
    r = animate.animate_preset(AnimationRequest("matrices", 8, 2, (320, 240), 10), "xor", out)
    assert r.frames == 4
    video = iio.imread(out)
    assert video.shape == (4, 240, 320, 3)
    assert np.abs(video[0].astype(int) - video[-1].astype(int)).max() > 50
    with pytest.raises(BpvizError, match="even"):
        animate.check_target(out, (321, 240))


def test_the_whole_window_as_a_gif(qtbot, tmp_path):
    out = tmp_path / "w.gif"
    r = animate.animate_preset(AnimationRequest("window", 4, 2, (640, 400)), "xor", out)
    frames = gif_frames(out)
    assert r.frames == len(frames) == 2 and frames[0].shape == (400, 640, 3)
    assert np.abs(frames[0] - frames[1]).max() > 50


def test_cli_writes_the_gif(tmp_path):
    out = tmp_path / "cli.gif"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=REPO)
    run = subprocess.run([sys.executable, "-m", "bpviz", "animate", "--preset", "xor",
                          "--view", "loss", "--steps", "6", "--every", "3", "--size", "240x160",
                          "--fps", "4", "--out", str(out)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "2 frames, 240x160" in run.stdout
    assert "frame" in run.stderr   # the tqdm progress bar
    frames = gif_frames(out)
    assert len(frames) == 2 and frames[0].shape == (160, 240, 3)
    assert np.abs(frames[0] - frames[1]).max() > 50   # the throttled curve drew each step
    bad = subprocess.run([sys.executable, "-m", "bpviz", "animate", "--preset", "xor",
                          "--view", "nope", "--out", str(tmp_path / "n.gif")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 2 and "unknown view 'nope'" in bad.stderr


# ---------------------------------------------------------------- the window
@pytest.fixture
def window(qtbot, tmp_path):
    from bpviz.gui.controller import Controller
    from bpviz.gui.main_window import MainWindow

    ctx = Controller("xor")
    win = MainWindow(ctx, settings=QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat),
                     restore_layout=False, save_layout=False)
    win.errors = []
    win.error_dialog = lambda title, text: win.errors.append(text)
    qtbot.addWidget(win)
    win.show()
    yield ctx, win
    win.close()
    ctx.shutdown()


def test_export_animation_from_the_window_with_cancel(window, tmp_path, monkeypatch):
    ctx, win = window
    assert win.actions_.export_animation in win.menuBar().actions()[0].menu().actions()
    ctx.call_on_trainer(lambda tr: [tr.train_step() for _ in range(5)])
    step = ctx.call_on_trainer(lambda tr: tr.step)
    out = tmp_path / "win.gif"
    assert win.export_animation(AnimationRequest("matrices", 4, 2, (300, 200)), str(out))
    assert len(gif_frames(out)) == 2 and not win.errors
    assert ctx.call_on_trainer(lambda tr: tr.step) == step   # a copy trained, not the run

    from PySide6.QtWidgets import QProgressDialog

    import bpviz.gui.document as document

    seen = []
    monkeypatch.setattr(QProgressDialog, "wasCanceled", lambda self: bool(seen.append(1))
                        or len(seen) > 1)
    out2 = tmp_path / "cancelled.gif"
    assert not win.export_animation(AnimationRequest("matrices", 10, 1, (300, 200)), str(out2))
    assert not out2.exists() and len(seen) == 2 and not win.errors
    assert document.ANIMATION_FILTER.startswith("Animated GIF")
    win.ask_animation = lambda: None   # Cancel in the dialog
    assert not win.export_animation()


def _losses(ctx, n: int = 100) -> list[float]:
    return ctx.call_on_trainer(lambda tr: [float(tr.train_step().loss) for _ in range(n)],
                               timeout=120)


def test_reset_same_start_repeats_the_first_100_losses(window):
    ctx, win = window
    first = _losses(ctx)
    _losses(ctx, 37)
    ctx.reset_same_start()
    assert _losses(ctx) == first                       # exactly, weights and batch order
    seed = ctx.config.seed
    win.actions_.reset.trigger()                       # R is Reset (same start)
    assert _losses(ctx) == first and ctx.config.seed == seed
    win.actions_.reset_new.trigger()                   # new weights and batch order
    assert ctx.config.seed == seed + 1
    other = _losses(ctx)
    assert other != first
    ctx.reset_same_start()                             # the new run's own start
    assert _losses(ctx) == other
    ctx.undo_stack.undo()
    ctx.undo_stack.undo()                              # back before Reset (new start)
    assert ctx.config.seed == seed
    assert win.actions_.reset.text() == "Reset (&same start)"
    assert win.actions_.reset.iconText() == "Reset"
