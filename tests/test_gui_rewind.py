"""Continue from a kept step through the real Controller, worker and MainWindow: Play
while the timeline shows a past step asks, and "continue" puts the run back exactly
(the weights and the following losses are bitwise those of the uninterrupted run),
drops the later steps from the curves and the timeline, and is undoable."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bpviz.engine.backend import blas_threads  # noqa: E402
from bpviz.gui.document import DocumentMixin  # noqa: E402

T = 20_000


def _train_to(qtbot, ctx, win, steps: int, kept: int = 12) -> int:
    """Train at 200 steps/s to at least ``steps``, with at least ``kept`` steps on the
    timeline (a loaded machine keeps fewer frames per step: the count, not the time)."""
    ctx.set_speed(200.0)
    ctx.play()
    qtbot.waitUntil(lambda: ctx.latest_snapshot().step.step >= steps
                    and len(ctx.worker.history) >= kept, timeout=T)
    ctx.pause()
    qtbot.waitUntil(lambda: not ctx.is_playing, timeout=T)
    qtbot.wait(200)
    QApplication.processEvents()
    return ctx.call_on_trainer(lambda tr: tr.step)


def _straight(ctx, steps: int):
    """The same run, uninterrupted, trained here: (weights after ``steps``, losses)."""
    tr = ctx._new_trainer()
    with blas_threads(1):
        losses = [tr.train_step().loss for _ in range(steps)]
    return tr.net.get_weights(), losses


def _weights(ctx):
    return ctx.call_on_trainer(lambda tr: tr.net.get_weights())


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_continue_from_a_kept_step_repeats_the_run_bitwise(qtbot, circle_window, monkeypatch,
                                                           optimizer):
    ctx, win = circle_window
    if optimizer != ctx.config.optimizer:
        assert ctx.update_config(optimizer=optimizer, lr=0.01)
        qtbot.wait(100)
    newest = _train_to(qtbot, ctx, win, 120)
    steps = ctx.worker.history.steps()
    target = next(s for s in steps if 40 < s < newest - 20 and s % 10 != 0)
    assert win.show_recorded_step(target)
    asked = []
    monkeypatch.setattr(DocumentMixin, "ask_continue",
                        lambda self, step, new: asked.append((step, new)) or "continue")
    ctx.set_speed(None)
    shown = ctx.latest_snapshot().step.step    # the newest step the views had
    assert target < shown <= newest
    win.toggle_play()                          # Space / the Play button
    assert asked == [(target, shown)]
    # the run is back at ``target`` and plays on: stop it a little later
    qtbot.waitUntil(lambda: ctx.is_playing, timeout=T)
    ctx.pause()
    qtbot.waitUntil(lambda: not ctx.is_playing, timeout=T)
    reached = ctx.call_on_trainer(lambda tr: tr.step)
    assert reached >= target
    weights, losses = _straight(ctx, reached)
    now = _weights(ctx)
    for k in weights:
        assert np.array_equal(now[k], weights[k]), k       # bitwise
    # the curves hold the original steps up to ``target`` and the new ones after it
    qtbot.waitUntil(lambda: win.last_snapshot is not None, timeout=T)
    records = ctx.call_on_trainer(lambda tr: ctx.worker.session_history())
    order = [r.step for r in records]
    assert order == sorted(set(order))         # no step twice: the run went on from target
    by_step = {r.step: r.loss for r in records}
    for s, loss in by_step.items():
        assert loss == losses[s - 1], s
    assert all(s <= reached for s in ctx.worker.history.steps())
    assert "Continuing from step" in win.statusBar().currentMessage() or \
        ctx.undo_stack.undoText().startswith("continue from step")


def test_continue_is_undoable_and_brings_back_the_newest(qtbot, circle_window, monkeypatch):
    ctx, win = circle_window
    newest = _train_to(qtbot, ctx, win, 100)
    at_newest = _weights(ctx)
    target = ctx.worker.history.steps()[10]
    monkeypatch.setattr(DocumentMixin, "ask_continue", lambda self, step, new: "continue")
    assert ctx.continue_from(target, play=False)
    qtbot.waitUntil(lambda: ctx.undo_stack.undoText() == f"continue from step {target:,}",
                    timeout=T)
    assert ctx.call_on_trainer(lambda tr: tr.step) == target
    qtbot.waitUntil(lambda: win.last_snapshot.step.step == target, timeout=T)
    assert win.panels["loss"].curve_data()[0].max() <= target
    ctx.undo_stack.undo()
    qtbot.waitUntil(lambda: ctx.call_on_trainer(lambda tr: tr.step) == newest, timeout=T)
    back = _weights(ctx)
    for k in at_newest:
        assert np.array_equal(back[k], at_newest[k]), k

    def curve_back() -> bool:
        x = win.panels["loss"].curve_data()[0]
        return int((x > target).sum()) >= (newest - target) // 2   # the discarded steps

    qtbot.waitUntil(curve_back, timeout=T)


def test_a_step_that_cannot_be_reached_exactly_is_refused_with_nothing_changed(
        qtbot, circle_window):
    ctx, win = circle_window
    _train_to(qtbot, ctx, win, 60)
    steps = ctx.worker.history.steps()
    ctx.worker.checkpoints.clear()             # e.g. thinned away by a small budget
    before = _weights(ctx)
    assert not ctx.continue_from(steps[5], play=False)
    assert "cannot be restored exactly" in ctx.last_error
    after = _weights(ctx)
    for k in before:
        assert np.array_equal(before[k], after[k])
    assert ctx.worker.history.steps() == steps


def test_an_edit_outside_training_is_a_barrier_for_replays(qtbot, circle_window):
    ctx, win = circle_window
    changed_at = _train_to(qtbot, ctx, win, 40)
    assert ctx.update_config(lr=0.05)          # new settings at this step: a barrier
    qtbot.wait(100)
    _train_to(qtbot, ctx, win, changed_at + 30)
    # a checkpoint was taken right after the change, before training on: replays to
    # the steps after it start there, with the new settings
    cp, n = ctx.worker.checkpoints.plan(changed_at)
    assert cp.step == changed_at and n == 0
    assert cp.state["config"]["lr"] == 0.05
