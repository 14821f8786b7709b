"""The controller: the one object panels talk to (the panel contract,
:mod:`bpviz.gui.contract`).

It owns the network spec, the data set, the training settings and the
:class:`~bpviz.gui.worker.TrainingWorker` thread (which owns the trainer).
Every change is validated here, on the GUI thread, before anything is
touched: a bad value raises nothing, it emits :attr:`message` and leaves the
previous state intact (the methods return False). Settings that can change
live (learning rate, optimizer, regularisation, method, batch size) reach the
trainer as one job each (``Trainer.configure``) through the worker's one job
queue, between mini-batches; structural changes (network, data set, backend,
reset) build a new trainer here and hand it to the worker.

Network, data and settings edits, Reset and weight edits are undoable
(:attr:`Controller.undo_stack`; :mod:`bpviz.gui.undo` says what undo restores).
:meth:`Controller.has_unsaved_work` tells the window whether closing, opening
or switching would lose work: an edit since the last save or open
(:attr:`Controller.dirty`), or steps trained since then.
"""

from __future__ import annotations

import atexit
import copy
import warnings
import weakref
from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any

from PySide6.QtCore import QEventLoop, QObject, QTimer, Signal, Slot
from PySide6.QtGui import QUndoStack

from ..engine import Network, NetworkSpec, default_spec
from ..engine.errors import BpvizError
from ..engine.files import regular_file
from ..engine.fitting import fit_to_data
from ..engine.loaders import file_kind
from ..engine.presets import DataChoice, Preset, load_preset, preset_names
from ..engine.records import StepRecord
from ..engine.trainer import TrainConfig, Trainer
from .contract import ContextMixin
from .data_import import DataLoadThread
from .session_io import SessionMixin
from .snapshot import Snapshot
from .undo import (
    UNDO_LIMIT,
    UNDO_MAX_BYTES,
    ConfigCommand,
    ModelState,
    ModelStateCommand,
    held_nbytes,
)
from .weight_edit import push_weight_edit
from .worker import Job, TrainingWorker

#: Presets tried, in order, when the app opens without one.
DEFAULT_PRESETS = ("circle", "spiral", "xor")


def default_preset_name() -> str | None:
    names = preset_names()
    return next((n for n in DEFAULT_PRESETS if n in names), names[0] if names else None)


def builtin_preset() -> Preset:
    """The preset used when no preset file can be found: the engine's default network
    (:func:`~bpviz.engine.fitting.default_spec`) on the circle."""
    data = DataChoice("circle", noise=0.1)
    return Preset("builtin", "Circle", "two classes: inside or outside a circle",
                  default_spec(data.load()), data, TrainConfig(batch_size=16, lr=0.1),
                  "Press Play and watch the boundary close around the inner class.")


