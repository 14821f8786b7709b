"""How much of Python a live matrix grid leaves to a NumPy thread (the training worker's GIL).

Ten heatmaps (the digits preset's five matrices of two layers, 128×64 at most)
get a new matrix 25 times a second from a timer in a running event loop, while
a second thread multiplies small float32 matrices in a loop, as the training
worker does. It prints the frames/s reached, the GUI thread's Python time per
frame, and the busy thread's speed relative to its speed with no window (1.0 =
the window costs it nothing).

Usage::

    QT_QPA_PLATFORM=offscreen python benchmarks/gil_share.py [--seconds 3] [--fps 25]

Not a test: the figures depend on the machine (cores, load, display).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QGridLayout, QWidget  # noqa: E402

from bpviz.gui.views.heatmap import Heatmap  # noqa: E402

SHAPES = [(128, 64), (128, 32), (32, 64), (32, 64), (1, 32),
          (128, 32), (128, 10), (10, 32), (10, 32), (1, 10)]


class Busy(threading.Thread):
    """Counts small matrix products (each releases the GIL briefly, like a training step)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.count = 0
        self.stop = False

    def run(self) -> None:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((128, 64)).astype(np.float32)
        b = rng.standard_normal((64, 32)).astype(np.float32)
        while not self.stop:
            (a @ b).sum()
            self.count += 1

    def rate(self, seconds: float) -> float:
        c0, t0 = self.count, time.perf_counter()
        time.sleep(seconds)
        return (self.count - c0) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--fps", type=float, default=25.0)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    win = QWidget()
    grid = QGridLayout(win)
    maps = [Heatmap() for _ in SHAPES]
    for i, hm in enumerate(maps):
        grid.addWidget(hm, i // 5, i % 5)
    win.resize(1600, 900)
    win.show()
    rng = np.random.default_rng(1)
    frames = [[rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(4)]

    busy = Busy()
    busy.start()
    alone = busy.rate(1.0)
    n, py = [0], [0.0]

    def frame() -> None:
        t = time.perf_counter()
        for hm, M in zip(maps, frames[n[0] % len(frames)], strict=True):
            hm.set_matrix(M)
        py[0] += time.perf_counter() - t
        n[0] += 1

    timer = QTimer()
    timer.timeout.connect(frame)
    timer.start(int(1000 / args.fps))
    c0, t0 = busy.count, time.perf_counter()
    QTimer.singleShot(int(args.seconds * 1000), app.quit)
    app.exec()
    dt = time.perf_counter() - t0
    busy.stop = True
    busy.join()
    per_frame_ms = py[0] / max(n[0], 1) * 1e3
    print(f"{n[0] / dt:.1f} frames/s (asked {args.fps:g}), GUI Python {per_frame_ms:.1f} ms"
          f" per frame; the NumPy thread ran at {(busy.count - c0) / dt / alone:.2f} of its"
          f" speed alone")


if __name__ == "__main__":
    main()
