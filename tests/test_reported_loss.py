"""The reported loss and the L1/L2 penalty: the data loss is what the curves show; with
regularisation on, the total that the optimizer minimises is reported beside it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from bpviz.engine import Network
from bpviz.engine.datasets import make_dataset
from bpviz.engine.fitting import default_spec
from bpviz.engine.trainer import TrainConfig, Trainer


def _train(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bpviz", "train", "--preset", "circle",
                          "--steps", "30", "--json", *args], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def test_cli_json_reports_penalty_and_objective():
    plain = _train()
    assert plain["penalty"] == 0.0 and plain["objective"] == plain["loss"]
    reg = _train("--l1", "0.001", "--l2", "0.01")
    assert reg["penalty"] > 0
    assert reg["objective"] == pytest.approx(reg["loss"] + reg["penalty"], rel=1e-5)


def test_trainer_penalty_is_the_term_whose_gradient_the_optimizer_adds():
    ds = make_dataset("circle", seed=0)
    tr = Trainer(Network(default_spec(ds), seed=0, dtype="float64"), ds,
                 TrainConfig(l1=0.01, l2=0.1))
    W = {k: v for k, v in tr.net.get_weights().items() if k[0] == "W"}
    expect = sum(0.05 * (w * w).sum() + 0.01 * np.abs(w).sum() for w in W.values())
    assert tr.penalty() == pytest.approx(expect, rel=1e-12)
    rec = tr.current_record()
    assert rec.penalty == tr.penalty() and rec.objective == rec.loss + rec.penalty


def test_window_status_shows_the_total_with_regularisation(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from bpviz.gui.controller import Controller
    from bpviz.gui.main_window import MainWindow

    ctx = Controller("circle")
    win = MainWindow(ctx, settings=QSettings(str(tmp_path / "b.ini"), QSettings.Format.IniFormat),
                     restore_layout=False, save_layout=False)
    qtbot.addWidget(win)
    try:
        win.show()
        field = win.status_labels["loss"]
        ctx.step()
        qtbot.waitUntil(lambda: ctx.latest_snapshot().step.step == 1, timeout=20_000)
        qtbot.waitUntil(lambda: field.text().startswith("loss "), timeout=20_000)
        assert "L1/L2" not in field.text()
        assert ctx.update_config(l2=0.05)
        ctx.step()
        qtbot.waitUntil(lambda: ctx.latest_snapshot().step.step == 2, timeout=20_000)
        rec = ctx.latest_snapshot().step
        assert rec.penalty > 0
        qtbot.waitUntil(lambda: field.text() == f"loss {rec.loss:.4g}, with L1/L2 "
                        f"{rec.objective:.4g}", timeout=20_000)
    finally:
        win.close()
        ctx.shutdown()
