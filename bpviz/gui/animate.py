"""Animations for slides: a panel, the whole window, or the outer-product stepping
k = 1…K, rendered offscreen and written as an animated GIF or an MP4.

A renderer owns its own trainer, stepped synchronously on the calling (GUI)
thread, so the frames are the same on every run: a panel is built as the main
window builds it (``factory(ctx)`` of :mod:`bpviz.gui.panels`) over a
:class:`~bpviz.gui.views.demo.DemoContext` and is shown each snapshot the way
the worker builds it (:func:`~bpviz.gui.snapshot_build.build_snapshot`, with the
records of the steps trained between frames for the curves); the whole window
is the real :class:`~bpviz.gui.main_window.MainWindow` over a real
:class:`~bpviz.gui.controller.Controller` whose training thread is never
started (its trainer is driven here and published with
``TrainingWorker.publish_record``). Each frame is ``QWidget.grab()`` at the
chosen size, as 8-bit RGB.

GIF is written with Pillow; MP4 with imageio and imageio-ffmpeg, the optional
extra ``bpviz[video]`` (without it MP4 is refused, saying how to install it).
The command line is ``bpviz animate`` (:mod:`bpviz.cli.animate`); the window's
File ▸ Export animation… renders from the state on screen
(:meth:`~bpviz.gui.document.DocumentMixin.export_animation`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget

from ..engine import Network
from ..engine.errors import BpvizError
from ..engine.fitting import fit_to_data
from ..engine.presets import Preset, load_preset
from ..engine.records import StepRecord
from ..engine.trainer import Trainer
from .panels import panel, panel_names
from .snapshot_build import build_snapshot

#: ``--view`` name of the whole window.
WINDOW = "window"
#: The outer-product panel, whose k = 1…K stepping can be animated.
OUTER = "outer-product"
#: How to get MP4 support.
VIDEO_HINT = "pip install 'bpviz[video]'"
FORMATS = (".gif", ".mp4")
DEFAULT_SIZE = (960, 600)
MIN_SIDE, MAX_SIDE = 64, 4096
MAX_FRAMES = 2000
MAX_STEPS = 10_000_000


def view_names() -> list[str]:
    """What ``--view`` accepts: every panel name and ``window``."""
    return [*panel_names(), WINDOW]


@dataclass(frozen=True)
class AnimationRequest:
    """What to render.

    Attributes
    ----------
    view : a panel name (:func:`bpviz.gui.panels.panel_names`) or ``"window"``.
    steps : mini-batches trained in all.
    every : mini-batches trained between two frames: ``steps // every`` frames.
    size : (width, height) of every frame, in pixels.
    fps : frames per second of the file.
    stepping : the outer-product panel only: train ``steps`` mini-batches, then one
        frame per sample k = 1…K of the last mini-batch (the running sum of the
        outer products filling up), K frames.
    """

    view: str
    steps: int
    every: int = 1
    size: tuple[int, int] = DEFAULT_SIZE
    fps: float = 10.0
    stepping: bool = False

    def validate(self) -> AnimationRequest:
        """Checked copy; raises :class:`BpvizError` saying what is wrong."""
        if self.view not in view_names():
            raise BpvizError(f"unknown view '{self.view}': choose one of "
                             + ", ".join(view_names()))
        if self.stepping and self.view != OUTER:
            raise BpvizError(f"the k = 1…K stepping is the {OUTER} view's")
        if not 1 <= self.steps <= MAX_STEPS:
            raise BpvizError(f"steps must be from 1 to {MAX_STEPS:,}, got {self.steps}")
        if not 1 <= self.every <= self.steps:
            raise BpvizError(f"every must be from 1 to steps ({self.steps}), got {self.every}")
        if not self.stepping and self.steps // self.every > MAX_FRAMES:
            raise BpvizError(f"{self.steps // self.every:,} frames: at most {MAX_FRAMES:,} "
                             "(train more steps between frames)")
        w, h = self.size
        if not (MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE):
            raise BpvizError(f"size must be from {MIN_SIDE} to {MAX_SIDE} pixels a side, "
                             f"got {w}x{h}")
        if not (np.isfinite(self.fps) and 0.1 <= self.fps <= 60):
            raise BpvizError(f"fps must be from 0.1 to 60, got {self.fps}")
        return replace(self, size=(int(w), int(h)), fps=float(self.fps))

    def training_frames(self) -> int:
        """Frames of a training animation: one after every ``every`` mini-batches."""
        return self.steps // self.every


def parse_size(text: str) -> tuple[int, int]:
    """``"640x400"`` → (640, 400); raises :class:`BpvizError`."""
    try:
        w, h = (int(p) for p in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise BpvizError(f"size must be WIDTHxHEIGHT in pixels, e.g. 960x600, got "
                         f"'{text}'") from None
    return w, h


# ---------------------------------------------------------------- writers
class GifWriter:
    """Frames to an animated GIF (Pillow), looping; each frame gets its own
    256-colour palette. Frames are kept in memory (one byte a pixel) until
    :meth:`close`."""

    def __init__(self, path: str | os.PathLike[str], fps: float) -> None:
        from PIL import Image

        self._image = Image
        self.path = Path(path)
        self.duration_ms = max(20, round(1000.0 / fps))   # GIF counts in 1/100 s
        self.frames: list[Any] = []
        self._last: np.ndarray | None = None

    def append(self, rgb: np.ndarray) -> None:
        """Add one frame, (H, W, 3) uint8."""
        rgb = np.ascontiguousarray(rgb)
        if self._last is not None and np.array_equal(rgb, self._last):
            # Pillow merges a frame equal to the one before into it; a one-level change
            # of one palette colour (invisible) keeps the asked number of frames
            frame = self.frames[-1].copy()
            pal = frame.getpalette() or []
            i = int(frame.getpixel((0, 0)))  # type: ignore[arg-type]
            pal[3 * i + 2] ^= 1
            frame.putpalette(pal)
        else:
            img = self._image.fromarray(rgb, "RGB")
            frame = img.quantize(colors=256, method=self._image.Quantize.MEDIANCUT,
                                 dither=self._image.Dither.NONE)
        self._last = rgb
        self.frames.append(frame)

    def close(self) -> None:
        if not self.frames:
            raise BpvizError("no frame to write")
        first, *rest = self.frames
        # disposal 1 and no optimisation: every frame is whole, also the repeated ones
        first.save(self.path, save_all=True, append_images=rest, duration=self.duration_ms,
                   loop=0, optimize=False, disposal=1)

    def abort(self) -> None:
        self.frames.clear()


class Mp4Writer:
    """Frames to an H.264 MP4 (imageio with imageio-ffmpeg), written as they come."""

    def __init__(self, path: str | os.PathLike[str], fps: float, size: tuple[int, int]) -> None:
        check_target(path, size)
        import imageio.v2 as imageio

        self.path = Path(path)
        self._w = imageio.get_writer(str(self.path), format="FFMPEG", mode="I", fps=fps,
                                     codec="libx264", pixelformat="yuv420p",
                                     macro_block_size=1, quality=8)

    def append(self, rgb: np.ndarray) -> None:
        self._w.append_data(np.ascontiguousarray(rgb))

    def close(self) -> None:
        self._w.close()

    def abort(self) -> None:
        self._w.close()
        self.path.unlink(missing_ok=True)


def video_available() -> bool:
    """Whether MP4 can be written here (imageio and imageio-ffmpeg, ``bpviz[video]``)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("imageio", "imageio_ffmpeg"))


