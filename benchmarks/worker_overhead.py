"""What the training worker costs beyond the engine's step, with no window (digits, K=128).

Three figures, in one process:

- ``step_overhead_us``: the worker's bookkeeping per step (``TrainingWorker._train_one``
  with ``Trainer.train_step`` replaced by a fixed record: the yield test, the rate
  counter, the record kept for the curves and the session, moved as a frame moves them
  every 330 steps), in microseconds;
- ``thread_steps_per_s``: the worker thread training at full speed and publishing 30
  snapshots a second to a consumer that takes each (no window, no drawing);
- ``loop_steps_per_s``: ``Trainer.train_step`` in a plain loop, the same trainer.

Usage::

    QT_QPA_PLATFORM=offscreen python benchmarks/worker_overhead.py [--seconds 1.5] [--rounds 5]

Not a test: the figures depend on the machine. Medians of ``--rounds``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.5, help="per round")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    from PySide6.QtWidgets import QApplication

    from bpviz.engine.backend import blas_threads
    from bpviz.gui.controller import Controller

    app = QApplication.instance() or QApplication([])
    ctx = Controller("digits", start=False)
    worker = ctx.worker
    config = dataclasses.replace(ctx.config, batch_size=128)

    # 1. the bookkeeping of one step, the step itself replaced by a fixed record
    tr = ctx._new_trainer(config=config)
    rec = dataclasses.replace(tr.train_step(), backprop=None, weights=None, batch_index=None)
    tr.train_step = lambda: rec
    worker._trainer, worker._playing, worker._period = tr, True, math.inf
    overhead = []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        for _ in range(150):            # 150 frames of 330 steps
            for _ in range(330):
                worker._train_one(False)
            worker._flush_pending()     # what a publish does with the frame's records
            worker._history.move_to(worker._session)
        overhead.append((time.perf_counter() - t0) / (150 * 330) * 1e6)

    # 2. the worker thread at full speed, 30 snapshots a second taken by this thread
    tr = ctx._new_trainer(config=config)
    worker._trainer, worker._playing, worker._period = tr, False, 1 / 30
    worker.start()
    worker.set_playing(True)
    time.sleep(0.5)
    thread = []
    for _ in range(args.rounds):
        n0, t0 = worker.total_steps, time.perf_counter()
        while time.perf_counter() - t0 < args.seconds:
            time.sleep(1 / 30)
            worker.take_snapshot()
        thread.append((worker.total_steps - n0) / (time.perf_counter() - t0))
    worker.set_playing(False)
    worker.stop()
    worker.wait()

    # 3. the engine's step alone, in a plain loop
    loop = []
    with blas_threads(1):
        for _ in range(args.rounds):
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < args.seconds:
                tr.train_step()
                n += 1
            loop.append(n / (time.perf_counter() - t0))

    out = {"step_overhead_us": round(statistics.median(overhead), 2),
           "thread_steps_per_s": round(statistics.median(thread)),
           "loop_steps_per_s": round(statistics.median(loop))}
    out["thread_over_loop"] = round(out["thread_steps_per_s"] / out["loop_steps_per_s"], 3)
    print(f"worker bookkeeping per step: {out['step_overhead_us']:.2f} µs")
    print(f"worker thread, no window:    {out['thread_steps_per_s']} steps/s")
    print(f"train_step in a loop:        {out['loop_steps_per_s']} steps/s "
          f"({out['thread_over_loop']:.3f}x)")
    print(json.dumps(out))
    ctx.shutdown()
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
