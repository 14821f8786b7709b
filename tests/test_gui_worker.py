"""The training worker thread: latest-only publishing, jobs, pause/stop, clean shutdown.

No wall-clock assertions: rates are checked only as upper bounds the worker
cannot exceed (it cannot publish faster than its limit), never as speeds.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QObject, Signal  # noqa: E402

from bpviz.engine import Network, NetworkSpec  # noqa: E402
from bpviz.engine.datasets import make_dataset  # noqa: E402
from bpviz.engine.trainer import TrainConfig, Trainer  # noqa: E402
from bpviz.gui.worker import Job, TrainingWorker  # noqa: E402


def small_trainer(batch: int = 16, lr: float = 0.3, seed: int = 0) -> Trainer:
    ds = make_dataset("circle", n_samples=200, noise=0.1, seed=seed)
    spec = NetworkSpec(2, ({"units": 6, "activation": "tanh"},
                           {"units": 1, "activation": "sigmoid"}), "binary_cross_entropy")
    return Trainer(Network(spec, seed=seed), ds, TrainConfig(batch_size=batch, lr=lr))


@pytest.fixture
def worker(qtbot):
    w = TrainingWorker(small_trainer())
    w.start()
    yield w
    w.stop()
    w.quit()
    assert w.wait(10_000)


def test_pyside_signal_emits_10000_times(qtbot):
    """Regression for PySide6 6.12.0 (bool_dealloc crash after ~560 emits of a bool)."""

    class Emitter(QObject):
        changed = Signal(bool)

    got = []
    e = Emitter()
    e.changed.connect(got.append)
    for i in range(10_000):
        e.changed.emit(i % 2 == 0)
    assert len(got) == 10_000
    assert got[:4] == [True, False, True, False]


def test_step_when_paused_publishes_one_snapshot(qtbot, worker):
    with qtbot.waitSignal(worker.snapshotReady, timeout=10_000):
        worker.request_step()
    snap = worker.take_snapshot()
    assert snap.step.step == 1
    assert snap.step.backprop is not None and snap.step.weights is not None
    assert [r.step for r in snap.history] == [1]
    K = worker.trainer.batch_size
    assert snap.step.backprop.layers[0].a_prev.shape == (K, 2)
    assert snap.boundary is not None and snap.boundary.shape[:2] == (100, 100)
    assert snap.test_output.shape == (len(worker.trainer.data.X_test), 1)


def test_latest_only_publishing_keeps_every_record(qtbot, worker):
    """Not taking snapshots: one signal only, and no history is lost when taken."""
    signals = []
    worker.snapshotReady.connect(lambda: signals.append(1))
    worker.take_snapshot()  # clear the slot (the preview is not a training step)
    worker.set_playing(True)
    qtbot.waitUntil(lambda: worker.total_steps >= 300, timeout=20_000)
    worker.set_playing(False)
    qtbot.wait(50)
    assert len(signals) == 1  # the GUI never took it: no queue of signals
    snap = worker.take_snapshot()
    steps = [r.step for r in snap.history]
    assert steps == list(range(1, snap.step.step + 1))  # every record, in order
    qtbot.wait(50)
    assert worker.peek_snapshot() is snap


def test_publish_rate_is_bounded(qtbot, worker):
    """At most ~30 snapshots a second even at full speed (an upper bound, not a speed)."""
    count = [0]

    def take():
        worker.take_snapshot()
        count[0] += 1

    worker.snapshotReady.connect(take)
    t0 = time.perf_counter()
    worker.set_playing(True)
    qtbot.wait(1000)
    worker.set_playing(False)
    elapsed = time.perf_counter() - t0
    assert count[0] <= 30 * elapsed + 3


def test_speed_limit_caps_steps(qtbot, worker):
    worker.set_rate(5)
    n0 = worker.total_steps
    t0 = time.perf_counter()
    worker.set_playing(True)
    qtbot.wait(600)
    worker.set_playing(False)
    qtbot.wait(50)
    elapsed = time.perf_counter() - t0
    assert worker.total_steps - n0 <= 5 * elapsed + 2


def test_jobs_run_while_paused_and_errors_are_reported(qtbot, worker):
    results, errors = [], []
    worker.submit(Job(lambda tr: tr.step + 41, results.append, errors.append))
    worker.submit(Job(lambda tr: 1 / 0, results.append, errors.append))
    qtbot.waitUntil(lambda: len(results) + len(errors) == 2, timeout=5000)
    assert results == [41]
    assert "ZeroDivisionError" in errors[0]
    assert worker.isRunning()  # a failing job does not end the thread


def test_call_returns_value_and_reraises(qtbot, worker):
    assert worker.call(lambda tr: tr.batch_size) == 16
    with pytest.raises(ValueError, match="boom"):
        worker.call(lambda tr: (_ for _ in ()).throw(ValueError("boom")))


def test_jobs_run_between_steps_while_playing(qtbot, worker):
    seen = []
    worker.set_playing(True)
    for _ in range(20):
        worker.submit(Job(lambda tr: tr.step, seen.append))
        qtbot.wait(5)
    qtbot.waitUntil(lambda: len(seen) == 20, timeout=10_000)
    worker.set_playing(False)
    assert seen == sorted(seen)


def test_full_speed_pauses_and_its_steps_per_s_say_so(qtbot, worker):
    """Playing at full speed takes the lock-free path of the loop: a pause still stops
    it at once, steps/s is a positive figure while it plays and 0 for a step taken
    by hand while paused."""
    worker.set_playing(True)
    qtbot.waitUntil(lambda: worker.steps_per_s > 0, timeout=10_000)
    worker.set_playing(False)
    n = worker.call(lambda tr: tr.step)      # a job: runs after the pause took effect
    time.sleep(0.05)
    assert worker.call(lambda tr: tr.step) == n   # no step after the pause
    worker.take_snapshot()   # as the window does: the next one is signalled
    with qtbot.waitSignal(worker.snapshotReady, timeout=10_000):
        worker.request_step()
    assert worker.steps_per_s == 0.0
    assert worker.take_snapshot().extra["steps_per_s"] == 0.0


def test_a_pause_publishes_the_step_training_stopped_at(qtbot, worker):
    """At full speed most steps are not published; pausing publishes the last one (a
    step more, with its matrices), so the views show what the trainer holds."""
    for _ in range(3):
        n0 = worker.total_steps
        worker.set_playing(True)
        qtbot.waitUntil(lambda n0=n0: worker.total_steps > n0 + 200, timeout=10_000)
        worker.set_playing(False)
        step = worker.call(lambda tr: tr.step)     # runs after the pause's own step
        snap = worker.take_snapshot()
        assert snap.step.step == step and snap.step.backprop is not None
        assert worker.call(lambda tr: tr.step) == step   # and nothing after it


def test_step_while_playing_pauses_and_shows_one_step(qtbot, worker):
    """Step pressed at full speed: training pauses and the one step taken then is
    shown, with no step of the pause's own before it."""
    worker.set_playing(True)
    qtbot.waitUntil(lambda: worker.total_steps > 200, timeout=10_000)
    published = []
    worker.snapshotReady.connect(lambda: published.append(worker.take_snapshot()))
    worker.take_snapshot()
    worker.set_playing(False, then_step=True)
    assert not worker.playing
    qtbot.waitUntil(lambda: bool(published) and published[-1].step.step
                    == worker.call(lambda tr: tr.step), timeout=10_000)
    step = published[-1].step.step
    time.sleep(0.05)
    assert worker.call(lambda tr: tr.step) == step      # one step, shown, and no other
    assert published[-1].step.step == step


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_pauses_and_keeps_finite_weights(qtbot):
    ds = make_dataset("reg_gauss", n_samples=200, seed=0)
    spec = NetworkSpec(2, ({"units": 8, "activation": "relu"},
                           {"units": 1, "activation": "identity"}), "squared_error")
    tr = Trainer(Network(spec, seed=0), ds, TrainConfig(batch_size=32, lr=900.0))
    w = TrainingWorker(tr)
    w.start()
    try:
        with qtbot.waitSignal(w.diverged, timeout=20_000) as blocker:
            w.set_playing(True)
        assert not np.isfinite(blocker.args[1])
        qtbot.waitUntil(lambda: not w.playing, timeout=5000)
        weights = w.call(lambda t: t.net.get_weights())
        assert all(np.all(np.isfinite(v)) for v in weights.values())
    finally:
        w.stop()
        w.quit()
        assert w.wait(10_000)


