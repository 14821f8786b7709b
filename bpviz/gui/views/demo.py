"""Real snapshots without the controller: for tests, benchmarks and screenshots.

:class:`DemoContext` is the one stand-in for the controller (it satisfies
:class:`~bpviz.gui.contract.PanelContext`); :func:`demo_run` trains a small network with the
engine and returns :class:`~bpviz.gui.snapshot.Snapshot` objects built the way
the worker builds them (backprop + weights, boundary grid, test output,
loop-vs-vectorized comparison).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from ...engine import Network, NetworkSpec
from ...engine.datasets import Dataset, make_dataset
from ...engine.errors import BpvizError
from ...engine.fitting import fit_to_data
from ...engine.presets import Preset, load_preset
from ...engine.records import StepRecord
from ...engine.timing import compare_methods
from ...engine.trainer import TrainConfig, Trainer
from ..contract import ContextMixin
from ..snapshot import Snapshot
from ..snapshot_build import build_snapshot
from ..weight_edit import push_weight_edit

#: demo name -> (shipped preset, built-in data set it trains on). The network
#: and the training settings are the preset's, fitted to the data by the
#: engine's one policy (bpviz.engine.fitting), as in the window.
PRESETS = {
    "digits": ("digits", "digits"),
    "xor": ("xor", "xor"),
    "spiral": ("spiral", "spiral"),
    "blobs": ("outer-product", "blobs"),
    "reg_gauss": ("regression", "reg_gauss"),
    "tied": ("tied", "moons"),
}


class DemoContext(ContextMixin, QObject):
    """The one stand-in for the controller: it satisfies
    :class:`~bpviz.gui.contract.PanelContext` with real Qt signals.

    With a ``trainer``, jobs (``run_on_trainer``, ``call_on_trainer``) run at
    once on the calling thread and :meth:`advance` trains a mini-batch and
    publishes it; without one, jobs fail with a message. For view tests,
    benchmarks and screenshots.
    """

    specChanged = Signal(object)
    datasetChanged = Signal(object)
    snapshotReady = Signal()
    trainingStateChanged = Signal(bool)
    notationChanged = Signal(str)
    message = Signal(str)
    highlightRequested = Signal(str, int)
    configChanged = Signal(object)
    dataChoiceChanged = Signal(object)
    trainingReset = Signal()
    playBlockedChanged = Signal(bool)
    presetChanged = Signal(object)

    def __init__(self, spec: NetworkSpec | None = None, dataset: Dataset | None = None,
                 config: TrainConfig | None = None, trainer: Trainer | None = None,
                 preset: Preset | None = None) -> None:
        super().__init__()
        self.trainer = trainer
        if trainer is not None:
            spec = spec or trainer.net.spec
            dataset = dataset if dataset is not None else trainer.data
            config = config or trainer.config
        self.spec = spec
        self.dataset = dataset
        self.config = config or TrainConfig()
        self.notation = "out_in"
        self.preset = preset
        self.data_choice = preset.data if preset is not None else None
        self.last_error = ""
        self.is_playing = False
        self.step_handler: Callable[[], bool] | None = None
        self._play_blocked: dict[str, str] = {}
        self._make_selection()
        self.jobs = 0
        self._snap: Snapshot | None = None
        self.undo_stack = QUndoStack(self)

    # ------------------------------------------------------------ the contract
    def latest_snapshot(self) -> Snapshot | None:
        return self._snap

    def run_on_trainer(self, job: Callable[[Trainer], Any], done: Callable[[Any], None],
                       error: Callable[[str], None] | None = None) -> None:
        """``job(trainer)`` now; ``done(result)``, or ``error(message)`` if it raised."""
        self.jobs += 1
        fail = error or self.message.emit
        if self.trainer is None:
            fail("no trainer in the demo context")
            return
        try:
            result = job(self.trainer)
        except Exception as exc:  # the contract: a failed job reports, never raises
            fail(str(exc))
            return
        done(result)

    def call_on_trainer(self, job: Callable[[Trainer], Any], timeout: float = 30.0) -> Any:
        if self.trainer is None:
            raise RuntimeError("no trainer in the demo context")
        self.jobs += 1
        return job(self.trainer)

    def pause(self) -> None:
        if self.is_playing:
            self.is_playing = False
            self.trainingStateChanged.emit(False)

    def effective_batch_size(self) -> int:
        n = len(self.dataset.X_train) if self.dataset is not None else self.config.batch_size
        return max(1, min(self.config.batch_size, n))

    def set_step_handler(self, handler: Callable[[], bool] | None) -> None:
        self.step_handler = handler

    def publish_step_record(self, rec: StepRecord) -> None:
        self.publish(Snapshot(step=rec))

    def set_spec(self, spec: NetworkSpec) -> bool:
        self.spec = spec
        self.specChanged.emit(spec)
        return True

    def set_data_choice(self, choice: Any) -> bool:
        return self._fail("the demo context keeps its data set")

    def update_config(self, **changes: Any) -> bool:
        try:
            self.config = replace(self.config, **changes).validate()
        except Exception as exc:
            return self._fail(str(exc))
        self.configChanged.emit(self.config)
        return True

    def set_method(self, method: str) -> bool:
        return self.update_config(method=method)

    def regenerate(self) -> bool:
        return self._fail("the demo context keeps its data set")

    def set_weight(self, layer: int, i: int, j: int | None, value: Any) -> bool:
        """As the controller's: checked, undoable (:attr:`undo_stack`), published at once."""
        try:
            push_weight_edit(self, self.undo_stack,
                             lambda tr: self.publish(Snapshot(step=tr.current_record())),
                             layer, i, j, value)
        except BpvizError as exc:
            return self._fail(str(exc))
        return True

    def trained_steps(self) -> int:
        return self._snap.step.step if self._snap is not None else 0

    # ------------------------------------------------------------ test helpers
    def publish(self, snap: Snapshot) -> None:
        """Make ``snap`` the latest snapshot and emit ``snapshotReady``."""
        self._snap = snap
        self.snapshotReady.emit()

    def advance(self, n: int = 1, emit: bool = True) -> Snapshot:
        """Train ``n`` mini-batches (the last with its matrices) and publish the last."""
        if self.trainer is None:
            raise RuntimeError("no trainer in the demo context")
        for _ in range(n - 1):
            self.trainer.train_step()
        self.trainer.request_matrices()
        snap = Snapshot(step=self.trainer.train_step())
        if emit:
            self.publish(snap)
        else:
            self._snap = snap
        return snap



