"""The Timing Lab panel: a tiny sweep on its own thread, cancel, export, clean close."""

from __future__ import annotations

import csv
import os
import threading
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer  # noqa: E402

from bpviz.engine import LayerSpec, Network, NetworkSpec  # noqa: E402
from bpviz.engine import backend as backend_mod  # noqa: E402
from bpviz.engine.datasets import make_dataset  # noqa: E402
from bpviz.gui.timing_lab import TimingLab  # noqa: E402
from bpviz.gui.timing_plots import COLUMNS  # noqa: E402
from bpviz.gui.views.demo import DemoContext  # noqa: E402


class FakeTrainer:
    def __init__(self) -> None:
        self.data = make_dataset("circle", n_samples=80, seed=0)
        spec = NetworkSpec(2, (LayerSpec(5, "tanh"), LayerSpec(1, "sigmoid")),
                           loss="binary_cross_entropy")
        self.net = Network(spec, seed=0)


class FakeCtx(DemoContext):
    """The stand-in controller, with jobs answered later (as the worker does)."""

    def __init__(self, fail: str | None = None) -> None:
        trainer = FakeTrainer()
        super().__init__(trainer.net.spec, trainer.data)
        self.trainer = trainer
        self.fail = fail
        self.jobs_from: list[threading.Thread] = []

    def run_on_trainer(self, job, done, error=None) -> None:  # type: ignore[no-untyped-def]
        def later() -> None:
            if self.fail is not None:
                (error or self.message.emit)(self.fail)
            else:
                done(job(self.trainer))
        QTimer.singleShot(0, later)


@pytest.fixture
def lab(qtbot):  # type: ignore[no-untyped-def]
    w = TimingLab(FakeCtx())
    qtbot.addWidget(w)
    w.repeats.setValue(1)
    yield w
    w.shutdown()


def run_and_wait(qtbot, lab: TimingLab, timeout: int = 20_000) -> Any:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(lab.sweepFinished, timeout=timeout) as blocker:
        lab.run_btn.click()
    return blocker.args[0]


def test_tiny_sweep_fills_table_and_plots(qtbot, lab: TimingLab) -> None:  # type: ignore[no-untyped-def]
    lab.max_k.setValue(16)
    lab.use_cupy.setChecked(False)
    res = run_and_wait(qtbot, lab)
    assert not res.cancelled
    assert [r.batch for r in res.rows] == [1, 2, 4, 8, 16]
    assert lab.table.rowCount() == len(res.rows) == 5
    assert lab.table.columnCount() == len(COLUMNS)
    assert lab.table.item(4, 1).text() == "16"
    curves = lab.time_plot.listDataItems()
    assert len(curves) == 2  # loop and vectorized on NumPy
    xs, _ = curves[0].getOriginalDataset()
    assert list(xs) == [1, 2, 4, 8, 16]
    assert len(lab.speed_plot.listDataItems()) == 1
    assert "faster" in lab.caption.text() and "K=16" in lab.caption.text()
    assert lab.progress.value() == lab.progress.maximum() == 5
    assert lab.run_btn.isEnabled() and not lab.cancel_btn.isEnabled()
    assert lab._thread is None


@pytest.fixture
def hold_after_first_point(monkeypatch):  # type: ignore[no-untyped-def]
    """Make the panel's sweep wait after its first point until it is cancelled (max 10 s)."""
    import bpviz.gui.timing_thread as tt

    real = tt.sweep

    def held(**kw: Any) -> Any:
        report, cancel = kw.pop("progress"), kw["cancel"]

        def progress(done: int, total: int) -> None:
            report(done, total)
            if done >= 1:
                cancel.wait(10)
        return real(progress=progress, **kw)

    monkeypatch.setattr(tt, "sweep", held)
    monkeypatch.setattr(TimingLab, "isolate", False)  # the held sweep runs on the thread


