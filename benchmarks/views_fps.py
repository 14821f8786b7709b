"""Frames per second of the matrices panel (and the other live views), offscreen.

Wall-clock fps depends on what else the machine runs; the CPU time per frame
(``time.process_time``) is the steadier figure on a busy machine.

What is timed: the GUI-thread cost of one frame, i.e. ``show_snapshot(snap)``
on every view, then ``processEvents()`` until the views have painted (each
frame's paint is checked with a paint-event counter on one heatmap). The
snapshots are real ones from the engine (digits preset: 64-32-10, K=128,
built once before timing and cycled), so training cost is not included: this
is what the window can draw while the worker trains on another thread.

Usage::

    QT_QPA_PLATFORM=offscreen python benchmarks/views_fps.py            # all layers, 5 kinds
    python benchmarks/views_fps.py --kinds a,delta,z,dW,W,db --frames 300
    python benchmarks/views_fps.py --all-views    # + loss, data, health, compare panels
    python benchmarks/views_fps.py --profile      # cProfile top 25
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEvent, QObject  # noqa: E402
from PySide6.QtWidgets import QApplication, QSplitter  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


class PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj, ev):  # noqa: N802 (Qt API)
        if ev.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="digits")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--kinds", default="a,delta,dW,W,db")
    ap.add_argument("--layer", type=int, default=-1, help="engine layer, -1 = all layers")
    ap.add_argument("--size", default="1600x900")
    ap.add_argument("--all-views", action="store_true")
    ap.add_argument("--presentation", action="store_true")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()

    app = QApplication.instance() or QApplication([])
    from bpviz.gui.views.demo import demo_run
    from bpviz.gui.views.matrices import MatrixPanel

    run = demo_run(args.preset, steps=40, frames=8, batch_size=args.batch)
    panel = MatrixPanel(run.ctx)
    panel.set_kinds(args.kinds.split(","))
    panel.set_layer(args.layer)
    views = [panel]
    host = panel
    if args.all_views:
        from bpviz.gui.views import ComparePanel, DataView, GradientHealthPlot, LossPlot

        host = QSplitter()
        host.addWidget(panel)
        for cls in (LossPlot, DataView, GradientHealthPlot, ComparePanel):
            w = cls(run.ctx)
            views.append(w)
            host.addWidget(w)
    w, h = (int(v) for v in args.size.split("x"))
    host.resize(w, h)
    host.show()
    if args.presentation:
        for v in views:
            v.set_presentation(True)
    app.processEvents()
    counter = PaintCounter()
    probe = panel.heatmap(*panel.shown()[0]).graphics_view().viewport()
    probe.installEventFilter(counter)

    snaps = run.snapshots

    def frame(i: int) -> None:
        snap = snaps[i % len(snaps)]
        for v in views:
            v.show_snapshot(snap)
        before = counter.count
        app.processEvents()
        if counter.count == before:  # not painted yet: flush once more
            app.processEvents()

    for i in range(20):  # warm-up
        frame(i)
    times = []
    painted0 = counter.count
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
    cpu0 = time.process_time()
    t_all = time.perf_counter()
    for i in range(args.frames):
        t0 = time.perf_counter()
        frame(i)
        times.append(time.perf_counter() - t0)
    total = time.perf_counter() - t_all
    cpu = time.process_time() - cpu0
    if args.profile:
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    painted = counter.count - painted0
    n_maps = len(panel.shown())
    print(f"{args.preset} K={args.batch}: {n_maps} heatmaps"
          f"{' + 4 views' if args.all_views else ''}, window {args.size}, "
          f"{args.frames} frames, {painted} painted")
    med, p90 = statistics.median(times), sorted(times)[int(0.9 * len(times))]
    print(f"fps {args.frames / total:.1f} (mean)   median frame {med * 1e3:.1f} ms"
          f"   p90 {p90 * 1e3:.1f} ms")
    print(f"CPU {cpu / args.frames * 1e3:.1f} ms per frame -> {args.frames / cpu:.1f} frames/s "
          "if the GUI thread had a core to itself")


if __name__ == "__main__":
    main()
