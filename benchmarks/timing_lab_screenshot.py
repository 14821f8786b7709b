"""Run the Timing Lab panel on a preset offscreen and save a screenshot of it.

Usage::

    python benchmarks/timing_lab_screenshot.py                       # digits, /tmp/timing_lab.png
    python benchmarks/timing_lab_screenshot.py --preset xor --out lab.png --presentation
    python benchmarks/timing_lab_screenshot.py --mode width --size 1400x900

The panel gets a small stand-in for the controller (``run_on_trainer`` runs
the job at once on a trainer built from the preset), so this needs no window
system and no running training worker.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

try:
    import bpviz  # noqa: F401
except ImportError:  # a source checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from bpviz.engine import LayerSpec, Network, NetworkSpec
from bpviz.engine.datasets import make_dataset
from bpviz.engine.trainer import Trainer
from bpviz.gui.timing_lab import TimingLab


def make_trainer(preset: str) -> Trainer:
    try:
        from bpviz.engine.presets import load_preset

        p = load_preset(preset)
        data = p.data.load()
        return Trainer(Network(p.spec, seed=0), data, p.train)
    except Exception as exc:  # presets not there yet: a digits network by hand
        print(f"preset {preset!r} not usable ({exc}); using 64-32-10 on digits", file=sys.stderr)
        spec = NetworkSpec(64, (LayerSpec(32, "tanh"), LayerSpec(10, "softmax")),
                           loss="cross_entropy")
        return Trainer(Network(spec, seed=0), make_dataset("digits"))


class Ctx(QObject):
    specChanged = Signal(object)
    datasetChanged = Signal(object)

    def __init__(self, trainer: Trainer) -> None:
        super().__init__()
        self.trainer = trainer

    def run_on_trainer(self, job, done, error=None):  # type: ignore[no-untyped-def]
        QTimer.singleShot(0, lambda: done(job(self.trainer)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="digits")
    ap.add_argument("--mode", choices=("batch", "width"), default="batch")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--size", default="1280x860")
    ap.add_argument("--presentation", action="store_true")
    ap.add_argument("--out", default="/tmp/timing_lab.png")
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    lab = TimingLab(Ctx(make_trainer(args.preset)))
    w, h = (int(v) for v in args.size.split("x"))
    lab.resize(w, h)
    lab.repeats.setValue(args.repeats)
    lab.mode_box.setCurrentIndex(1 if args.mode == "width" else 0)
    lab.set_presentation(args.presentation)
    lab.show()
    lab.sweepFinished.connect(lambda res: QTimer.singleShot(200, app.quit))
    QTimer.singleShot(0, lab.run_sweep)
    app.exec()
    lab.grab().save(args.out)
    print(lab.result.headline() if lab.result else lab.status.text())
    print(f"saved {args.out}")
    lab.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
