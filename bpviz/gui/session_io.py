"""Opening and saving sessions for the :class:`~bpviz.gui.controller.Controller`.

A session file (``bpviz.engine.session``, extension ``.bpviz``) holds the whole
session: the network, its weights, the training settings and the trainer's
state (optimizer slots, sampler), the loss and health history (the step
records' scalars), the notation, the window's view state (given by the window,
handed back to it on open), and the data: a seeded or shipped data set as its
choice, a user's data file as its rows (it opens with the file gone).

Saving reads the trainer and the history on the worker thread between
mini-batches; opening builds a new trainer here and hands it, with the saved
history, to the worker. Errors go to ``last_error``/``message`` and leave
everything as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..engine.errors import BpvizError
from ..engine.presets import DataChoice, Preset, load_preset, preset_names
from ..engine.session import Session
from ..engine.trainer import Trainer


def preset_fits(preset: Preset, choice: DataChoice) -> bool:
    """Whether ``choice`` is ``preset``'s kind of data (its lesson is about it): the
    same data set, and for a data file the same file."""
    return choice.name == preset.data.name and (
        not choice.is_file or choice.csv_path == preset.data.csv_path)


def session_preset(sess: Session, path: str) -> Preset:
    """What the window names when a session has no preset of its own: the file, its
    data, and no lesson (the preset box shows none)."""
    data = f"CSV: {sess.data.file_name}" if sess.data.is_file else sess.data.describe()
    return Preset("", f"Session {Path(path).name}", f"a saved session on {data}; no lesson",
                  sess.spec, sess.data, sess.config, "", ())


class SessionMixin:
    """Session methods of the controller (which provides the attributes used here)."""

    #: The view state of the session opened last (the window restores its panels from it).
    opened_view_state: dict[str, Any] = {}

    def save_session(self, path: str, view_state: dict[str, Any] | None = None,
                     recovery: bool = False) -> bool:
        """Write the whole session to ``path``: network, weights, settings, trainer
        state, history, notation, ``view_state`` (the window's) and the data.

        ``recovery=True``: a recovery copy (:mod:`bpviz.gui.recovery`); the
        session's file and its unsaved state stay as they were.
        """
        from ..engine.session import save_session

        choice, notation, worker = self.data_choice, self.notation, self.worker
        preset = self.preset.name if self.preset.name and preset_fits(self.preset, choice) \
            else None

        def job(tr: Trainer) -> int:  # after the settings jobs queued before it
            save_session(path, tr.net, tr, choice, preset=preset,
                         history=worker.session_history(), notation=notation,
                         view=view_state or {})
            return tr.step

        try:
            step = self.call_on_trainer(job)
        except (BpvizError, OSError, TimeoutError) as exc:
            return self._fail(f"could not save the session: {exc}")
        if recovery:
            return True
        self.mark_saved(path)
        self.message.emit(f"Saved {path}: step {step:,}, the newest, with its weights, "
                          "optimizer and curves (the timeline's earlier matrices stay in "
                          "this window only)")
        return True

    def open_session(self, path: str) -> bool:
        """Replace network, weights, data, settings, history and notation by those of a
        session file; its view state waits in :attr:`opened_view_state` for the window."""
        from ..engine.session import load_session

        try:
            sess = load_session(path)
            _net, trainer, ds = sess.build(backend=self.backend_name)
            preset = None
            if sess.preset and sess.preset in preset_names():
                preset = (self.preset if sess.preset == self.preset.name
                          else load_preset(sess.preset))
            if preset is None or not preset_fits(preset, sess.data):
                preset = session_preset(sess, path)
        except (BpvizError, OSError) as exc:
            return self._fail(str(exc))
        self.config = trainer.config
        self.preset = preset
        self.opened_view_state = dict(sess.view)
        # the trainer with its history: the curves redraw from the saved records
        self._use_data(sess.data, ds, sess.spec, trainer, force_spec_signal=True,
                       history=tuple(sess.history))
        self.set_notation(sess.notation)
        self.presetChanged.emit(preset)
        self.mark_saved(path)
        self.message.emit(f"Opened {path}: {sess.spec.describe()} at step {sess.step:,} (the "
                          "curves come back; the timeline starts again from this step)")
        return True
