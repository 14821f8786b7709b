"""Never lose work: quitting (close, Ctrl+Q), opening a session, switching preset or
data set, New and Reset with unsaved work ask Save / Discard / Cancel; the recovery
file is saved while there is unsaved work, deleted on a clean exit and offered
(Restore / Discard) at the next start after a crash."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from bpviz.gui import recovery as rec  # noqa: E402
from bpviz.gui.controller import Controller  # noqa: E402
from bpviz.gui.main_window import MainWindow  # noqa: E402

T = 20_000


@pytest.fixture
def make(qtbot, tmp_path):
    made = []

    def make_window(preset="circle", answer="discard"):
        ctx = Controller(preset)
        w = MainWindow(ctx, settings=QSettings(str(tmp_path / f"n{len(made)}.ini"),
                                               QSettings.Format.IniFormat),
                       restore_layout=False, save_layout=False)
        w.errors, w.asked, w.answer = [], [], answer
        w.error_dialog = lambda title, text: w.errors.append(text)

        def ask(text):
            w.asked.append(text)
            return w.answer

        w.ask_unsaved = ask
        qtbot.addWidget(w)
        w.show()
        w.activateWindow()
        qtbot.waitExposed(w)
        made.append(w)
        return w

    yield make_window
    for w in made:
        w.answer = "discard"
        w.close()
        w.ctx.shutdown()


def train(qtbot, ctx, n=3):
    target = ctx.worker.total_steps + n
    for _ in range(n):
        ctx.step()
    qtbot.waitUntil(lambda: ctx.worker.total_steps >= target, timeout=T)
    qtbot.waitUntil(lambda: ctx.trained_steps() >= n, timeout=T)


def test_quit_without_unsaved_work_does_not_ask(make):
    w = make()
    assert not w.ctx.has_unsaved_work()
    assert w.close()
    assert w.asked == []


@pytest.mark.parametrize("how", ["close", "ctrl+q"])
def test_quit_after_training_asks_and_cancel_keeps_the_window(qtbot, make, how):
    w = make(answer="cancel")
    train(qtbot, w.ctx, 3)
    if how == "close":
        w.close()
    else:
        QTest.keyClick(w, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert len(w.asked) == 1 and "3 training steps" in w.asked[0]
    assert w.isVisible() and w.ctx.worker.isRunning()       # Cancel: nothing stopped
    w.answer = "discard"
    assert w.close()
    assert not w.ctx.worker.isRunning()


def test_quit_while_training_asks_about_the_step_on_screen(qtbot, make, tmp_path):
    """Asked while training at full speed: training pauses first, so the question's
    count, the status bar, every caption and the file saved name one step; Cancel
    plays on."""
    from bpviz.engine.session import load_session

    w = make(answer="cancel")
    ctx = w.ctx
    ctx.play()
    qtbot.waitUntil(lambda: ctx.worker.total_steps > 300, timeout=T)
    w.close()
    assert len(w.asked) == 1 and ctx.is_playing          # Cancel: training goes on
    w.answer = "save"
    target = tmp_path / "kept.bpviz"
    w.ask_save_path = lambda title, filt, default: str(target)
    said = []
    ctx.message.connect(said.append)
    assert w.close()
    shown = ctx.latest_snapshot().step.step
    assert any(f"step {shown:,}, the newest" in m for m in said), said
    assert f"{shown:,} training steps" in w.asked[-1]
    assert w.status_labels["step"].text() == f"step {shown:,}"
    assert f"step {shown:,}" in w.panels["loss"]._status.plain_text()
    assert load_session(target).step == shown


def test_save_answer_saves_then_quits(qtbot, make, tmp_path):
    w = make(answer="save")
    train(qtbot, w.ctx, 2)
    target = tmp_path / "kept.bpviz"
    w.ask_save_path = lambda title, filt, default: str(target)
    assert w.close()
    assert target.is_file()
    assert not w.ctx.worker.isRunning()


def test_save_cancelled_keeps_the_window(qtbot, make):
    w = make(answer="save")
    train(qtbot, w.ctx, 2)
    w.ask_save_path = lambda title, filt, default: ""        # the file dialog cancelled
    w.close()
    assert w.isVisible() and w.ctx.worker.isRunning()


def test_an_edit_alone_counts_as_unsaved(make):
    w = make(answer="cancel")
    w.ctx.update_config(lr=0.05)
    w.close()
    assert w.asked and w.isVisible()


def test_after_a_save_only_new_steps_count(qtbot, make, tmp_path):
    w = make(answer="cancel")
    train(qtbot, w.ctx, 2)
    assert w.save_session(str(tmp_path / "s.bpviz"))
    assert not w.ctx.has_unsaved_work()
    train(qtbot, w.ctx, 1)
    assert w.ctx.unsaved_steps() == 1


def test_switching_preset_asks_and_cancel_keeps_everything(qtbot, make):
    w = make(answer="cancel")
    train(qtbot, w.ctx, 3)
    w.choose_preset("xor")
    assert w.asked and w.ctx.preset.name == "circle"
    assert w.actions_.preset_combo.currentData() == "circle"
    assert w.ctx.trained_steps() == 3
    w.answer = "discard"
    w.choose_preset("xor")
    assert w.ctx.preset.name == "xor"
    assert not w.ctx.has_unsaved_work()


def test_switching_data_set_asks(qtbot, make):
    w = make(answer="cancel")
    train(qtbot, w.ctx, 2)
    combo = w.panels["settings"].dataset
    combo.setCurrentIndex(combo.findData("xor"))
    combo.activated.emit(combo.currentIndex())             # as a user's pick
    assert w.asked and w.ctx.data_choice.name == "circle"
    assert combo.currentData() == "circle"
    w.answer = "discard"
    combo.setCurrentIndex(combo.findData("xor"))
    combo.activated.emit(combo.currentIndex())
    assert w.ctx.data_choice.name == "xor"


@pytest.mark.parametrize("action", ["reset", "new", "open", "import"])
def test_reset_new_open_and_import_ask(qtbot, make, action, tmp_path):
    w = make(answer="cancel")
    train(qtbot, w.ctx, 2)
    w.ask_open_path = lambda title, filt: str(tmp_path / "never-read.csv")
    {"reset": w.reset_training, "new": w.new_document, "open": w.open_session,
     "import": w.import_csv}[action]()
    assert len(w.asked) == 1
    assert w.ctx.trained_steps() == 2 and w.errors == []


# ---------------------------------------------------------------- the recovery file
def crashed_session(qtbot, folder):
    """A recovery file as a run that crashed leaves it: lr 0.0123, 3 steps trained."""
    ctx = Controller("circle")
    try:
        ctx.update_config(lr=0.0123)
        train(qtbot, ctx, 3)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "recovery-99999999.bpviz"
        assert ctx.save_session(str(path), recovery=True)
        assert ctx.session_path is None and ctx.dirty     # a recovery save is no user save
    finally:
        ctx.shutdown()
    return path


def test_a_crash_is_offered_and_restored(qtbot, make, tmp_path):
    folder = tmp_path / "recovery"
    left = crashed_session(qtbot, folder)
    w = make()
    asked = []
    w.ask_restore = lambda text: asked.append(text) or True
    rec.start_recovery(w, folder)
    assert asked and left.name in asked[0]
    ctx = w.ctx
    assert ctx.config.lr == 0.0123
    assert ctx.call_on_trainer(lambda tr: tr.step) == 3
    assert ctx.session_path is None and ctx.has_unsaved_work()   # Save asks where
    assert not left.exists()


def test_a_crash_discarded_is_deleted(qtbot, make, tmp_path):
    folder = tmp_path / "recovery"
    left = crashed_session(qtbot, folder)
    w = make()
    w.ask_restore = lambda text: False
    lr = w.ctx.config.lr
    rec.start_recovery(w, folder)
    assert not left.exists() and w.ctx.config.lr == lr


def test_no_recovery_file_no_question(make, tmp_path):
    w = make()
    w.ask_restore = lambda text: pytest.fail("asked without a recovery file")
    rec.start_recovery(w, tmp_path / "empty")


def test_saved_while_unsaved_deleted_on_a_clean_exit(qtbot, make, tmp_path):
    folder = tmp_path / "recovery"
    w = make()
    r = rec.start_recovery(w, folder, interval_ms=50)
    assert not r.save_now() and not r.path.exists()          # nothing unsaved yet
    train(qtbot, w.ctx, 2)
    qtbot.waitUntil(r.path.exists, timeout=T)                 # the timer saved it
    assert r.path.parent == folder
    assert rec.leftovers(folder) == []                        # locked: this run is alive
    w.close()
    assert not r.path.exists() and rec.leftovers(folder) == []


def test_a_saved_session_leaves_no_recovery_file(qtbot, make, tmp_path):
    w = make()
    r = rec.start_recovery(w, tmp_path / "recovery", interval_ms=3_600_000)
    train(qtbot, w.ctx, 2)
    assert r.save_now() and r.path.exists()
    w.ctx.pause()
    assert w.save_session(str(tmp_path / "mine.bpviz"))
    r.save_now()
    assert not r.path.exists()


def test_the_default_folder_is_the_app_data_location():
    """Never beside the user's files: under the platform's application-data folder."""
    from PySide6.QtCore import QStandardPaths

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    folder = rec.default_recovery_dir()
    assert base and folder.name == "recovery" and str(folder.parent) == base


def test_an_automated_run_closes_without_asking(qtbot, monkeypatch):
    """``bpviz gui --run-for S --screenshot`` trains, then closes its own window: nobody
    is there to answer (a prompt would hang the run)."""
    from bpviz.gui import app as gui_app
    from bpviz.gui.document import DocumentMixin

    asked = []
    monkeypatch.setattr(DocumentMixin, "ask_unsaved",
                        lambda self, text: asked.append(text) or "cancel")
    assert gui_app.run_gui(preset="xor", run_for=0.3) == 0
    assert asked == []