def check_target(path: str | os.PathLike[str], size: tuple[int, int]) -> str:
    """The format of ``path`` (``".gif"`` or ``".mp4"``), checked before any training:
    raises :class:`BpvizError` for another extension, a missing folder, a path that is
    not a regular file, an odd MP4 size, or MP4 without ``bpviz[video]``."""
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in FORMATS:
        raise BpvizError(f"the animation must be a .gif or .mp4 file, got '{p.name}'")
    if not p.parent.is_dir():
        raise BpvizError(f"no folder {p.parent}")
    if p.exists() and not p.is_file():
        raise BpvizError(f"{p} exists and is not a regular file")
    if ext == ".mp4":
        if not video_available():
            raise BpvizError("MP4 export needs imageio and imageio-ffmpeg: "
                             f"{VIDEO_HINT} (or export a .gif)")
        if size[0] % 2 or size[1] % 2:
            raise BpvizError(f"an MP4 needs an even width and height, got {size[0]}x{size[1]}")
    return ext


def open_writer(path: str | os.PathLike[str], fps: float,
                size: tuple[int, int]) -> GifWriter | Mp4Writer:
    """The writer for ``path`` by its extension (checked by :func:`check_target`)."""
    if check_target(path, size) == ".gif":
        return GifWriter(path, fps)
    return Mp4Writer(path, fps, size)


