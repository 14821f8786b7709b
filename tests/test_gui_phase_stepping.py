"""Phase stepping in the real window: the toolbar's Step (and the Right key) walk
one mini-batch phase by phase on the real Controller and training thread, the
update equals one ordinary step bit for bit, and every view then shows the batch
that was stepped.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import copy  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from bpviz.engine.phases import phase_plan  # noqa: E402
from bpviz.engine.trainer import Trainer  # noqa: E402

T = 20_000


@pytest.fixture
def window(circle_window):
    return circle_window


def _twin(tr: Trainer) -> tuple[Trainer, dict]:
    """An independent trainer in the same state (weights, optimizer, batch order)."""
    twin = Trainer(tr.net.copy(), tr.data, tr.config)
    twin.load_state_dict(copy.deepcopy(tr.state_dict()))
    return twin, tr.net.get_weights()


def test_toolbar_step_walks_every_phase_and_publishes_the_stepped_batch(qtbot, window):
    ctx, win = window
    eq = win.panels["equations"]
    phases = eq.phases
    qtbot.waitUntil(lambda: ctx.latest_snapshot() is not None, timeout=T)
    eq.set_phase_mode(True)
    twin, before = ctx.call_on_trainer(_twin)
    twin.request_matrices()
    expected = twin.train_step()                  # one ordinary step on the same batch
    plan = list(phase_plan(ctx.spec))

    seen = []
    for n in range(len(plan)):
        if n == 1:                                # the Right key is the toolbar's Step
            win.activateWindow()
            QTest.keyClick(win, Qt.Key.Key_Right)
        else:
            assert win.actions_.step.isEnabled()
            win.actions_.step.trigger()
        qtbot.waitUntil(lambda n=n: phases.last is not None and phases.last.index == n
                        and not phases._busy, timeout=T)
        seen.append((phases.last.kind, phases.last.layer))
        if n < len(plan) - 1:                     # nothing trained before the update
            assert ctx.call_on_trainer(lambda tr: tr.step) == 0
    assert seen == plan

    # the update is one ordinary step, bit for bit
    after = ctx.call_on_trainer(lambda tr: tr.net.get_weights())
    for k, W in twin.net.get_weights().items():
        np.testing.assert_array_equal(after[k], W, err_msg=k)
        assert not np.array_equal(after[k], before[k]) or not W.any()
    done = phases.last.step_record
    assert done.loss == expected.loss and done.step == expected.step == 1

    # every other view receives that batch: the snapshot, the loss curve, the status bar
    snap = qtbot.waitUntil(lambda: ctx.latest_snapshot().step.step == 1, timeout=T) or \
        ctx.latest_snapshot()
    np.testing.assert_array_equal(snap.step.batch_index, expected.batch_index)
    assert snap.step.batch_index.tolist() != list(range(len(expected.batch_index)))
    np.testing.assert_array_equal(snap.step.backprop.layers[0].dW,
                                  expected.backprop.layers[0].dW)
    assert any(r.step == 1 and r.loss == expected.loss for r in snap.history)
    matrices = win.panels["matrices"]
    qtbot.waitUntil(lambda: matrices.heatmap("delta", 0) is not None
                    and matrices.heatmap("delta", 0).matrix().shape
                    == expected.backprop.layers[0].delta.shape, timeout=T)
    qtbot.waitUntil(lambda: win.status_labels["step"].text() == "step 1", timeout=T)

    # Step again: the next batch starts at its first phase; leaving the mode gives
    # Step back to whole mini-batches
    win.actions_.step.trigger()
    qtbot.waitUntil(lambda: phases.last.index == 0 and phases.last.step == 1, timeout=T)
    eq.set_phase_mode(False)
    win.actions_.step.trigger()
    qtbot.waitUntil(lambda: ctx.latest_snapshot().step.step == 2, timeout=T)


def test_finish_batch_publishes_the_real_record(qtbot, window):
    ctx, win = window
    eq = win.panels["equations"]
    qtbot.waitUntil(lambda: ctx.latest_snapshot() is not None, timeout=T)
    eq.set_phase_mode(True)
    twin, _ = ctx.call_on_trainer(_twin)
    twin.request_matrices()
    expected = twin.train_step()
    win.actions_.step.trigger()                   # one phase, then the rest at once
    qtbot.waitUntil(lambda: eq.phases.last is not None and not eq.phases._busy, timeout=T)
    eq.phases.finish_batch()
    qtbot.waitUntil(lambda: ctx.latest_snapshot().step.step == 1, timeout=T)
    snap = ctx.latest_snapshot()
    assert snap.step.loss == expected.loss
    np.testing.assert_array_equal(snap.step.batch_index, expected.batch_index)
    for k, W in expected.weights.items():
        np.testing.assert_array_equal(snap.step.weights[k], W, err_msg=k)