@dataclass
class DemoRun:
    """A trained demo: the context (spec, data set, config) and its snapshots."""

    ctx: DemoContext
    snapshots: list[Snapshot]
    net: Network
    trainer: Trainer




def demo_run(name: str = "digits", steps: int = 60, frames: int = 3, seed: int = 0,
             batch_size: int | None = None, compare: bool = True) -> DemoRun:
    """Train demo ``name`` (a key of :data:`PRESETS`) for ``steps`` mini-batches;
    keep the last ``frames`` snapshots.

    The shipped preset's network, fitted to the built-in data set (noise 0.1
    for the 2-D sets, drawn with ``seed``) by :func:`~bpviz.engine.fitting.fit_to_data`;
    its training settings with ``batch_size`` (if given), ``seed`` and an
    evaluation every 10 steps.
    """
    preset_name, ds_name = PRESETS[name]
    preset = load_preset(preset_name)
    ds = make_dataset(ds_name, seed=seed, noise=0.1 if ds_name != "digits" else 0.0)
    spec = fit_to_data(preset.spec, ds).spec
    cfg = replace(preset.train, batch_size=batch_size or preset.train.batch_size,
                  eval_every=10, seed=seed).validate()
    net = Network(spec, seed=seed)
    trainer = Trainer(net, ds, cfg)
    ctx = DemoContext(spec, ds, cfg)
    snaps: list[Snapshot] = []
    history: list = []
    for t in range(steps):
        want = t >= steps - frames
        if want or t % 2 == 0:
            trainer.request_matrices()
        rec = trainer.train_step()
        history.append(rec)
        if not want:
            continue
        comp = None
        if compare:
            idx = rec.batch_index
            comp = compare_methods(net, ds.X_train[idx], ds.y_train[idx], repeats=2)
        snaps.append(build_snapshot(trainer, rec, tuple(history), comp, {}))
        history = []
    ctx._snap = snaps[-1] if snaps else None
    return DemoRun(ctx, snaps, net, trainer)
