"""File menu behaviour of the main window: sessions, CSV import, the window title.

A session (``bpviz.engine.session``, a ``.bpviz`` file) holds the whole
session: network, weights, settings, the trainer's state, the history, the
notation, the window's view state and the data. Reading or writing one happens
here on the GUI thread, with the trainer's state fetched from the worker
between mini-batches. The file dialogs start in the folder used last. Every
error is shown in a dialog and leaves the window's state as it was.

Never lose work: quitting, opening a session, switching preset or data set,
importing data, New and Reset first ask Save / Discard / Cancel when there is
unsaved work (:meth:`DocumentMixin.keep_work`; unsaved = an edit or trained
steps since the last save or open, ``Controller.has_unsaved_work``). The
dialogs are methods that tests replace (:meth:`DocumentMixin.ask_unsaved`,
:meth:`DocumentMixin.ask_restore`), as :meth:`DocumentMixin.error_dialog` is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QMessageBox

from ..engine.session import EXTENSION
from .views.export import FOLDER_KEY

SESSION_FILTER = ("bpviz session (*.bpviz);;Older bpviz sessions (*.bpviz.json *.json);;"
                  "All files (*)")
ANIMATION_FILTER = "Animated GIF (*.gif);;MP4 video (*.mp4);;All files (*)"
DATA_FILTER = ("Data files (*.csv *.npz *-ubyte *-ubyte.gz);;CSV files (*.csv);;"
               "NumPy archives (*.npz);;MNIST IDX images (*-images-idx3-ubyte*);;All files (*)")


class DocumentMixin:
    """Mixed into :class:`~bpviz.gui.main_window.MainWindow` (needs ``self.ctx``)."""

    ctx: Any
    settings: Any  # QSettings
    #: False in an automated run (``bpviz gui --run-for``): nobody is there to answer,
    #: and the run's training is not the user's work.
    confirm_losing_work: bool = True

    # ------------------------------------------------------------ dialogs (overridable)
    def error_dialog(self, title: str, text: str) -> None:
        """Show an error (tests replace this to record instead)."""
        QMessageBox.warning(self, title, text)  # type: ignore[arg-type]

    def ask_open_path(self, title: str, filt: str) -> str:
        path, _ = QFileDialog.getOpenFileName(self, title, self.dialog_folder(), filt)  # type: ignore
        return self._remember_folder(path)

    def ask_save_path(self, title: str, filt: str, default: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, title, default, filt)  # type: ignore
        return self._remember_folder(path)

    def dialog_folder(self) -> str:
        """The folder the file dialogs start in: the last one a dialog was used in
        (kept in QSettings), else the user's home folder."""
        folder = str(self.settings.value(FOLDER_KEY, "") or "")
        return folder if folder and os.path.isdir(folder) else os.path.expanduser("~")

    def _remember_folder(self, path: str) -> str:
        if path:
            self.settings.setValue(FOLDER_KEY, str(Path(path).resolve().parent))
        return path

    def ask_unsaved(self, text: str) -> str:
        """Ask Save / Discard / Cancel about unsaved work: ``"save"``, ``"discard"`` or
        ``"cancel"`` (tests replace this)."""
        B = QMessageBox.StandardButton
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved work", text,
                          B.Save | B.Discard | B.Cancel, self)  # type: ignore[arg-type]
        box.setDefaultButton(B.Save)
        box.setEscapeButton(B.Cancel)
        answer = box.exec()
        return {B.Save: "save", B.Discard: "discard"}.get(B(answer), "cancel")

    def ask_restore(self, text: str) -> bool:
        """Ask Restore / Discard about a recovery file left by a crash; True: restore
        (tests replace this)."""
        B = QMessageBox.StandardButton
        box = QMessageBox(QMessageBox.Icon.Question, "Restore unsaved work?", text,
                          B.Discard, self)  # type: ignore[arg-type]
        restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(restore)
        box.exec()
        return box.clickedButton() is restore

    def ask_continue(self, step: int, newest: int) -> str:
        """Play while the timeline shows the kept step ``step``: ``"continue"`` from it
        (the later steps are discarded; undoable), ``"newest"`` (go on from step
        ``newest``) or ``"cancel"`` (tests replace this)."""
        text = (f"The views show step {step:,}; training has reached step {newest:,}.\n\n"
                f"Continue from step {step:,}: the run goes on exactly as it was then, "
                f"and steps {step + 1:,}–{newest:,} are discarded (Edit ▸ Undo brings them "
                f"back).\nGo to the newest: training goes on from step {newest:,}.")
        box = QMessageBox(QMessageBox.Icon.Question, "Play from a past step", text,
                          QMessageBox.StandardButton.Cancel, self)  # type: ignore[arg-type]
        cont = box.addButton(f"Continue from step {step:,}", QMessageBox.ButtonRole.AcceptRole)
        new = box.addButton(f"Go to the newest (step {newest:,})",
                            QMessageBox.ButtonRole.ActionRole)
        box.setDefaultButton(cont)
        box.setEscapeButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        return "continue" if clicked is cont else "newest" if clicked is new else "cancel"

    def keep_work(self, action: str) -> bool:
        """Whether ``action`` (e.g. ``"Quit"``) may go ahead: nothing is unsaved, or the
        user saved it (and the save worked) or chose to discard it; False on Cancel."""
        c = self.ctx
        if not self.confirm_losing_work or not c.has_unsaved_work():
            return True
        playing = c.is_playing
        if playing:   # while asked: the question counts, and Save writes, the step on screen
            self.pause_and_show()
        try:
            steps = c.unsaved_steps()
            what = (f"{steps:,} training steps and edits" if steps else "edits") + " not saved"
            name = Path(c.session_path).name if c.session_path else "This session"
            answer = self.ask_unsaved(f"{action}? {name} has {what}.\n\nSave them first?")
            if answer == "save":
                return self.save_session()
            return answer == "discard"
        finally:
            if playing:   # then as before: the action itself says whether training goes on
                c.play()

    def pause_and_show(self) -> None:
        """Pause, and show the step training stopped at in every view before going on
        (the worker publishes it as it pauses, before the job waited for here)."""
        self.ctx.pause()
        try:
            self.ctx.call_on_trainer(lambda _tr: None, timeout=5.0)
        except TimeoutError:   # a step that takes this long: ask all the same
            return
        self._on_snapshot()  # type: ignore[attr-defined]

    # ------------------------------------------------------------ sessions
    def save_session(self, path: str | None = None) -> bool:
        """Save to ``path`` (or the current file, or ask). False on error or cancel."""
        path = path or self.ctx.session_path
        if not path:
            return self.save_session_as()
        if not Path(path).suffix:
            path = f"{path}{EXTENSION}"
        ok = self.ctx.save_session(str(path), self.view_state())  # type: ignore[attr-defined]
        if not ok:
            self.error_dialog("Save session", self.ctx.last_error)
        return ok

    def save_session_as(self, path: str | None = None) -> bool:
        if not path:
            default = self.ctx.session_path or os.path.join(
                self.dialog_folder(), f"{self.ctx.preset.name or 'session'}{EXTENSION}")
            path = self.ask_save_path("Save session as", SESSION_FILTER, default)
        if not path:
            return False
        return self.save_session(path)

    def open_session(self, path: str | None = None) -> bool:
        if not self.keep_work("Open another session"):
            return False
        if not path:
            path = self.ask_open_path("Open session", SESSION_FILTER)
        if not path:
            return False
        ok = self.ctx.open_session(str(path))
        if not ok:
            self.error_dialog("Open session", self.ctx.last_error)
        else:  # the panels' choices and the open docks, as saved
            self.restore_view_state(self.ctx.opened_view_state)  # type: ignore[attr-defined]
        return ok

    def import_csv(self, path: str | None = None) -> bool:
        """Use a data file (CSV, .npz, IDX images) as the data set; read on its own
        thread, with a progress dialog and Cancel (a cancel keeps the old data)."""
        if not path:
            path = self.ask_open_path("Import data", DATA_FILTER)
        if not path or not self.keep_work("Use another data set"):
            return False
        from .data_import import ImportProgress

        with ImportProgress(self, self.ctx, Path(path).name):  # type: ignore[arg-type]
            ok = self.ctx.import_csv(str(path))
        if not ok and not getattr(self.ctx, "import_cancelled", False):
            self.error_dialog("Import data", self.ctx.last_error)
        return ok

    # ------------------------------------------------------------ Reset (new start)
    def reset_new_start(self) -> None:
        """Training ▸ Reset (new start): new initial weights and batch order (the next
        seed), step 0, after asking about unsaved work."""
        if self.keep_work("Reset to new initial weights"):
            self.ctx.reset_new_start()

    # ------------------------------------------------------------ animations
    def ask_animation(self) -> tuple[Any, str] | None:
        """Ask what to animate and where: (``AnimationRequest``, path), or None on
        Cancel (tests replace this)."""
        from PySide6.QtWidgets import (
            QCheckBox,
            QComboBox,
            QDialog,
            QDialogButtonBox,
            QDoubleSpinBox,
            QFormLayout,
            QSpinBox,
        )

        from .animate import DEFAULT_SIZE, MAX_SIDE, MIN_SIDE, AnimationRequest, view_names

        dlg = QDialog(self)  # type: ignore[arg-type]
        dlg.setWindowTitle("Export animation")
        form = QFormLayout(dlg)
        view = QComboBox()
        view.addItems(view_names())
        view.setCurrentText("matrices")
        steps, every = QSpinBox(), QSpinBox()
        for box, v in ((steps, 100), (every, 1)):
            box.setRange(1, 1_000_000)
            box.setValue(v)
        width, height = QSpinBox(), QSpinBox()
        for box, v in ((width, DEFAULT_SIZE[0]), (height, DEFAULT_SIZE[1])):
            box.setRange(MIN_SIDE, MAX_SIDE)
            box.setValue(v)
        fps = QDoubleSpinBox()
        fps.setRange(0.1, 60)
        fps.setValue(10)
        stepping = QCheckBox("outer products: one frame per sample k = 1…K")
        form.addRow("View", view)
        form.addRow("Train mini-batches", steps)
        form.addRow("Frame every", every)
        form.addRow("Width", width)
        form.addRow("Height", height)
        form.addRow("Frames/s", fps)
        form.addRow("", stepping)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dlg.accept)
        buttons.rejected.connect(dlg.reject)
        form.addRow(buttons)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return None
        request = AnimationRequest(view.currentText(), steps.value(), every.value(),
                                   (width.value(), height.value()), fps.value(),
                                   stepping.isChecked())
        path = self.ask_save_path("Export animation", ANIMATION_FILTER,
                                  os.path.join(self.dialog_folder(), "bpviz.gif"))
        return (request, path) if path else None

    def export_animation(self, request: Any = None, path: str | None = None) -> bool:
        """File ▸ Export animation…: a panel or the whole window over the next training
        steps (or the outer-product stepping k = 1…K), from the state on screen, rendered
        offscreen on a copy (the window's own training is paused and left as it was),
        with a progress dialog and Cancel. False on error or Cancel."""
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QProgressDialog

        from ..engine import Network
        from ..engine.errors import BpvizError
        from ..engine.trainer import Trainer
        from .animate import check_target, frames_to_render, make_renderer, render

        if request is None or not path:
            asked = self.ask_animation()
            if asked is None:
                return False
            request, path = asked
        c = self.ctx
        c.pause()
        try:
            request = request.validate()
            check_target(path, request.size)
            state = c._capture()   # weights and trainer state, between mini-batches
            if state is None:
                raise BpvizError("the training thread did not answer")
            trainer = Trainer(Network(state.spec, seed=state.config.seed), state.dataset,
                              state.config)
            trainer.net.set_weights(state.weights)
            trainer.load_state_dict(state.trainer_state)
            renderer = make_renderer(request, c.preset, trainer, state.data_choice)
        except (BpvizError, OSError) as exc:
            self.error_dialog("Export animation", str(exc))
            return False
        total = frames_to_render(request, renderer)
        dlg = QProgressDialog(f"Rendering {request.view} to {Path(path).name}…", "Cancel",
                              0, total, self)  # type: ignore[arg-type]
        dlg.setWindowTitle("Export animation")
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.setMinimumDuration(0)

        def progress(done: int, n: int) -> bool:
            dlg.setMaximum(n)
            dlg.setValue(done)
            return not dlg.wasCanceled()

        try:
            result = render(request, renderer, path, progress)
        except (BpvizError, OSError) as exc:
            self.error_dialog("Export animation", str(exc))
            return False
        finally:
            renderer.close()
            dlg.close()
        if result.cancelled:
            c.message.emit("Export animation cancelled: nothing written")
            return False
        c.message.emit(f"Wrote {result.path} ({result.frames} frames)")
        return True

    # ------------------------------------------------------------ title
    def _update_title(self) -> None:
        c = self.ctx
        name = Path(c.session_path).name if c.session_path else f"{c.preset.name} (preset)"
        self.setWindowTitle(f"{name}{'*' if c.dirty else ''} — bpviz")  # type: ignore
