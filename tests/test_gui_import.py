"""Importing a data file in the window: on its own thread, with progress and Cancel."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QProgressDialog, QPushButton

from bpviz.engine import csvdata
from bpviz.gui.controller import Controller
from bpviz.gui.main_window import MainWindow


@pytest.fixture
def window(qtbot, tmp_path):
    ctx = Controller("circle")
    win = MainWindow(ctx, settings=QSettings(str(tmp_path / "b.ini"), QSettings.Format.IniFormat),
                     restore_layout=False, save_layout=False)
    win.errors = []
    win.error_dialog = lambda title, text: win.errors.append(text)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield ctx, win
    win.close()
    ctx.shutdown()
    assert not ctx.worker.isRunning() and not ctx.importing


@pytest.fixture
def slow_csv(tmp_path, monkeypatch):
    """A CSV read in many small blocks, each one slowed down: a 'large' import."""
    monkeypatch.setattr(csvdata, "BLOCK_BYTES", 2000)
    real = csvdata._fast

    def slow(*a, **k):
        time.sleep(0.01)
        return real(*a, **k)

    monkeypatch.setattr(csvdata, "_fast", slow)
    rng = np.random.default_rng(0)
    f = tmp_path / "big.csv"
    f.write_text("a,b,c,label\n" + "".join(f"{x:.4f},{y:.4f},{z:.4f},{int(x > 0)}\n"
                                           for x, y, z in rng.normal(size=(4000, 3))))
    return f


def test_event_loop_runs_during_import(window, slow_csv) -> None:
    ctx, win = window
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(5)
    fractions: list[float] = []
    ctx.importProgress.connect(fractions.append)
    t0 = time.perf_counter()
    assert win.import_csv(str(slow_csv))
    took = time.perf_counter() - t0
    timer.stop()
    assert ctx.dataset.n_features == 3 and ctx.spec.inputs == 3
    assert ctx.data_choice.name == "csv" and ctx.dataset.X_train.dtype == np.float32
    assert took > 0.2 and len(ticks) >= 10   # the GUI thread kept turning
    assert fractions and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert not win.errors and not ctx.importing


def test_cancel_keeps_the_previous_data(qtbot, window, slow_csv) -> None:
    ctx, win = window
    before, choice, spec = ctx.dataset, ctx.data_choice, ctx.spec

    def press_cancel() -> None:
        dlg = win.findChild(QProgressDialog)
        if dlg is not None:
            dlg.findChild(QPushButton).click()  # the dialog's Cancel button
        else:
            QTimer.singleShot(20, press_cancel)

    fractions: list[float] = []
    ctx.importProgress.connect(fractions.append)
    QTimer.singleShot(50, press_cancel)
    assert not win.import_csv(str(slow_csv))
    assert fractions and max(fractions) < 1.0   # the read stopped early
    assert ctx.dataset is before and ctx.data_choice == choice and ctx.spec == spec
    assert ctx.import_cancelled and "cancelled" in ctx.last_error
    assert not win.errors   # a cancel is not an error dialog
    assert not ctx.importing


def test_bad_file_and_shutdown_during_import(qtbot, window, slow_csv, tmp_path) -> None:
    ctx, win = window
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\nx,1\n")
    assert not win.import_csv(str(bad))
    assert win.errors and "not a number" in win.errors[-1]
    th = ctx.start_import(ctx.data_choice.__class__("csv", csv_path=str(slow_csv)))
    assert th is not None and ctx.importing
    ctx.shutdown()            # cancels and waits for the load thread
    assert th.isFinished()
