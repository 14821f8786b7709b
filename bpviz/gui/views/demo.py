"""Real snapshots without the controller: for tests, benchmarks and screenshots.

:class:`DemoContext` is a minimal stand-in for the controller of
GUI_CONTRACT.md (the signals and attributes the views use, plus
``latest_snapshot()``); :func:`demo_run` trains a small network with the
engine and returns :class:`~bpviz.gui.snapshot.Snapshot` objects built the way
the worker builds them (backprop + weights, boundary grid, test output,
loop-vs-vectorized comparison).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, Signal

from ...engine import Network, NetworkSpec
from ...engine.datasets import Dataset, make_dataset
from ...engine.fitting import fit_to_data
from ...engine.presets import load_preset
from ...engine.timing import compare_methods
from ...engine.trainer import TrainConfig, Trainer
from ..snapshot import Snapshot
from ..snapshot_build import build_snapshot

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


class DemoContext(QObject):
    """The controller's public surface as the views see it (GUI_CONTRACT.md)."""

    specChanged = Signal(object)
    datasetChanged = Signal(object)
    snapshotReady = Signal()
    trainingStateChanged = Signal(bool)
    notationChanged = Signal(str)
    message = Signal(str)
    highlightRequested = Signal(str, int)

    def __init__(self, spec: NetworkSpec | None = None, dataset: Dataset | None = None,
                 config: TrainConfig | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.dataset = dataset
        self.config = config or TrainConfig()
        self.notation = "out_in"
        self.is_playing = False
        self._snap: Snapshot | None = None

    def latest_snapshot(self) -> Snapshot | None:
        return self._snap

    def publish(self, snap: Snapshot) -> None:
        self._snap = snap
        self.snapshotReady.emit()

    def set_notation(self, notation: str) -> None:
        self.notation = notation
        self.notationChanged.emit(notation)

    def request_highlight(self, kind: str, layer: int) -> None:
        self.highlightRequested.emit(kind, layer)

    def set_spec(self, spec: NetworkSpec) -> None:
        self.spec = spec
        self.specChanged.emit(spec)

    def run_on_trainer(self, job, done, error=None) -> None:  # pragma: no cover - no trainer
        (error or self.message.emit)("no trainer in the demo context")


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