# ---------------------------------------------------------------- frames
def grab_rgb(widget: QWidget, size: tuple[int, int]) -> np.ndarray:
    """``widget`` with every view up to date, (H, W, 3) uint8 RGB at ``size`` = (W, H).

    The history plots redraw at most a few times a second (their
    :class:`~bpviz.gui.views.throttle.Throttle`): a redraw still pending is made now,
    so that each frame shows its own step."""
    from .views.throttle import Throttle

    for throttle in widget.findChildren(Throttle):
        if throttle.pending():
            throttle.flush()
    _settle()
    w, h = size
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    if (img.width(), img.height()) != (w, h):   # a high-DPI screen grabs more pixels
        img = img.scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio,
                         Qt.TransformationMode.SmoothTransformation)
    rows = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes())
    return rows.reshape(h, img.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()


def _settle() -> None:
    """Let Qt run the layouts, signals and repaints queued so far."""
    app = QApplication.instance()
    for _ in range(3):
        app.processEvents()


def preset_trainer(name: str | Preset) -> tuple[Preset, Trainer]:
    """The preset's network fitted to its data, with its settings, freshly seeded:
    the same start as the window's when it opens the preset."""
    preset = name if isinstance(name, Preset) else load_preset(name)
    ds = preset.data.load()
    spec = fit_to_data(preset.spec, ds).spec
    return preset, Trainer(Network(spec, seed=preset.train.seed), ds, preset.train)


def _train(trainer: Trainer, n: int) -> tuple[StepRecord, ...]:
    """``n`` mini-batches, the last with its matrices; raises if the loss diverged."""
    records = []
    for i in range(n):
        if i == n - 1:
            trainer.request_matrices()
        rec = trainer.train_step()
        records.append(rec)
        if rec.diverged:
            raise BpvizError(f"the loss diverged at step {rec.step}: lower the learning rate")
    return tuple(records)


class PanelRenderer:
    """One registered panel, offscreen at ``size``, over its own trainer."""

    def __init__(self, view: str, trainer: Trainer, size: tuple[int, int],
                 preset: Preset | None = None) -> None:
        from .views.demo import DemoContext

        info = panel(view)
        if info is None:
            raise BpvizError(f"unknown panel '{view}'")
        self.trainer = trainer
        self.size = size
        self.ctx = DemoContext(trainer=trainer, preset=preset)
        self.widget: Any = info.factory(self.ctx)
        self.widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        self.widget.resize(QSize(*size))
        self.widget.show()
        self.widget.resize(QSize(*size))
        self.show(self.trainer.current_record(), ())

    def show(self, rec: StepRecord, history: tuple[StepRecord, ...]) -> None:
        snap = build_snapshot(self.trainer, rec, history, None, {})
        self.ctx.publish(snap)
        self.widget.show_snapshot(snap)
        _settle()

    def advance(self, n: int) -> None:
        """Train ``n`` mini-batches and show the last."""
        history = _train(self.trainer, n)
        self.show(history[-1], history)

    def frame(self) -> np.ndarray:
        return grab_rgb(self.widget, self.size)

    def close(self) -> None:
        self.widget.close()
        self.widget.deleteLater()
        _settle()


class WindowRenderer:
    """The whole main window, offscreen at ``size``, over a controller whose training
    thread never starts; ``trainer`` (if given) replaces the preset's."""

    def __init__(self, preset: Preset | str, size: tuple[int, int],
                 trainer: Trainer | None = None, spec: Any = None, data_choice: Any = None) -> None:
        from .controller import Controller
        from .main_window import MainWindow

        self.size = size
        self._dir = tempfile.TemporaryDirectory(prefix="bpviz-animate-")
        settings = QSettings(os.path.join(self._dir.name, "bpviz.ini"),
                             QSettings.Format.IniFormat)
        self.ctx = Controller(preset, start=False)
        if trainer is not None:   # the state on screen, not the preset's start
            c = self.ctx
            c.spec, c.config, c.dataset = trainer.net.spec, trainer.config, trainer.data
            if data_choice is not None:
                c.data_choice = data_choice
            c.worker.replace_trainer(trainer)
        self.window = MainWindow(self.ctx, settings=settings, restore_layout=False,
                                 save_layout=False)
        self.window.confirm_losing_work = False
        self.window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        self.window.resize(QSize(*size))
        self.window.show()
        self.window.resize(QSize(*size))
        if trainer is not None:
            self.ctx.specChanged.emit(self.ctx.spec)
            self.ctx.datasetChanged.emit(self.ctx.dataset)
            self.ctx.configChanged.emit(self.ctx.config)
        _settle()

    @property
    def trainer(self) -> Trainer:
        return self.ctx.worker.trainer   # the thread is not running: ours to drive

    def advance(self, n: int) -> None:
        for rec in _train(self.trainer, n):
            self.ctx.worker.publish_record(rec)   # the curves get every step
        _settle()
        self.window._on_snapshot()   # draw now, not at the next event-loop turn
        _settle()

    def frame(self) -> np.ndarray:
        return grab_rgb(self.window, self.size)

    def close(self) -> None:
        self.window.close()
        self.ctx.shutdown()
        self.window.deleteLater()
        _settle()
        self._dir.cleanup()


def make_renderer(request: AnimationRequest, preset: Preset | str,
                  trainer: Trainer | None = None,
                  data_choice: Any = None) -> PanelRenderer | WindowRenderer:
    """The renderer of ``request.view``: the preset's start, or ``trainer`` (a copy of
    the state on screen, which it then owns)."""
    if request.view == WINDOW:
        return WindowRenderer(preset, request.size, trainer, data_choice=data_choice)
    if trainer is None:
        preset, trainer = preset_trainer(preset)
    elif not isinstance(preset, Preset):
        preset = load_preset(preset)
    return PanelRenderer(request.view, trainer, request.size, preset)


@dataclass(frozen=True)
class AnimationResult:
    """What :func:`render` did: ``frames`` written to ``path``, or ``cancelled``
    (nothing written)."""

    path: Path
    frames: int
    cancelled: bool = False


def frames_to_render(request: AnimationRequest, renderer: Any) -> int:
    """How many frames ``request`` makes (K of the outer-product's batch when stepping)."""
    if request.stepping:
        return max(1, renderer.widget.K())
    return request.training_frames()


def render(request: AnimationRequest, renderer: PanelRenderer | WindowRenderer,
           out: str | os.PathLike[str],
           progress: Callable[[int, int], bool] | None = None) -> AnimationResult:
    """Render ``request`` with ``renderer`` into ``out`` (``.gif`` or ``.mp4``).

    ``progress(done, total)`` is called before each frame and after the last; it
    returns False to cancel: the file is then not written (an MP4 begun is deleted).
    A training animation trains ``every`` mini-batches, then grabs a frame,
    ``steps // every`` times; a stepping one trains ``steps`` mini-batches, then
    grabs k = 1…K of the outer-product panel.
    """
    request = request.validate()
    writer = open_writer(out, request.fps, request.size)
    ok = progress or (lambda _d, _t: True)
    done = 0
    try:
        if request.stepping:
            renderer.advance(request.steps)
            view = renderer.widget
            view.freeze_box.setChecked(True)
            total = frames_to_render(request, renderer)
            for k in range(1, total + 1):
                if not ok(done, total):
                    writer.abort()
                    return AnimationResult(Path(out), done, True)
                view.set_k(k)
                _settle()
                writer.append(renderer.frame())
                done += 1
        else:
            total = request.training_frames()
            for _ in range(total):
                if not ok(done, total):
                    writer.abort()
                    return AnimationResult(Path(out), done, True)
                renderer.advance(request.every)
                writer.append(renderer.frame())
                done += 1
        ok(done, total)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return AnimationResult(Path(out), done)


def animate_preset(request: AnimationRequest, preset: str | Preset,
                   out: str | os.PathLike[str],
                   progress: Callable[[int, int], bool] | None = None) -> AnimationResult:
    """:func:`render` from the preset's start (what ``bpviz animate`` does)."""
    request = request.validate()
    check_target(out, request.size)   # refuse a bad file before training
    renderer = make_renderer(request, preset)
    try:
        return render(request, renderer, out, progress)
    finally:
        renderer.close()


def run_offscreen(request: AnimationRequest, preset: str, out: str | os.PathLike[str],
                  progress: Callable[[int, int], bool] | None = None) -> AnimationResult:
    """:func:`animate_preset` in a process with no window of its own (``bpviz animate``):
    Qt draws offscreen unless ``QT_QPA_PLATFORM`` says otherwise."""
    if QApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from .app import make_app

    make_app()
    return animate_preset(request, preset, out, progress)
