"""The timeline's history on and off (issue 12): peak RSS, frames/s and steps/s.

Runs ``bpviz gui --preset digits --run-for SECONDS --stats`` with the history off
(``--history-mb 0``) and on (``--history-mb 256``, the default budget), interleaved
(off, on, off, on, ...) so both see the same machine, and prints one line per run
and a summary: the peak RSS with history on should stay within the budget (plus a
quarter of it for checkpoints) above the run without history, and frames/s and
steps/s within 10 % of it.

Usage::

    QT_QPA_PLATFORM=offscreen python benchmarks/history_rss.py [--seconds 300] [--runs 1]

Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def one(seconds: float, history_mb: int, preset: str) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-m", "bpviz", "gui", "--preset", preset,
                          "--run-for", str(seconds), "--stats", "--history-mb",
                          str(history_mb)], capture_output=True, text=True, env=env,
                         timeout=seconds + 300, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("{"))
    return json.loads(line)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=300.0)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--budget-mb", type=int, default=256)
    p.add_argument("--preset", default="digits")
    a = p.parse_args()
    res: dict[int, list[dict]] = {0: [], a.budget_mb: []}
    for r in range(a.runs):
        for mb in (0, a.budget_mb):
            s = one(a.seconds, mb, a.preset)
            res[mb].append(s)
            print(f"run {r + 1} history {mb:>4} MB: peak RSS {s['peak_rss_mb']:7.1f} MB, "
                  f"kept {s['history_mb']:6.1f} MB, {s['fps']:5.1f} frames/s, "
                  f"{s['steps_per_s']:9.1f} steps/s", flush=True)
    off, on = res[0], res[a.budget_mb]
    med = lambda runs, k: statistics.median(x[k] for x in runs)  # noqa: E731
    summary = {
        "seconds": a.seconds, "preset": a.preset, "budget_mb": a.budget_mb,
        "rss_off_mb": med(off, "peak_rss_mb"), "rss_on_mb": med(on, "peak_rss_mb"),
        "kept_on_mb": med(on, "history_mb"),
        "fps_ratio_on_off": round(med(on, "fps") / med(off, "fps"), 3),
        "steps_ratio_on_off": round(med(on, "steps_per_s") / med(off, "steps_per_s"), 3),
    }
    summary["rss_extra_mb"] = round(summary["rss_on_mb"] - summary["rss_off_mb"], 1)
    summary["within_budget"] = summary["rss_extra_mb"] <= a.budget_mb * 1.25
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
