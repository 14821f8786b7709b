"""What keeps a frame cheap, as behaviour: a caption whose number changes every frame
repaints itself alone, and the timeline follows training a few times a second (its
last state always comes)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QEvent, QObject  # noqa: E402
from PySide6.QtGui import QPalette  # noqa: E402
from PySide6.QtWidgets import QVBoxLayout, QWidget  # noqa: E402
from test_history import _snap  # noqa: E402

from bpviz.gui.history import History  # noqa: E402
from bpviz.gui.timeline import FOLLOW_S, Timeline  # noqa: E402
from bpviz.gui.views.fitlabel import FitLabel  # noqa: E402
from bpviz.gui.widgets import StatusField  # noqa: E402


class _Paints(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Paint:
            self.n += 1
        return False


@pytest.mark.parametrize("kind", ["fitlabel", "statusfield"])
def test_a_changing_caption_repaints_itself_alone(qtbot, kind):
    parent = QWidget()
    qtbot.addWidget(parent)
    label = FitLabel(parent, 11, text="step 1") if kind == "fitlabel" \
        else StatusField("step 9,999,999")
    QVBoxLayout(parent).addWidget(label)
    parent.resize(300, 60)
    parent.show()
    qtbot.waitExposed(parent)
    qtbot.wait(50)
    own, behind = _Paints(), _Paints()
    label.installEventFilter(own)
    parent.installEventFilter(behind)
    for k in range(2, 12):
        (label.set_text if kind == "fitlabel" else label.setText)(f"step {k:,}")
        label.repaint()
    qtbot.wait(50)
    assert own.n >= 10 and behind.n == 0
    # it paints its own background: the parent's colour, not garbage
    img = label.grab().toImage()
    bg = label.palette().color(QPalette.ColorRole.Window)
    assert img.pixelColor(1, 1) == bg and img.pixelColor(img.width() - 2, 1) == bg


def test_timeline_follows_training_a_few_times_a_second(qtbot):
    h = History(1 << 30, recent=1000)
    tl = Timeline(h)
    qtbot.addWidget(tl)
    tl.show()
    ranges = []
    tl.slider.rangeChanged.connect(lambda lo, hi: ranges.append(hi))
    for step in range(1, 41):          # 40 frames in a burst, a step kept on each
        h.add(_snap(step))
        tl.follow(step)
    assert len(ranges) <= 2            # not once per frame
    qtbot.waitUntil(lambda: tl.slider.maximum() == 39, timeout=int(10_000 * FOLLOW_S))
    assert "40 steps kept" in tl.marker_text()


def test_live_backprop_time_is_written_a_few_times_a_second(qtbot):
    """The loop-vs-vectorized panel's live median (of the last 30 steps) changes at most
    a few times a second, however many frames come; the newest always comes last."""
    import dataclasses

    from bpviz.gui.views.compare import LIVE_S, ComparePanel
    from bpviz.gui.views.demo import DemoContext, demo_run

    digits = demo_run("digits", steps=4, frames=1, compare=True)

    cp = ComparePanel(DemoContext())
    qtbot.addWidget(cp)
    writes = []
    orig = cp._live.set_text
    cp._live.set_text = lambda *a, **k: (writes.append(a[0]), orig(*a, **k))
    base = digits.snapshots[-1]
    for k in range(1, 31):             # 30 frames in a burst, K changing each time
        step = dataclasses.replace(base.step, step=base.step.step + k, batch_size=k)
        cp.show_snapshot(dataclasses.replace(base, step=step, history=()))
    assert 1 <= len(writes) <= 2
    qtbot.waitUntil(lambda: "(K = 30)" in cp.texts()["live"], timeout=int(10_000 * LIVE_S))


def test_a_caption_measured_from_its_kept_metrics_fits_as_a_full_fit_would(qtbot):
    """FitLabel measures a new text at its full size with metrics it keeps per size (a
    caption changes every frame); every text, in any order, ends as a fresh label of the
    same width fits it: size, shown text, cut or whole, tooltip."""
    texts = ["step 1", "step 12,345 · loss 0.1234 · accuracy 98.2 % · test 97.9 %", "step 2",
             "a much longer caption that cannot fit in this narrow label at all, not even small",
             "step 3", "x"]
    label = FitLabel(None, 12, text="step 0")
    qtbot.addWidget(label)
    label.resize(180, label.height())
    label.show()
    for bold in (False, True, False):
        label.set_point_size(12, bold=bold)
        for t in texts:
            shorter = (t[:12], "…") if len(t) > 20 else ()
            label.set_text(t, shorter=shorter)
            fresh = FitLabel(None, 12, bold=bold)
            fresh.set_text(t, shorter=shorter)
            qtbot.addWidget(fresh)
            fresh.resize(180, fresh.height())
            fresh.show()
            assert (label.point_size(), label.font().bold(), label.text(), label.is_elided(),
                    label.toolTip()) == (fresh.point_size(), fresh.font().bold(), fresh.text(),
                                         fresh.is_elided(), fresh.toolTip()), (bold, t)
