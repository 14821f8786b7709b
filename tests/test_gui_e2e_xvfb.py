"""End to end in a real X window: ``bpviz gui --run-for 3 --screenshot`` under Xvfb.

Skipped when ``Xvfb`` is not installed (``.ci/run`` installs Debian's xvfb and
the xcb libraries). The app runs in a subprocess with ``QT_QPA_PLATFORM=xcb``,
so this exercises the real platform plugin, window manager-free.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.xvfb

REPO = Path(__file__).resolve().parents[1]


def free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    pytest.skip("no free X display number")


@pytest.fixture
def xvfb():
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    n = free_display()
    proc = subprocess.Popen([exe, f":{n}", "-screen", "0", "1920x1200x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{n}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            err = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
            pytest.skip(f"Xvfb did not start: {err}")
        time.sleep(0.05)
    yield f":{n}"
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def distinct_colours(path: Path) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QImage

    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB32)
    h, w = img.height(), img.width()
    arr = np.frombuffer(img.constBits(), dtype=np.uint32, count=img.bytesPerLine() * h // 4)
    return len(np.unique(arr.reshape(h, -1)[:, :w][::3, ::3]))


def test_digits_window_under_xvfb(xvfb, tmp_path):
    png = tmp_path / "out.png"
    env = dict(os.environ, DISPLAY=xvfb, QT_QPA_PLATFORM="xcb")
    env.pop("WAYLAND_DISPLAY", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "bpviz", "gui", "--preset", "digits", "--run-for", "3",
           "--screenshot", str(png), "--stats"]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180,
                         cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    lines = [s for s in res.stdout.splitlines() if s.startswith("{")]
    assert len(lines) == 1, res.stdout
    stats = json.loads(lines[0])
    assert set(stats) >= {"steps_per_s", "fps", "first_frame_s", "peak_rss_mb"}
    assert stats["steps_per_s"] > 0 and stats["fps"] > 0
    assert "Destroyed while thread" not in res.stderr
    assert png.is_file()
    assert distinct_colours(png) > 100  # heatmaps, digits, curves: not a blank window
