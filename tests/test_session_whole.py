"""A session file is the whole session: history, notation, views and the data itself.

Through the engine (``save_session``/``load_session``) and through the real
window: save, close, open in a new Controller and MainWindow from another
folder with the CSV deleted. Also: sessions of the first format still open,
the ``.bpviz`` extension, and file dialogs that start in the folder used last.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json  # noqa: E402
import shutil  # noqa: E402
import zipfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from bpviz.engine import Network  # noqa: E402
from bpviz.engine.errors import DataError, SessionError  # noqa: E402
from bpviz.engine.fitting import default_spec  # noqa: E402
from bpviz.engine.presets import DataChoice  # noqa: E402
from bpviz.engine.records import StepRecord  # noqa: E402
from bpviz.engine.session import MAX_HISTORY_ROWS, load_session, save_session  # noqa: E402
from bpviz.engine.trainer import TrainConfig, Trainer  # noqa: E402
from bpviz.gui.controller import Controller  # noqa: E402
from bpviz.gui.main_window import MainWindow  # noqa: E402

T = 20_000  # ms
OLD = Path(__file__).parent / "data" / "session_v1_xor.bpviz"


def _write_csv(folder: Path, name: str = "grades.csv", n: int = 80) -> Path:
    rng = np.random.default_rng(5)
    lines = ["hours,score,age,passed"]
    for _ in range(n):
        h, s, a = rng.uniform(0, 10), rng.uniform(20, 100), rng.integers(18, 30)
        lines.append(f"{h:.3f},{s:.2f},{a},{'yes' if h * 8 + s > 90 else 'no'}")
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


# ------------------------------------------------------------------ engine


def test_engine_round_trip_of_everything_without_the_csv(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    csv = _write_csv(tmp_path / "a")
    choice = DataChoice("csv", csv_path=str(csv))
    ds = choice.load()
    net = Network(default_spec(ds), seed=2)
    tr = Trainer(net, ds, TrainConfig(batch_size=8, optimizer="adam", lr=0.01))
    records = list(tr.run(steps=40))
    view = {"panels": {"matrices": {"layer": 0}}}
    path = save_session(tmp_path / "s.bpviz", net, tr, choice, preset="circle", history=records,
                        notation="in_out", view=view)
    names = zipfile.ZipFile(path).namelist()
    assert "data/X_train.npy" in names and "history/values.npy" in names
    assert str(csv) not in zipfile.ZipFile(path).read("session.json").decode()  # no path
    shutil.rmtree(csv.parent)
    monkeypatch.chdir(tmp_path)
    s = load_session(path)
    assert s.version == 2 and s.notation == "in_out" and s.view == view
    assert s.preset is None                            # no preset's lesson is about this data
    assert s.data.embedded and s.data.file_name == "grades.csv (embedded)"
    assert s.data.describe() == "csv grades.csv (embedded)"
    assert [r.step for r in s.history] == [r.step for r in records]
    for a, b in zip(s.history, records, strict=True):
        assert (a.loss, a.accuracy, a.epoch, a.lr, a.method) == (b.loss, b.accuracy, b.epoch,
                                                                 b.lr, b.method)
        assert (a.test_loss, a.test_accuracy) == (b.test_loss, b.test_accuracy)
        assert a.grad_norms == b.grad_norms
    e = s.dataset
    assert e is not None and e.feature_names == ds.feature_names
    assert e.class_names == ds.class_names and e.n_classes == ds.n_classes
    for key in ("X_train", "X_test", "y_train", "y_test", "x_mean", "x_std"):
        np.testing.assert_array_equal(getattr(e, key), getattr(ds, key))
    net2, tr2, ds2 = s.build()                         # no file needed
    assert ds2 is e and tr2.step == 40
    np.testing.assert_array_equal(next(tr2.run(steps=1)).loss, next(tr.run(steps=1)).loss)
    with pytest.raises(DataError, match="embedded in the session"):
        s.data.load()                     # asking for the file says why it is not there


def test_history_is_bounded(tmp_path):
    net = Network(default_spec(DataChoice("circle").load()), seed=0)
    n = MAX_HISTORY_ROWS + 7_000
    recs = [StepRecord(i + 1, 0, 1.0 / (i + 1), 0.5, 0.01, "vectorized", 16, 0.1,
                       grad_norms={"dW0": 0.5, "delta0": 0.25}) for i in range(n)]
    path = save_session(tmp_path / "h.bpviz", net, TrainConfig(), DataChoice("circle"),
                        history=recs)
    assert path.stat().st_size < 4 << 20
    h = load_session(path).history
    assert len(h) == MAX_HISTORY_ROWS and h[0].step == 1 and h[-1].step == n
    assert h[-1].loss == recs[-1].loss and h[-1].grad_norms == {"dW0": 0.5, "delta0": 0.25}


def test_a_session_that_names_embedded_data_without_it_is_refused(tmp_path):
    csv = _write_csv(tmp_path)
    choice = DataChoice("csv", csv_path=str(csv))
    net = Network(default_spec(choice.load()), seed=0)
    path = save_session(tmp_path / "e.bpviz", net, TrainConfig(), choice)
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    bad = tmp_path / "bad.bpviz"
    with zipfile.ZipFile(bad, "w") as zf:
        for k, v in members.items():
            if k != "data/X_test.npy":
                zf.writestr(k, v)
    with pytest.raises(SessionError, match="lacks data/X_test.npy"):
        load_session(bad)


def test_an_old_session_still_opens():
    s = load_session(OLD)
    assert s.version == 1 and s.step == 20 and s.preset == "xor"
    assert s.history == () and s.notation == "out_in" and s.view == {} and s.dataset is None
    _net, tr, ds = s.build()
    assert tr.step == 20 and ds.n_features == 2


def test_cli_save_adds_the_extension(tmp_path, capsys):
    from bpviz.cli import main

    assert main(["train", "--preset", "xor", "--steps", "3", "--save",
                 str(tmp_path / "run")]) == 0
    assert load_session(tmp_path / "run.bpviz").step == 3


# ------------------------------------------------------------------ window


@pytest.fixture
def windows(qtbot, tmp_path):
    made = []

    def make(preset: str = "circle"):
        ctx = Controller(preset)
        s = QSettings(str(tmp_path / "bpviz.ini"), QSettings.Format.IniFormat)
        win = MainWindow(ctx, settings=s, restore_layout=False, save_layout=False)
        win.errors = []
        win.error_dialog = lambda title, text: win.errors.append(text)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        made.append((ctx, win))
        return ctx, win

    yield make
    for ctx, win in made:
        win.close()
        ctx.shutdown()


def _train(qtbot, ctx, steps: int) -> None:
    start = ctx.trained_steps()
    for _ in range(steps):
        ctx.step()
    qtbot.waitUntil(lambda: ctx.trained_steps() == start + steps, timeout=T)


def test_window_round_trip_from_another_folder_with_the_csv_deleted(
        qtbot, windows, tmp_path, monkeypatch):
    home, there = tmp_path / "teacher", tmp_path / "student"
    home.mkdir()
    there.mkdir()
    csv = _write_csv(home)
    ctx, win = windows("circle")
    assert win.import_csv(str(csv))
    _train(qtbot, ctx, 30)
    ctx.set_notation("in_out")
    mat, eq = win.panels["matrices"], win.panels["equations"]
    mat.set_layer(0)
    mat.set_kinds(["a", "delta", "dW"])
    win.docks["equations"].show()
    win.docks["equations"].raise_()
    eq.set_phase_mode(True)
    win.docks["data"].hide()
    qtbot.waitUntil(lambda: win.panels["loss"].series().total >= 30, timeout=T)
    win.panels["loss"].flush()
    xs, ys = win.panels["loss"].curve_data()
    saved = {"dataset": ctx.dataset, "weights": ctx.call_on_trainer(lambda t: t.net.get_weights()),
             "last_loss": ctx.latest_snapshot().step.loss}
    path = home / "lesson"                    # no extension typed: .bpviz is added
    assert win.save_session_as(str(path)), win.errors
    path = home / "lesson.bpviz"
    assert path.is_file()
    win.close()
    ctx.shutdown()

    dest = there / "lesson.bpviz"             # handed to a student; the CSV stays behind
    shutil.copy(path, dest)
    shutil.rmtree(home)
    monkeypatch.chdir(there)
    ctx2, win2 = windows("circle")
    assert win2.open_session(str(dest)), win2.errors
    qtbot.waitUntil(lambda: ctx2.trained_steps() == 30, timeout=T)
    # the data, from the file itself
    assert ctx2.data_choice.embedded
    for key in ("X_train", "y_train", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(ctx2.dataset, key), getattr(saved["dataset"], key))
    assert ctx2.dataset.feature_names == ("hours", "score", "age")
    box = win2.panels["settings"].dataset
    assert box.currentText() == "CSV: grades.csv (embedded)"
    # no preset and no lesson it never had
    assert win2.actions_.preset_combo.currentIndex() == -1
    lesson = win2.panels["lesson"].text()
    assert "lesson.bpviz" in lesson and "circle" not in lesson.lower()
    weights = ctx2.call_on_trainer(lambda t: t.net.get_weights())
    for k, v in saved["weights"].items():
        np.testing.assert_array_equal(weights[k], v)
    # the history: the loss curve is back, to its last value
    loss = win2.panels["loss"]
    qtbot.waitUntil(lambda: loss.series().total >= 30, timeout=T)
    loss.flush()
    xs2, ys2 = loss.curve_data()
    np.testing.assert_array_equal(xs2, np.arange(1, 31))     # every trained step
    drawn = dict(zip(xs2.tolist(), ys2.tolist(), strict=True))
    assert all(drawn[x] == y for x, y in zip(xs.tolist(), ys.tolist(), strict=True) if x > 0)
    assert ys2[-1] == saved["last_loss"]
    # the notation, phase-step mode, the matrix panel's choices and the docks
    assert ctx2.notation == "in_out" and win2.panels["equations"].notation == "in_out"
    assert win2.panels["equations"].phase_box.isChecked()
    assert win2.panels["matrices"].layer() == 0
    assert win2.panels["matrices"].kinds() == ["a", "delta", "dW"]
    assert win2.docks["data"].isHidden() and not win2.docks["equations"].isHidden()
    # saving again keeps it self-contained
    again = there / "again.bpviz"
    assert win2.save_session(str(again))
    assert load_session(again).dataset is not None


def test_an_old_session_opens_in_the_window(qtbot, windows):
    ctx, win = windows("circle")
    assert win.open_session(str(OLD)), win.errors
    qtbot.waitUntil(lambda: ctx.trained_steps() == 20, timeout=T)
    assert ctx.preset.name == "xor"                      # its preset, whose data it is
    assert win.actions_.preset_combo.currentData() == "xor"


def test_an_old_session_with_a_preset_it_left_names_none(qtbot, windows, tmp_path):
    """The first format saved the preset's name even after a CSV import; that preset's
    lesson is not about the CSV."""
    csv = _write_csv(tmp_path)
    choice = DataChoice("csv", csv_path=str(csv))
    net = Network(default_spec(choice.load()), seed=0)
    path = save_session(tmp_path / "o.bpviz", net, TrainConfig(), DataChoice("circle"),
                        preset="circle")
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    meta = json.loads(members["session.json"])
    meta.update(version=1, data=choice.to_dict(), preset="circle")
    for key in ("notation", "view"):
        meta.pop(key)
    members["session.json"] = json.dumps(meta).encode()
    old = tmp_path / "old.bpviz"
    with zipfile.ZipFile(old, "w") as zf:
        for k, v in members.items():
            zf.writestr(k, v)
    ctx, win = windows("spiral")
    assert win.open_session(str(old)), win.errors
    assert ctx.preset.name == "" and win.actions_.preset_combo.currentIndex() == -1
    assert win.panels["settings"].dataset.currentText() == "CSV: grades.csv"


def test_dialogs_start_in_the_folder_used_last(windows, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from bpviz.gui.document import SESSION_FILTER

    ctx, win = windows("circle")
    starts: list[str] = []
    folder = tmp_path / "lectures"
    folder.mkdir()

    def fake_save(parent, title, start, filt):
        starts.append(start)
        return str(folder / "week1.bpviz"), filt

    def fake_open(parent, title, start, filt):
        starts.append(start)
        return "", filt

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_save))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake_open))
    assert win.save_session_as()
    assert starts[0].endswith("circle.bpviz")
    assert SESSION_FILTER.startswith("bpviz session (*.bpviz);;")
    assert not win.open_session()
    assert starts[1] == str(folder.resolve())
    assert win.settings.value("dialogs/folder") == str(folder.resolve())

