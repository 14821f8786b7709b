"""Real snapshots without the controller: for tests, benchmarks and screenshots.

:class:`DemoContext` is a minimal stand-in for the controller of
GUI_CONTRACT.md (the signals and attributes the views use, plus
``latest_snapshot()``); :func:`demo_run` trains a small network with the
engine and returns :class:`~bpviz.gui.snapshot.Snapshot` objects built the way
the worker builds them (backprop + weights, boundary grid, test output,
loop-vs-vectorized comparison).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from ...engine import LayerSpec, Network, NetworkSpec, outputs_for
from ...engine.datasets import Dataset, make_dataset
from ...engine.timing import compare_methods
from ...engine.trainer import TrainConfig, Trainer
from ..snapshot import Snapshot
from ..snapshot_build import build_snapshot

#: name -> (dataset, hidden layers [(units, activation)], loss, output activation, batch)
PRESETS = {
    "digits": ("digits", [(32, "tanh")], "cross_entropy", "softmax", 128),
    "xor": ("xor", [(8, "tanh"), (8, "tanh")], "binary_cross_entropy", "sigmoid", 32),
    "spiral": ("spiral", [(16, "tanh"), (16, "tanh")], "cross_entropy", "softmax", 32),
    "blobs": ("blobs", [(8, "tanh")], "cross_entropy", "softmax", 32),
    "reg_gauss": ("reg_gauss", [(12, "tanh"), (12, "tanh")], "squared_error", "identity", 32),
    "tied": ("circle", [(8, "tanh"), (8, "tanh"), (8, "tanh")], "binary_cross_entropy",
             "sigmoid", 16),
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


def build_spec(name: str, dataset: Dataset, tie: bool = False) -> NetworkSpec:
    _, hidden, loss, out_act, _ = PRESETS[name]
    layers = [LayerSpec(u, a) for u, a in hidden]
    n_out = outputs_for(dataset.n_classes, dataset.n_targets, loss)
    layers.append(LayerSpec(n_out, out_act))
    if tie and len(layers) >= 3:
        layers[2] = LayerSpec(layers[2].units, layers[2].activation, tie_to=1)
    return NetworkSpec(dataset.n_features, tuple(layers), loss=loss)


def demo_run(name: str = "digits", steps: int = 60, frames: int = 3, seed: int = 0,
             batch_size: int | None = None, compare: bool = True) -> DemoRun:
    """Train preset ``name`` for ``steps`` mini-batches; keep the last ``frames`` snapshots."""
    ds_name, *_, batch = PRESETS[name]
    ds = make_dataset(ds_name, seed=seed, noise=0.1 if ds_name != "digits" else 0.0)
    spec = build_spec(name, ds, tie=(name == "tied"))
    cfg = TrainConfig(batch_size=batch_size or batch, lr=0.1 if ds_name == "digits" else 0.3,
                      eval_every=10, seed=seed)
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