def test_cancel_stops_the_sweep(qtbot, lab: TimingLab, hold_after_first_point) -> None:  # type: ignore[no-untyped-def]
    lab.max_k.setValue(64)
    lab.use_cupy.setChecked(False)
    lab.run_btn.click()
    qtbot.waitUntil(lambda: lab.table.rowCount() == 1, timeout=10_000)
    assert lab.running and lab.cancel_btn.isEnabled() and not lab.run_btn.isEnabled()
    with qtbot.waitSignal(lab.sweepFinished, timeout=10_000) as blocker:
        lab.cancel_btn.click()
    res = blocker.args[0]
    assert res.cancelled and len(res.rows) == 1
    assert "Cancelled after 1 point." in lab.status.text()
    assert lab.table.rowCount() == 1 and lab._thread is None


def test_close_during_a_sweep_stops_the_thread(qtbot, hold_after_first_point) -> None:  # type: ignore[no-untyped-def]
    lab = TimingLab(FakeCtx())
    qtbot.addWidget(lab)
    lab.max_k.setValue(64)
    lab.use_cupy.setChecked(False)
    lab.run_btn.click()
    qtbot.waitUntil(lambda: lab._thread is not None and lab._thread.isRunning(), timeout=5000)
    t = lab._thread
    lab.close()
    assert t.isFinished() and not t.isRunning()
    assert lab._thread is None and lab.run_btn.isEnabled()
    assert lab.result is not None and lab.result.cancelled


def test_cancel_reaches_the_child_process(qtbot, lab: TimingLab) -> None:  # type: ignore[no-untyped-def]
    assert lab.isolate
    lab.max_k.setValue(64)
    lab.repeats.setValue(50)
    lab.use_cupy.setChecked(False)
    lab.run_btn.click()
    qtbot.waitUntil(lambda: lab.table.rowCount() >= 1, timeout=20_000)
    with qtbot.waitSignal(lab.sweepFinished, timeout=20_000) as blocker:
        lab.cancel_btn.click()
    res = blocker.args[0]
    assert res.cancelled and 1 <= len(res.rows) < 7
    assert lab._thread is None


def test_in_thread_mode_gives_the_same_rows(qtbot, lab: TimingLab) -> None:  # type: ignore[no-untyped-def]
    lab.isolate = False
    lab.max_k.setValue(8)
    lab.use_cupy.setChecked(False)
    res = run_and_wait(qtbot, lab)
    assert [r.batch for r in res.rows] == [1, 2, 4, 8]
    assert all(r.max_abs_diff <= 1e-5 for r in res.rows)


def test_stop_all_sweeps_on_quit(qtbot, hold_after_first_point) -> None:  # type: ignore[no-untyped-def]
    from bpviz.gui.timing_thread import _RUNNING, stop_all_sweeps

    lab = TimingLab(FakeCtx())
    qtbot.addWidget(lab)
    lab.use_cupy.setChecked(False)
    lab.run_btn.click()
    qtbot.waitUntil(lambda: lab._thread is not None and lab._thread.isRunning(), timeout=5000)
    t = lab._thread
    assert t in _RUNNING
    stop_all_sweeps()
    assert t.isFinished() and not _RUNNING


def test_width_mode(qtbot, lab: TimingLab) -> None:  # type: ignore[no-untyped-def]
    lab.mode_box.setCurrentIndex(1)
    lab.max_width.setValue(32)
    lab.fixed_k.setValue(8)
    lab.use_cupy.setChecked(False)
    res = run_and_wait(qtbot, lab)
    assert [(r.width, r.batch) for r in res.rows] == [(8, 8), (16, 8), (32, 8)]
    assert not lab.table.isColumnHidden(2)
    assert "width" in lab.time_plot.getAxis("bottom").labelText