class Controller(ContextMixin, SessionMixin, QObject):
    """Model and training state of the window; :mod:`bpviz.gui.contract` lists what
    panels may use of it."""

    specChanged = Signal(object)
    datasetChanged = Signal(object)
    snapshotReady = Signal()
    trainingStateChanged = Signal(bool)
    notationChanged = Signal(str)
    message = Signal(str)
    highlightRequested = Signal(str, int)
    # beyond the contract
    configChanged = Signal(object)       # TrainConfig
    dataChoiceChanged = Signal(object)   # DataChoice
    trainingReset = Signal()             # fresh weights, step 0: plots clear
    playBlockedChanged = Signal(bool)
    documentChanged = Signal()           # session path or unsaved flag changed
    presetChanged = Signal(object)       # Preset (lesson text, views)
    backendChanged = Signal(str)
    diverged = Signal(int, float)
    importProgress = Signal(float)       # fraction of the data file read
    importFinished = Signal(bool)        # a data file import ended (True: installed)

    def __init__(self, preset: Preset | str | None = None, backend: str = "numpy",
                 parent: QObject | None = None, start: bool = True) -> None:
        super().__init__(parent)
        self.notation = "out_in"
        self.backend_name = backend
        self.session_path: str | None = None
        self.dirty = False
        self._saved_steps = 0        # worker.total_steps at the last save, open or preset
        self.speed: float | None = None
        self._play_blocked: dict[str, str] = {}
        self.last_error = ""
        self._make_selection()
        self._pending_jobs = 0
        self._step_handler: Callable[[], bool] | None = None
        self._import: DataLoadThread | None = None
        self._imports: list[DataLoadThread] = []   # every load thread still running
        self._import_ok = False
        self.import_cancelled = False
        if preset is None:
            preset = default_preset_name() or builtin_preset()
        self.preset: Preset = preset if isinstance(preset, Preset) else load_preset(preset)
        self.data_choice: DataChoice = self.preset.data
        self.dataset = self.data_choice.load()
        fitted = fit_to_data(self.preset.spec, self.dataset)
        self.spec = fitted.spec
        self.config: TrainConfig = self.preset.train
        self.worker = TrainingWorker(self._new_trainer(), parent=None)
        self.worker.snapshotReady.connect(self.snapshotReady)
        self.worker.playingChanged.connect(self.trainingStateChanged)
        self.worker.diverged.connect(self._diverged)
        self.worker.failed.connect(self.message)
        self._shut = False
        #: Edit ▸ Undo / Redo of network, data, settings and weight edits and Reset
        #: (:mod:`bpviz.gui.undo`); a preset or an opened session clears it.
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self.presetChanged.connect(lambda _p: self.undo_stack.clear())
        _LIVE.add(self)
        self.worker.publish_preview()
        if start:
            self.worker.start()
        if fitted.changes:
            self.message.emit(fitted.note)

    # ------------------------------------------------------------ contract API
    def latest_snapshot(self) -> Snapshot | None:
        return self.worker.peek_snapshot()

    def take_snapshot(self) -> Snapshot | None:
        """The latest snapshot, marked as drawn (the main window calls this once a frame)."""
        return self.worker.take_snapshot()

    @property
    def is_playing(self) -> bool:
        return self.worker.playing

    def run_on_trainer(self, job: Callable[[Trainer], Any], done: Callable[[Any], None],
                       error: Callable[[str], None] | None = None) -> None:
        """``job(trainer)`` on the worker between mini-batches, ``done(result)`` here."""
        self.worker.submit(Job(job, done, error))

    def call_on_trainer(self, job: Callable[[Trainer], Any], timeout: float = 30.0) -> Any:
        """``job(trainer)`` on the worker; waits for and returns the result (re-raises)."""
        return self.worker.call(job, timeout)

    # ------------------------------------------------------------ play/pause/step
    def play(self) -> bool:
        if self._play_blocked:
            return self._fail("Play is disabled: " + "; ".join(self._play_blocked.values()))
        self.worker.set_playing(True)
        self._touch()
        return True

    def pause(self) -> None:
        self.worker.set_playing(False)

    def toggle_play(self) -> None:
        if self.is_playing:
            self.pause()
        else:
            self.play()

    def step(self) -> bool:
        """The toolbar's Step: one mini-batch (pauses first if playing), or, while a
        panel holds the step handler (phase-step mode), whatever that handler does."""
        if self._play_blocked:
            return self._fail("Step is disabled: " + "; ".join(self._play_blocked.values()))
        self._touch()
        if self._step_handler is not None:
            self.pause()
            return bool(self._step_handler())
        self.worker.set_playing(False, then_step=True)
        return True

    def set_step_handler(self, handler: Callable[[], bool] | None) -> None:
        """Let ``handler()`` answer the toolbar's Step (and its key) instead of a
        mini-batch step, e.g. one phase in phase-step mode; None gives Step back."""
        self._step_handler = handler

    def publish_step_record(self, rec: StepRecord) -> None:
        """Worker thread only (inside a :meth:`run_on_trainer` job): publish a step the
        job trained, with its matrices, to every view, as the training loop would."""
        self.worker.publish_record(rec)

    def _diverged(self, step: int, loss: float) -> None:
        self.last_error = (f"The loss became {loss} at step {step}: training paused and the "
                           "last finite weights restored; lower the learning rate")
        self.diverged.emit(step, loss)
        self.message.emit(self.last_error)

    def reset_same_start(self) -> None:
        """Reset (same start): step 0 from the same initial weights and the same batch
        order as the run began with (both drawn from the settings' seed), so the run
        repeats exactly; keeps playing if it was. Undoable: undo brings back the
        weights and the step it replaced."""
        before = self._capture()
        self._install(self._new_trainer())
        self._push_model_edit("Reset (same start)", before)
        self.message.emit(f"Reset (same start): the initial weights and batch order of seed "
                          f"{self.config.seed}, step 0")

    def continue_from(self, step: int, play: bool = True) -> bool:
        """Continue the run from the kept step ``step`` (the timeline's), exactly as it
        was then: the worker puts back the newest checkpoint at or before it and trains
        the steps between again (:meth:`TrainingWorker.rewind_to`); the later steps are
        discarded. Plays once there (``play``). Undoable: undo brings back the newest
        step with its weights and loss curve. False and a message (nothing changed)
        if ``step`` cannot be reached exactly."""
        try:
            cp, n = self.worker.checkpoints.plan(step)
        except BpvizError as exc:
            return self._fail(str(exc))
        self.pause()
        before = self._capture(with_history=True)
        self.trainingReset.emit()

        def done(config: TrainConfig) -> None:
            if config != self.config:
                self.config = config
                self.configChanged.emit(config)
            self._push_model_edit(f"continue from step {step:,}", before)
            self._touch()
            again = f", {n:,} steps trained again from the checkpoint at step {cp.step:,}" \
                if n else ""
            self.message.emit(f"Continuing from step {step:,} exactly as the run was then"
                              f"{again}; the later steps were discarded (Edit ▸ Undo brings "
                              "them back)")
            if play:
                self.play()

        def failed(msg: str) -> None:
            self._fail(f"could not continue from step {step:,}: {msg}")
            self.worker.submit(Job(lambda _t: self.worker.publish_preview(
                self.worker.session_history())))

        self.worker.submit(Job(lambda _t: self.worker.rewind_to(step), done, failed))
        return True

    #: The toolbar's Reset (R) is Reset (same start).
    reset = reset_same_start

    def reset_new_start(self) -> None:
        """Reset (new start): step 0 from new initial weights and a new batch order (the
        next seed, which the settings then keep). Undoable: undo brings back the seed,
        the weights and the step it replaced."""
        before = self._capture()
        self.config = replace(self.config, seed=(self.config.seed + 1) % 2**63)
        self._install(self._new_trainer())
        self.configChanged.emit(self.config)
        self._push_model_edit("Reset (new start)", before)
        self.message.emit(f"Reset (new start): new initial weights and batch order (seed "
                          f"{self.config.seed}), step 0")

    def set_speed(self, steps_per_s: float | None) -> None:
        """Full speed (None) or at most ``steps_per_s`` mini-batches a second."""
        self.speed = steps_per_s if steps_per_s and steps_per_s > 0 else None
        self.worker.set_rate(self.speed)

    # ------------------------------------------------------------ trainer building
    def _new_trainer(self, spec: NetworkSpec | None = None, data: Any = None,
                     config: TrainConfig | None = None, backend: str | None = None) -> Trainer:
        net = Network(spec or self.spec, seed=(config or self.config).seed,
                      backend=backend or self.backend_name)
        return Trainer(net, data if data is not None else self.dataset, config or self.config)

    def _install(self, trainer: Trainer, history: tuple[StepRecord, ...] | None = None) -> None:
        """Hand a new trainer to the worker (between mini-batches); ``history``: the
        step records it comes with (an opened session's)."""
        self.worker.submit(Job(lambda _t, tr=trainer: self.worker.replace_trainer(tr, history)))
        self.trainingReset.emit()

    def trained_steps(self) -> int:
        snap = self.latest_snapshot()
        return snap.step.step if snap is not None else 0

    def effective_batch_size(self) -> int:
        return max(1, min(self.config.batch_size, len(self.dataset.X_train)))

    # ------------------------------------------------------------ structural changes
    def set_spec(self, spec: NetworkSpec) -> bool:
        """Use a new network (fresh weights). False and a message if invalid.

        Undoable: undo brings back the previous network with the weights (and
        step) it had, redo the new one as it was when undone (:mod:`bpviz.gui.undo`).
        """
        try:
            spec = spec.validate()
            trainer = self._new_trainer(spec=spec)
        except BpvizError as exc:
            return self._fail(str(exc))
        before = self._capture()
        self.spec = spec
        self._install(trainer)
        self._push_model_edit(f"network {spec.describe()}", before)
        self.specChanged.emit(spec)
        self._touch()
        self.message.emit(f"New network: {spec.describe()}")
        return True

    def set_data_choice(self, choice: DataChoice | dict[str, Any]) -> bool:
        """Load another data set (the network adapts its input/output sizes).

        Undoable, like :meth:`set_spec` (regenerate and imports too): undo brings
        back the previous data set, network and weights.
        A data file is read on its own thread (:meth:`start_import`) while the
        event loop keeps running; this returns when it is done.
        """
        try:
            if isinstance(choice, dict):
                choice = DataChoice.from_dict(choice)
            if choice.is_file:
                return self._wait_import(self.start_import(choice))
            ds = choice.load()
        except (BpvizError, OSError) as exc:
            return self._fail(str(exc))
        return self._install_data(choice, ds)

    def _install_data(self, choice: DataChoice, ds: Any) -> bool:
        try:
            fitted = fit_to_data(self.spec, ds)
            trainer = self._new_trainer(spec=fitted.spec, data=ds)
        except (BpvizError, OSError) as exc:
            return self._fail(str(exc))
        except MemoryError:
            return self._fail(f"{choice.describe()}: not enough memory for this data set")
        before = self._capture()
        self._use_data(choice, ds, fitted.spec, trainer)
        self._push_model_edit(f"data {choice.describe()}", before)
        if fitted.changes:
            self.message.emit(fitted.note)
        return True

    # ------------------------------------------------------------ data files, threaded
    def start_import(self, choice: DataChoice) -> DataLoadThread | None:
        """Start reading a data file on its own thread; None (and a message) if the
        choice is invalid. A running import is cancelled first. When it ends the
        data set is installed (or the previous one kept) and :attr:`importFinished`
        is emitted."""
        self.cancel_import()
        if self._shut:
            self._fail("the window is closing")
            return None
        th = DataLoadThread(choice)
        th.progressed.connect(self.importProgress)
        th.finished.connect(self._import_finished)  # queued: runs on the GUI thread
        self._imports.append(th)   # keep a reference until it has finished
        self._import, self._import_ok, self.import_cancelled = th, False, False
        th.start()
        return th

    def cancel_import(self) -> None:
        """Cancel the running import, if any; the previous data set stays."""
        if self._import is not None:
            self._import.cancel()

    @property
    def importing(self) -> bool:
        """Whether a data file is being read."""
        return self._import is not None

    @Slot()
    def _import_finished(self) -> None:
        th = self.sender()
        if isinstance(th, DataLoadThread):
            self._import_done(th)

    def _import_done(self, th: DataLoadThread) -> None:
        if th in self._imports:
            self._imports.remove(th)
            th.deleteLater()
        if th is not self._import:
            return                     # superseded by a newer import
        self._import = None
        ok = False
        if th.cancelled:
            self.import_cancelled = True
            self._fail(th.error)
        elif th.error or th.dataset is None:
            self._fail(th.error or f"{th.choice.describe()}: no data read")
        elif not self._shut:
            ok = self._install_data(th.choice, th.dataset)
        th.dataset = None
        self._import_ok = ok
        self.importFinished.emit(ok)

    def _wait_import(self, th: DataLoadThread | None) -> bool:
        """Run the event loop until ``th`` has been handled; its result."""
        if th is None:
            return False
        loop = QEventLoop()
        self.importFinished.connect(loop.quit)
        try:
            if self._import is th:
                loop.exec()
        finally:
            self.importFinished.disconnect(loop.quit)
        return self._import_ok and self._import is None

    def _use_data(self, choice: DataChoice, ds: Any, spec: NetworkSpec, trainer: Trainer,
                  force_spec_signal: bool = False,
                  history: tuple[StepRecord, ...] | None = None) -> bool:
        spec_changed = force_spec_signal or spec != self.spec
        self.data_choice, self.dataset, self.spec = choice, ds, spec
        self._install(trainer, history)
        self.datasetChanged.emit(ds)
        self.dataChoiceChanged.emit(choice)
        if spec_changed:
            self.specChanged.emit(spec)
        self.configChanged.emit(self.config)
        self._touch()
        self.message.emit(f"Data: {choice.describe()}, {len(ds.X_train)} training and "
                          f"{len(ds.X_test)} test samples")
        return True

    def regenerate(self) -> bool:
        """The same synthetic data set drawn again with the next seed."""
        if self.data_choice.is_file or self.data_choice.name == "digits":
            return self._fail("Regenerate is for the generated 2-D data sets")
        return self.set_data_choice(replace(self.data_choice, seed=self.data_choice.seed + 1))

    def import_csv(self, path: str, target: str | None = None) -> bool:
        """Use a data file (CSV, .npz, IDX images) as the data set, read on its own
        thread (:meth:`start_import`); returns when done, True if it was installed."""
        try:
            regular_file(path, "data file")  # before anything reads (or blocks on) it
            choice = DataChoice(file_kind(path), test_fraction=self.data_choice.test_fraction,
                                csv_path=str(path), target=target)
        except BpvizError as exc:
            return self._fail(str(exc))
        return self.set_data_choice(choice)

    def set_backend(self, name: str) -> bool:
        """Move training to NumPy or CuPy, keeping the weights and the step."""
        if name == self.backend_name:
            return True
        try:
            trainer = self._new_trainer(backend=name)
        except BpvizError as exc:
            return self._fail(str(exc))

        def move(old: Trainer) -> None:
            trainer.net.set_weights(old.net.get_weights())
            trainer.load_state_dict(old.state_dict())
            self.worker.replace_trainer(trainer)

        self.backend_name = name
        self.worker.submit(Job(move, error=self.message.emit))
        self.backendChanged.emit(name)
        self.message.emit(f"Backend: {trainer.net.backend.message}")
        return True

    def load_preset(self, name: str | Preset) -> bool:
        try:
            preset = name if isinstance(name, Preset) else load_preset(name)
            ds = preset.data.load()
            fitted = fit_to_data(preset.spec, ds)
            spec = fitted.spec
            trainer = self._new_trainer(spec=spec, data=ds, config=preset.train)
        except (BpvizError, OSError) as exc:
            return self._fail(str(exc))
        self.preset = preset
        self.config = preset.train
        self._use_data(preset.data, ds, spec, trainer, force_spec_signal=True)
        self.presetChanged.emit(preset)
        self.mark_saved(None)   # a fresh document: nothing unsaved
        self.message.emit(f"Preset {preset.name}: {preset.title}")
        if fitted.changes:
            self.message.emit(fitted.note)
        return True

    # ------------------------------------------------------------ live settings
    def update_config(self, **changes: Any) -> bool:
        """Change training settings live; False and a message if a value is bad.

        Undoable (:class:`~bpviz.gui.undo.ConfigCommand`): undo sets back only the
        fields changed here; the weights and the steps trained since stay.
        """
        old = self.config
        if not self._apply_config(changes):
            return False
        new = self.config
        diff = [f.name for f in fields(new) if getattr(new, f.name) != getattr(old, f.name)]
        if diff:
            self.undo_stack.push(ConfigCommand(self._apply_config,
                                               {k: getattr(old, k) for k in diff},
                                               {k: getattr(new, k) for k in diff}))
        return True

    def _apply_config(self, changes: dict[str, Any]) -> bool:
        """Set the settings ``changes`` (checked) on the trainer, as one job; no undo entry."""
        try:
            cfg = replace(self.config, **changes).validate()
        except (BpvizError, TypeError) as exc:
            return self._fail(str(exc))
        old, self.config = self.config, cfg

        changed = {f.name: getattr(cfg, f.name) for f in fields(cfg)
                   if getattr(cfg, f.name) != getattr(old, f.name)}

        def apply(tr: Trainer) -> None:
            tr.configure(**changed)

        self.worker.submit(Job(apply, error=self.message.emit))
        self.configChanged.emit(cfg)
        self._touch()
        return True

    # ------------------------------------------------------------ undo of model edits
    def _capture(self, with_history: bool = False) -> ModelState | None:
        """The model as it is now (weights and trainer state from the training thread,
        after the jobs queued before; ``with_history``: the curves' records too);
        None if the thread does not answer."""
        def job(tr: Trainer) -> tuple[dict[str, Any], dict[str, Any], Any]:
            records = self.worker.session_history() if with_history else None
            return tr.net.get_weights(), copy.deepcopy(tr.state_dict()), records

        try:
            weights, state, records = self.call_on_trainer(job)
        except (BpvizError, OSError, TimeoutError) as exc:
            self.message.emit(f"this edit cannot be undone: {exc}")
            return None
        return ModelState(self.spec, self.data_choice, self.dataset, self.config, weights,
                          state, records)

    def _push_model_edit(self, text: str, before: ModelState | None) -> None:
        """Record a network, data or Reset edit already made (``before`` is what it
        replaced); without ``before`` the history no longer fits the model: cleared."""
        if before is None:
            self.undo_stack.clear()
            return
        stack = self.undo_stack
        held = [st for c in (stack.command(i) for i in range(stack.count()))
                if isinstance(c, ModelStateCommand) and (st := c.state()) is not None]
        if held_nbytes([*held, before], self.dataset) > UNDO_MAX_BYTES:
            stack.clear()   # bounded in bytes: the earlier edits go first
            mine, limit = held_nbytes([before], self.dataset), UNDO_MAX_BYTES / 2**20
            # said after the edit's own message (which would otherwise replace it at once)
            if mine > UNDO_MAX_BYTES:
                self._say_later(f"This change ({text}) cannot be undone: what it replaced "
                                f"takes {mine / 2**20:,.1f} MB, more than undo keeps "
                                f"({limit:,.4g} MB).")
                return
            self._say_later(f"Undo forgot the edits before this one ({text}): together "
                            f"they held more than {limit:,.4g} MB of networks and data.")
        stack.push(ModelStateCommand(text, self._swap_state, before))

    def _say_later(self, text: str) -> None:
        """``message`` once the current call has said its own."""
        QTimer.singleShot(0, self, lambda: self.message.emit(text))

    def _swap_state(self, state: ModelState) -> ModelState | None:
        """Undo/redo of a model edit: put ``state`` back, return the one it replaces."""
        current = self._capture(with_history=state.history is not None)
        try:
            trainer = self._new_trainer(spec=state.spec, data=state.dataset, config=state.config)
        except (BpvizError, OSError) as exc:
            self._fail(f"could not restore the previous model: {exc}")
            return current

        def restore(_old: Trainer) -> None:
            trainer.net.set_weights(state.weights)
            trainer.load_state_dict(state.trainer_state)
            self.worker.replace_trainer(trainer, state.history)

        data_changed = state.dataset is not self.dataset
        spec_changed = state.spec != self.spec
        config_changed = state.config != self.config
        self.spec, self.config = state.spec, state.config
        self.data_choice, self.dataset = state.data_choice, state.dataset
        self.worker.submit(Job(restore, error=self.message.emit))
        self.trainingReset.emit()
        if data_changed:
            self.datasetChanged.emit(state.dataset)
            self.dataChoiceChanged.emit(state.data_choice)
        if spec_changed:
            self.specChanged.emit(state.spec)
        if config_changed or data_changed:
            self.configChanged.emit(state.config)
        self._touch()
        step = int(state.trainer_state.get("step", 0))
        self.message.emit(f"Back to {state.spec.describe()} on {state.data_choice.describe()} "
                          f"at step {step:,}, with the weights it had")
        return current

    def set_method(self, method: str) -> bool:
        return self.update_config(method=method)

    # ------------------------------------------------------------ weight edits
    def set_weight(self, layer: int, i: int, j: int | None, value: Any) -> bool:
        """Set ``W[i, j]`` (``b[i]`` when ``j`` is None) of engine layer ``layer``, undoably.

        Engine indices and orientation (neuron i, input j; 0-based); ``value`` a
        number or the text typed. Checked here first (False and a message if the
        entry does not exist or the value is not a finite number: the network is
        untouched); then set on the training thread between mini-batches, and a
        snapshot of the new weights goes to every view (:mod:`bpviz.gui.weight_edit`).
        """
        try:
            push_weight_edit(self, self.undo_stack, lambda _tr: self.worker.publish_preview(),
                             layer, i, j, value)
        except BpvizError as exc:
            return self._fail(str(exc))
        self._touch()
        return True

    # ------------------------------------------------------------ document state
    def _touch(self) -> None:
        if not self.dirty:
            self.dirty = True
            self.documentChanged.emit()

    def mark_saved(self, path: str | None) -> None:
        """The state on screen is saved in ``path`` (or is a fresh preset, None)."""
        self.session_path, self.dirty = path, False
        self._saved_steps = self.worker.total_steps
        self.documentChanged.emit()

    def unsaved_steps(self) -> int:
        """Mini-batches trained since the last save, open or preset."""
        return max(0, self.worker.total_steps - self._saved_steps)

    def has_unsaved_work(self) -> bool:
        """Whether closing, opening or switching now would lose something: an edit
        since the last save or open (:attr:`dirty`), or trained steps."""
        return self.dirty or self.unsaved_steps() > 0

    # ------------------------------------------------------------ shutdown
    def shutdown(self, timeout_ms: int = 60_000) -> None:
        """Stop the worker and wait for it (never terminate); idempotent."""
        if self._shut:
            return
        self._shut = True
        for imp in list(self._imports):  # data file threads: cancel, wait, never terminate
            imp.cancel()
            if not imp.wait(timeout_ms):  # pragma: no cover - a read that never ends
                _ORPHANS.append(imp)
        w = self.worker
        w.stop()
        w.quit()
        if not w.wait(timeout_ms):  # pragma: no cover - a job that never ends
            _ORPHANS.append(w)  # keep the reference: destroying a running QThread aborts


    def release_listeners(self) -> None:
        """After :meth:`shutdown`: disconnect everything from this controller's signals.

        The panels' connections to them (closures over the panel, over the
        controller) are held by Qt, out of the garbage collector's reach, so
        without this a closed window's panels and this controller would live on.
        """
        if not self._shut:
            return
        names = {name for klass in type(self).__mro__ if klass is not QObject
                 for name, v in vars(klass).items() if isinstance(v, Signal)}
        with warnings.catch_warnings():  # PySide warns about a signal with no receiver
            warnings.simplefilter("ignore", RuntimeWarning)
            for name in sorted(names):
                try:
                    getattr(self, name).disconnect()
                except (RuntimeError, TypeError):
                    pass


_ORPHANS: list[Any] = []
_LIVE: weakref.WeakSet[Controller] = weakref.WeakSet()


@atexit.register
def _shutdown_all() -> None:
    """At exit, stop every training thread still running (a QThread destroyed while
    running aborts the process)."""
    for ctx in list(_LIVE):
        try:
            ctx.shutdown()
        except Exception:  # pragma: no cover - best effort at exit
            pass
