"""Opening and saving sessions for the :class:`~bpviz.gui.controller.Controller`.

A session file (``bpviz.engine.session``) holds the network, its weights, the
data choice, the training settings and the trainer's state (optimizer slots,
sampler). Saving reads the trainer on the worker thread between mini-batches;
opening builds a new trainer here and hands it to the worker. Errors go to
``last_error``/``message`` and leave everything as it was.
"""

from __future__ import annotations

from typing import Any

from ..engine.errors import BpvizError
from ..engine.presets import load_preset, preset_names
from ..engine.trainer import Trainer


class SessionMixin:
    """Session methods of the controller (which provides the attributes used here)."""

    def save_session(self, path: str, recovery: bool = False) -> bool:
        """Write the network, weights, data choice and trainer state to ``path``.

        ``recovery=True``: a recovery copy (:mod:`bpviz.gui.recovery`); the
        session's file and its unsaved state stay as they were.
        """
        from ..engine.session import save_session

        choice, preset = self.data_choice, self.preset.name

        def job(tr: Trainer) -> Any:  # after the settings jobs queued before it
            return save_session(path, tr.net, tr, choice, preset=preset)

        try:
            self.call_on_trainer(job)
        except (BpvizError, OSError, TimeoutError) as exc:
            return self._fail(f"could not save the session: {exc}")
        if recovery:
            return True
        self.mark_saved(path)
        self.message.emit(f"Saved {path}")
        return True

    def open_session(self, path: str) -> bool:
        """Replace network, weights, data and settings by those of a session file."""
        from ..engine.session import load_session

        try:
            sess = load_session(path)
            _net, trainer, ds = sess.build(backend=self.backend_name)
            preset = self.preset
            if sess.preset and sess.preset in preset_names() and sess.preset != preset.name:
                preset = load_preset(sess.preset)
        except (BpvizError, OSError) as exc:
            return self._fail(str(exc))
        self.config = trainer.config
        self.preset = preset
        self._use_data(sess.data, ds, sess.spec, trainer, force_spec_signal=True)
        self.presetChanged.emit(preset)
        self.mark_saved(path)
        self.message.emit(f"Opened {path}: {sess.spec.describe()} at step {sess.step}")
        return True