def test_stop_while_playing_ends_the_thread(qtbot):
    w = TrainingWorker(small_trainer())
    w.start()
    w.set_playing(True)
    qtbot.waitUntil(lambda: w.total_steps > 10, timeout=10_000)
    w.stop()
    w.quit()
    assert w.wait(10_000)
    assert not w.isRunning()


def _os_threads() -> int | None:
    """Threads of this process as the OS counts them, QThreads included; None where unknown.

    ``threading.enumerate()`` cannot see a QThread (one that never ran Python
    code is not listed at all), so the count comes from the system: Linux lists
    each thread under ``/proc/self/task``.
    """
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def test_200_rapid_start_stop_cycles(qtbot):
    w = TrainingWorker(small_trainer())  # one cycle first: BLAS and Qt start their own threads
    w.start()
    w.request_step()
    qtbot.waitUntil(lambda: w.total_steps == 1, timeout=10_000)
    w.stop()
    w.quit()
    assert w.wait(10_000)
    base = _os_threads()
    workers = []
    for i in range(200):
        w = TrainingWorker(small_trainer())
        w.start()
        w.set_playing(True)
        if i % 3 == 0:
            w.request_step()
        if i % 5 == 0:
            qtbot.wait(1)
        w.set_playing(False)
        w.stop()
        w.quit()
        assert w.wait(10_000)
        workers.append(w)
    assert not any(w.isRunning() for w in workers)
    assert all(w.isFinished() for w in workers)
    if base is not None:  # no thread outlives its worker (a leak of one per cycle is 200)
        assert _os_threads() <= base + 2


def test_loop_vs_vectorized_is_timed_only_while_its_panel_is_shown(qtbot, circle_window):
    """The worker spends up to 1 % of its time timing the loop against the matrix
    form for the "Loop vs vectorized" panel: not while that panel is hidden."""
    ctx, win = circle_window
    win.raise_view("compare")
    ctx.play()
    try:
        qtbot.waitUntil(lambda: win.frames > 3 and ctx.worker.compare_enabled, timeout=10_000)
        win.docks["compare"].hide()
        frames = win.frames
        qtbot.waitUntil(lambda: win.frames > frames + 2, timeout=10_000)
        assert not ctx.worker.compare_enabled
    finally:
        ctx.pause()
