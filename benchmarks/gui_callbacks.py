"""Calls into Python that Qt makes on the GUI thread while the digits window trains.

Each such call (an event filter, a Python ``paintEvent``, ``sizeHint``, a timer's
slot) takes the GIL from the training thread. This counts them per second, by
function, with a ``sys.setprofile`` hook on the GUI thread that sees the Python
calls entered from the event loop (the window as in ``gui_fps.py``: every matrix of
every layer shown, full speed). The hook slows the GUI thread: read the counts,
not the steps/s.

Usage::

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_callbacks.py [--seconds 5] [--top 20]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
for p in (REPO, REPO / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--top", type=int, default=20)
    args = ap.parse_args()

    import gui_fps

    from bpviz.gui import app as gui_app

    counts: collections.Counter[str] = collections.Counter()
    exec_code = gui_app.AutoRun.exec.__code__
    state: dict[str, float] = {}

    def hook(frame, event, _arg):  # noqa: ANN001
        if event == "call" and frame.f_back is not None and frame.f_back.f_code is exec_code:
            co = frame.f_code
            counts[f"{co.co_qualname} ({Path(co.co_filename).name}:{co.co_firstlineno})"] += 1

    wait_first, finish = gui_app.AutoRun._wait_first_frame, gui_app.AutoRun._finish

    def first(self) -> None:
        if self.win.first_frame_at is not None and "t0" not in state:
            state["t0"] = time.perf_counter()
            sys.setprofile(hook)
        wait_first(self)

    def done(self) -> None:
        sys.setprofile(None)
        elapsed = time.perf_counter() - state["t0"]
        total = sum(counts.values()) / elapsed
        print(f"calls into Python from Qt on the GUI thread: {total:.0f} a second")
        for name, n in counts.most_common(args.top):
            print(f"{n / elapsed:8.1f}/s  {name}")
        print(json.dumps({"calls_per_s": round(total),
                          "top": {k: round(v / elapsed, 1)
                                  for k, v in counts.most_common(args.top)}}))
        finish(self)

    gui_app.AutoRun._wait_first_frame = first
    gui_app.AutoRun._finish = done
    return gui_fps.child(args.seconds, 128, None)


if __name__ == "__main__":
    raise SystemExit(main())