def test_no_gpu_disables_cupy_with_the_reason(qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import bpviz.gui.timing_lab as tl

    monkeypatch.setattr(tl, "cupy_status", lambda: (None, "CuPy found no CUDA device"))
    lab = TimingLab(FakeCtx())
    qtbot.addWidget(lab)
    assert not lab.use_cupy.isEnabled() and not lab.use_cupy.isChecked()
    assert lab.use_cupy.toolTip() == "CuPy found no CUDA device"


def test_cupy_failure_is_a_status_line(qtbot, lab: TimingLab, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(backend_mod, "cupy_status", lambda: (None, "CuPy found no CUDA device"))
    lab.isolate = False  # the monkeypatch lives in this process only
    lab.use_cupy.setEnabled(True)
    lab.use_cupy.setChecked(True)
    lab.max_k.setValue(4)
    res = run_and_wait(qtbot, lab)
    assert res.skipped == {"cupy": "CuPy found no CUDA device"}
    assert {r.backend for r in res.rows} == {"numpy"}
    assert "CuPy skipped: CuPy found no CUDA device" in lab.status.text()


def test_two_backends_draw_four_time_curves(qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from test_timing import FakeCupy

    import bpviz.gui.timing_lab as tl

    status = (FakeCupy(), "CuPy on a fake GPU")
    monkeypatch.setattr(tl, "cupy_status", lambda: status)
    monkeypatch.setattr(backend_mod, "cupy_status", lambda: status)
    lab = TimingLab(FakeCtx())
    qtbot.addWidget(lab)
    lab.isolate = False  # the fake GPU lives in this process only
    assert lab.use_cupy.isEnabled() and lab.use_cupy.isChecked()
    lab.max_k.setValue(4)
    lab.repeats.setValue(1)
    res = run_and_wait(qtbot, lab)
    assert {r.backend for r in res.rows} == {"numpy", "cupy"}
    assert len(lab.time_plot.listDataItems()) == 4 and len(lab.speed_plot.listDataItems()) == 2
    assert lab.table.rowCount() == 6
    assert "CuPy" in lab.caption.text() and "NumPy" in lab.caption.text()


def test_trainer_error_is_shown(qtbot) -> None:  # type: ignore[no-untyped-def]
    lab = TimingLab(FakeCtx(fail="no network yet"))
    qtbot.addWidget(lab)
    lab.run_btn.click()
    qtbot.waitUntil(lambda: "no network yet" in lab.status.text(), timeout=5000)
    assert lab.run_btn.isEnabled() and lab._thread is None


def test_export_csv_and_png(qtbot, lab: TimingLab, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        lab.export_csv(tmp_path / "none.csv")
    lab.max_k.setValue(4)
    lab.use_cupy.setChecked(False)
    run_and_wait(qtbot, lab)
    assert lab.csv_btn.isEnabled() and lab.png_btn.isEnabled()
    rows = list(csv.DictReader(open(lab.export_csv(tmp_path / "t.csv"), encoding="utf-8")))
    assert [int(r["batch"]) for r in rows] == [1, 2, 4]
    png = lab.export_png(tmp_path / "t.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_presentation_mode_makes_fonts_bigger(qtbot, lab: TimingLab) -> None:  # type: ignore[no-untyped-def]
    small = lab.font().pointSize()
    lab.set_presentation(True)
    assert lab.font().pointSize() > small
    lab.set_presentation(False)
    assert lab.font().pointSize() == small


def test_model_change_marks_results_stale(qtbot, lab: TimingLab) -> None:  # type: ignore[no-untyped-def]
    lab.max_k.setValue(2)
    lab.use_cupy.setChecked(False)
    run_and_wait(qtbot, lab)
    lab.ctx.specChanged.emit(None)
    assert "changed" in lab.status.text()


def test_with_the_real_controller(qtbot) -> None:  # type: ignore[no-untyped-def]
    controller = pytest.importorskip("bpviz.gui.controller")
    from bpviz.engine.presets import preset_names

    if not preset_names():
        pytest.skip("no presets shipped yet")
    ctx = controller.Controller()
    try:
        from bpviz.gui.panels import panel

        lab = panel("timing").factory(ctx)
        assert isinstance(lab, TimingLab)
        qtbot.addWidget(lab)
        lab.max_k.setValue(8)
        lab.repeats.setValue(1)
        lab.use_cupy.setChecked(False)
        res = run_and_wait(qtbot, lab)
        assert lab.table.rowCount() == len(res.rows) >= 1
        assert res.meta["network"] == ctx.spec.describe()
        assert all(r.max_abs_diff <= 1e-5 for r in res.rows)
        assert np.isfinite([r.loop_ms for r in res.rows]).all()
        lab.close()
    finally:
        ctx.shutdown()
