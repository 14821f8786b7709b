"""Every caption shows the step the matrices show: the status bar, the loss caption
and the data caption agree after training, after a pause and after Reset; numbers
measured at an earlier step (the test-set evaluation) say at which step."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import re  # noqa: E402

import pytest  # noqa: E402

T = 20_000


@pytest.fixture
def window(circle_window):
    return circle_window


def _steps(win) -> dict[str, int]:
    status = win.status_labels["step"].text()
    data = win.panels["data"]._header.plain_text()
    loss = win.panels["loss"]._status.plain_text()
    first = {name: re.match(r"step ([\d,]+)", text) for name, text in
             (("status", status), ("data", data), ("loss", loss))}
    return {k: int(m.group(1).replace(",", "")) for k, m in first.items() if m}


def _settled(qtbot, ctx, win) -> dict[str, int]:
    def agree() -> bool:
        win.panels["loss"].flush()
        s = ctx.latest_snapshot().step.step
        return _steps(win) == {"status": s, "data": s, "loss": s}

    qtbot.waitUntil(agree, timeout=T)
    return _steps(win)


def test_captions_agree_after_training_pause_and_reset(qtbot, window):
    ctx, win = window
    ctx.play()
    qtbot.waitUntil(lambda: ctx.latest_snapshot().step.step > 130, timeout=T)
    qtbot.waitUntil(lambda: ctx.latest_snapshot().step.step > 200, timeout=T)
    ctx.pause()
    qtbot.waitUntil(lambda: not ctx.is_playing, timeout=T)
    qtbot.wait(200)
    steps = _settled(qtbot, ctx, win)
    assert len(set(steps.values())) == 1 and steps["status"] > 130
    # an evaluation made at another step than the one shown says which step it was
    step = steps["status"]
    loss_caption = win.panels["loss"]._status.plain_text()
    if step % ctx.config.eval_every:
        last_eval = step - step % ctx.config.eval_every
        assert f"test (step {last_eval:,}): loss" in loss_caption
    assert "test acc." in win.panels["data"]._header.plain_text()
    # the epoch too, written alike (a long xor run read "epoch 26699" beside "26,699")
    assert win.status_labels["epoch"].text() in loss_caption
    loss = win.panels["loss"]
    loss._latest["epoch"] = 26_699
    loss._show_caption()
    assert "epoch 26,699" in loss._status.plain_text()
    assert win.status_labels["steps"].text() == "0 steps/s"     # paused means 0 steps/s
    ctx.reset()
    qtbot.waitUntil(lambda: ctx.latest_snapshot() is not None
                    and ctx.latest_snapshot().step.step == 0, timeout=T)
    assert set(_settled(qtbot, ctx, win).values()) == {0}


def test_captions_agree_while_training(qtbot, window):
    """At any moment of a run at full speed (a screenshot, a glance), the status bar,
    the loss caption and the data caption name one step."""
    ctx, win = window
    ctx.play()
    qtbot.waitUntil(lambda: ctx.latest_snapshot().step.step > 50, timeout=T)
    seen = []
    for _ in range(15):
        qtbot.wait(37)
        steps = _steps(win)
        assert len(steps) == 3 and len(set(steps.values())) == 1, steps
        seen.append(steps["status"])
    ctx.pause()
    assert len(set(seen)) > 3          # training went on meanwhile
