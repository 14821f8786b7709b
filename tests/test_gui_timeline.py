"""The timeline through the real Controller and MainWindow: a scrubbed step shows
exactly the engine's record of that step (replayed here, independently of the
history), the marker and the status bar name it, the loss plot draws its cursor and
keeps its curves; the keys (Alt+←/→, Home, End) and Play from a past step."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bpviz.engine.backend import blas_threads  # noqa: E402
from bpviz.gui import notation as nt  # noqa: E402

T = 20_000


@pytest.fixture
def window(circle_window):
    return circle_window


def _trained(qtbot, ctx, win, steps: int = 150) -> int:
    ctx.set_speed(30.0)        # every step published: the kept steps are consecutive
    ctx.play()
    qtbot.waitUntil(lambda: ctx.latest_snapshot().step.step >= steps
                    and len(ctx.worker.history) >= 6, timeout=T)
    ctx.pause()
    qtbot.waitUntil(lambda: not ctx.is_playing, timeout=T)
    qtbot.wait(200)
    QApplication.processEvents()
    newest = ctx.latest_snapshot().step.step
    qtbot.waitUntil(lambda: win.last_snapshot.step.step == newest, timeout=T)
    return newest


def _engine_record(ctx, step: int):
    """The engine's record of ``step``: the same run replayed from its start."""
    tr = ctx._new_trainer()
    with blas_threads(1):
        for _ in range(step - 1):
            tr.train_step()
        tr.request_matrices()
        rec = tr.train_step()
    assert rec.step == step
    return rec


def _assert_panel_shows(ctx, win, rec):
    panel = win.panels["matrices"]
    shown = panel.shown()
    assert shown
    for kind, i in shown:
        M = nt.record_matrix(rec, kind, i, ctx.notation)
        M = M.reshape(1, -1) if M.ndim == 1 else M          # a vector as one row
        np.testing.assert_array_equal(panel.heatmap(kind, i).matrix(), M.astype(np.float32),
                                      err_msg=f"{kind}{i} of step {rec.step}")


def test_a_scrubbed_step_shows_exactly_the_engines_record(qtbot, window):
    ctx, win = window
    newest = _trained(qtbot, ctx, win, 60)
    history = ctx.worker.history
    steps = history.steps()
    assert steps[-1] == newest and len(steps) > 30
    target = steps[len(steps) // 3]
    loss_before = win.panels["loss"].curve_data()[0].copy()
    # through the slider, as a drag does
    win.timeline.slider.setValue(steps.index(target))
    assert win.viewing is not None and win.viewing.step.step == target
    _assert_panel_shows(ctx, win, _engine_record(ctx, target))
    assert win.timeline.marker_text() == f"viewing step {target:,} of {newest:,}"
    assert win.status_labels["step"].text() == f"step {target:,}"
    loss = win.panels["loss"]
    assert loss.cursor() == target
    np.testing.assert_array_equal(loss.curve_data()[0], loss_before)   # curves kept
    assert "viewing step" in loss.status_text()
    # the newest again: the panel shows the newest record, the cursor goes
    win.show_newest_step()
    assert win.viewing is None and loss.cursor() is None
    _assert_panel_shows(ctx, win, ctx.latest_snapshot().step)
    assert "viewing" not in win.timeline.marker_text()


def _key(win, key, mods=Qt.KeyboardModifier.NoModifier):
    win.activateWindow()
    QTest.keyClick(QApplication.focusWidget() or win, key, mods)
    QApplication.processEvents()


def test_keys_step_through_the_kept_steps(qtbot, window):
    ctx, win = window
    newest = _trained(qtbot, ctx, win, 60)
    steps = ctx.worker.history.steps()
    alt = Qt.KeyboardModifier.AltModifier
    _key(win, Qt.Key.Key_Left, alt)
    assert win.viewing is not None and win.viewing.step.step == steps[-2]
    _key(win, Qt.Key.Key_Left, alt)
    assert win.viewing.step.step == steps[-3]
    _key(win, Qt.Key.Key_Right, alt)
    assert win.viewing.step.step == steps[-2]
    _assert_panel_shows(ctx, win, ctx.worker.history.get(steps[-2]).snap.step)
    _key(win, Qt.Key.Key_Home)
    assert win.viewing.step.step == steps[0]
    assert win.timeline.marker_text().startswith(f"viewing step {steps[0]:,} of")
    _key(win, Qt.Key.Key_End)
    assert win.viewing is None
    assert ctx.latest_snapshot().step.step == newest      # the keys trained nothing
    # Alt+→ at the last kept step goes back to the newest
    _key(win, Qt.Key.Key_Left, alt)
    _key(win, Qt.Key.Key_Right, alt)
    assert win.viewing is None


def test_scrubbing_pauses_and_play_goes_on_from_the_newest(qtbot, window):
    ctx, win = window
    ctx.set_speed(100.0)
    ctx.play()
    qtbot.waitUntil(lambda: len(ctx.worker.history) > 20, timeout=T)
    kept = ctx.worker.history.steps()[5]
    assert win.show_recorded_step(kept)
    assert not ctx.is_playing and win.viewing.step.step == kept
    qtbot.wait(300)                       # a step still in flight does not leave the view
    QApplication.processEvents()
    assert win.viewing is not None and win.viewing.step.step == kept
    ctx.play()
    assert win.viewing is None
    assert "Play goes on from step" in win.statusBar().currentMessage()
    ctx.pause()
    # Reset: the history starts again
    ctx.reset()
    qtbot.waitUntil(lambda: ctx.latest_snapshot().step.step == 0, timeout=T)
    assert ctx.worker.history.steps() == [0]


def test_presentation_on_a_short_window_hides_the_timeline_row_until_it_is_used(qtbot, window):
    ctx, win = window
    _trained(qtbot, ctx, win, 30)
    win.resize(1024, 768)
    win.set_presentation(True)
    try:
        QApplication.processEvents()
        assert win.timeline_bar.isHidden()             # its height goes to the panels
        kept = ctx.worker.history.steps()[3]
        assert win.show_recorded_step(kept)            # Alt+←, Home: the row is back
        assert not win.timeline_bar.isHidden()
        win.show_newest_step()
        assert win.timeline_bar.isHidden()
    finally:
        win.set_presentation(False)
    assert not win.timeline_bar.isHidden()             # normal mode: always there
