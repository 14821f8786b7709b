"""The training worker: a QThread that iterates the engine's trainer.

Everything that touches the trainer or the network runs on this thread: the
mini-batch steps, the jobs that panels send through
``Controller.run_on_trainer`` (between steps, also while paused), and the
building of each :class:`~bpviz.gui.snapshot.Snapshot`. The GUI thread never
blocks on it except in :meth:`TrainingWorker.call` (a short, bounded wait).

Publishing is latest-only: the worker keeps one slot guarded by
a mutex and emits the payload-free :attr:`snapshotReady` only when the GUI has
taken the previous snapshot, so a slow GUI never builds a queue. Arrays are
copied only when a snapshot is built, at most ``max_fps`` times a second.

Memory is bounded in bytes: only the published step keeps its matrices; the
records between snapshots (``_history``, and the history of a snapshot the GUI
skipped, merged into the next) are kept without them in a
:class:`~bpviz.gui.snapshot.RecordBuffer`. Matrices larger than the window's
heatmaps (:attr:`TrainingWorker.view_budget`) are also sent pooled, only for the
heatmaps on screen; the test-set output is recomputed only as often as its cost
allows (:class:`~bpviz.gui.snapshot_build.ThrottledTestOutput`).
Every published snapshot (never the steps between two frames) is also kept, as
it is, in :attr:`TrainingWorker.history` for the timeline, within its own byte
budget (:mod:`bpviz.gui.history`), and checkpoints of the run in
:attr:`TrainingWorker.checkpoints` (:mod:`bpviz.engine.checkpoints`), so that
training can continue exactly from a kept step (:meth:`TrainingWorker.rewind_to`).

Pause, stop and speed are flags read between mini-batches; the thread waits on
a condition variable (no spinning) while idle.
"""

from __future__ import annotations

import math
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QThread, Signal

from ..engine.backend import blas_threads
from ..engine.checkpoints import CheckpointStore
from ..engine.errors import BpvizError
from ..engine.fpwatch import FloatWatch
from ..engine.records import StepRecord
from ..engine.trainer import Trainer
from .gui_share import GUI_STALE_S, MAX_FRAME_WAIT_S, GuiShare
from .history import RECORDED, History, recorded_snapshot
from .pooling import ViewBudget
from .snapshot import MAX_HISTORY_BYTES, RecordBuffer, Snapshot, bounded_history
from .snapshot_build import ThrottledTestOutput, build_snapshot, pooled_matrices

#: At most this fraction of the worker's time goes to keeping snapshots for the timeline.
HISTORY_SHARE = 0.005

#: At most this fraction of the worker's time goes to timing the loop against the
#: vectorized backprop beside training (the compare panel's bars), and at most once a second.
COMPARE_SHARE = 0.005

#: At most this fraction of the worker's time goes to taking checkpoints of the run.
CHECKPOINT_SHARE = 0.01
#: Routine checkpoints are at least this many seconds of training apart: going back
#: replays at most that long, and a small network does not make thousands of them
#: (each a few Python objects that the garbage collector would walk again and again).
CHECKPOINT_EVERY_S = 0.25
#: The checkpoints' budget is this fraction of the timeline's (history off: none).
CHECKPOINT_FRACTION = 0.25

#: At most this many step records wait in a plain list between two publications.
PENDING = 4096

#: Bytes of step records (scalars only) kept for the session file: about 20,000 records.
MAX_SESSION_BYTES = 16 << 20


#: One job: ``fn(trainer)`` on the worker, then ``done(result)`` or ``error(msg)`` on the GUI.
@dataclass
class Job:
    fn: Callable[[Trainer], Any]
    done: Callable[[Any], None] | None = None
    error: Callable[[str], None] | None = None


class TrainingWorker(GuiShare, QThread):
    """Runs training steps and trainer jobs; publishes snapshots.

    Signals (emitted on the worker thread, delivered queued to the GUI):
    ``snapshotReady()`` a new snapshot waits in :meth:`take_snapshot`;
    ``jobFinished(object)`` a ``(callback, value)`` pair to call on the GUI;
    ``playingChanged(bool)``; ``diverged(int, float)`` step and loss of a
    non-finite step (training paused, last finite weights restored);
    ``failed(str)`` a step raised (training paused).
    """

    snapshotReady = Signal()
    jobFinished = Signal(object)
    playingChanged = Signal(bool)
    diverged = Signal(int, float)
    failed = Signal(str)

    def __init__(self, trainer: Trainer, max_fps: float = 30.0, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("bpviz-training-worker")
        self._cond = threading.Condition()
        self._slot_lock = threading.Lock()
        self._trainer = trainer
        self._fp = FloatWatch()
        self._jobs: deque[Job] = deque()
        self._playing = False
        self._step_requests = 0
        self._stop = False
        self._rate: float | None = None  # steps per second, None = full speed
        self._next_due = 0.0
        self._period = 1.0 / max_fps
        self._last_publish = -math.inf
        self._frame_started = -math.inf  # when the step of the last published frame began
        self._history = RecordBuffer(MAX_HISTORY_BYTES)
        #: the records of the steps since the last flush into ``_history``: one list
        #: append per training step, moved over at publish time (or every PENDING)
        self._pending: list[StepRecord] = []
        #: Every published record of this training, without matrices, bounded in bytes:
        #: what a session file saves (:meth:`session_history`); worker thread only.
        self._session = RecordBuffer(MAX_SESSION_BYTES)
        #: The published steps kept for the timeline, bounded in bytes (filled here at
        #: publish time, read by the GUI; :mod:`bpviz.gui.history`).
        self.history = History()
        self._keep_due = -math.inf   # when the next snapshot may be kept (see _keep)
        #: Checkpoints of this run, bounded in bytes (a quarter of the timeline's
        #: budget): Play from a kept step continues exactly from there (:meth:`rewind_to`).
        self.checkpoints = CheckpointStore(int(self.history.max_bytes * CHECKPOINT_FRACTION))
        self._checkpoint_due = -math.inf
        self._checkpoint_now = True   # the state changed outside training: take one first
        self._unkept: Snapshot | None = None   # the newest published one, if not kept
        #: How large the window draws its heatmaps (set by the GUI, read here).
        self.view_budget = ViewBudget()
        self._latest: Snapshot | None = None
        #: False after a step that was not published: a pause then publishes one more
        #: (see _loop), so that every view shows the step training stopped at
        self._shown_latest = True
        self._signal_pending = False
        self._taken = True
        self.compare_enabled = True
        self._compare_interval = 1.0
        self._last_compare = -math.inf
        self._comparison = None
        self._test_outputs = ThrottledTestOutput()
        self._rate_t0 = time.perf_counter()
        self._rate_n = 0
        self.steps_per_s = 0.0
        self.total_steps = 0  # steps run by this worker (benchmarks)
        self._init_gui_share()
        self.jobFinished.connect(self._deliver)  # queued: runs on the GUI thread

    # ------------------------------------------------------------ GUI-thread API
    @property
    def playing(self) -> bool:
        return self._playing

    def set_playing(self, playing: bool, then_step: bool = False) -> None:
        """Play or pause; ``then_step`` (with a pause): one mini-batch right after, asked
        in the same breath (a pause alone would publish a step of its own, see _loop)."""
        with self._cond:
            changed = self._playing != bool(playing)
            self._playing = bool(playing)
            self._next_due = 0.0
            self._step_requests += int(then_step)
            self._cond.notify_all()
        if changed:
            self.playingChanged.emit(bool(playing))

    def request_step(self) -> None:
        """One mini-batch (when paused), published right after."""
        with self._cond:
            self._step_requests += 1
            self._cond.notify_all()

    def set_rate(self, steps_per_s: float | None) -> None:
        """Train at most ``steps_per_s`` steps a second; None for full speed."""
        with self._cond:
            self._rate = float(steps_per_s) if steps_per_s else None
            self._next_due = 0.0
            self._cond.notify_all()

    def submit(self, job: Job) -> None:
        """Run ``job`` on the worker between mini-batches (also while paused)."""
        with self._cond:
            self._jobs.append(job)
            self._cond.notify_all()

    def call(self, fn: Callable[[Trainer], Any], timeout: float = 30.0) -> Any:
        """Run ``fn(trainer)`` on the worker and wait for its result (re-raises).

        If the thread is not running, ``fn`` runs here (nothing else can touch
        the trainer then).
        """
        if not self.isRunning():
            return fn(self._trainer)
        box: dict[str, Any] = {}
        ready = threading.Event()

        def job(tr: Trainer) -> None:
            try:
                box["value"] = fn(tr)
            except BaseException as exc:  # handed back to the caller
                box["error"] = exc
            finally:
                ready.set()

        self.submit(Job(job))
        if not ready.wait(timeout):
            raise TimeoutError("the training thread did not answer; try again")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def stop(self) -> None:
        """Ask the loop to end after the current step or job (never terminates)."""
        with self._cond:
            self._stop = True
            self._playing = False
            self._cond.notify_all()

    def take_snapshot(self) -> Snapshot | None:
        """The latest snapshot; marks it taken so the next one is signalled."""
        with self._slot_lock:
            self._signal_pending = False
            self._taken = True
            return self._latest

    def peek_snapshot(self) -> Snapshot | None:
        with self._slot_lock:
            return self._latest

    def _deliver(self, item: tuple[Any, Any, bool]) -> None:
        """On the GUI thread: hand a job's result (or error text) to its callback."""
        callback, value, is_error = item
        try:
            if callback is not None:
                callback(value)
            elif is_error:
                self.failed.emit(str(value))
        except Exception as exc:  # a panel's callback must not take the window down
            self.failed.emit(f"{type(exc).__name__}: {exc}")

    # ------------------------------------------------------------ worker thread
    def run(self) -> None:  # noqa: D401 - QThread entry point
        with blas_threads(1), self._fp:  # NumPy's float warnings: counted, said once
            try:
                self._loop()
            except Exception:  # never let an exception kill the thread silently
                self.failed.emit("training thread error:\n" + traceback.format_exc(limit=4))

    def _loop(self) -> None:
        while True:
            if self._playing and not (self._jobs or self._rate or self._stop):
                # full speed and nothing else to do (read without the lock: a flag set
                # meanwhile is seen on the next step, as it would be after waiting for it)
                self._train_one(force_publish=False)
                continue
            if not self._playing and self._unkept is not None:
                # paused: the newest published step is always on the timeline
                snap, self._unkept = self._unkept, None
                self.history.add(snap)
            with self._cond:
                while not (self._stop or self._jobs or self._playing or self._step_requests
                           or not self._shown_latest):
                    self._cond.wait()
                if self._stop:
                    return
                # paused after steps that were not shown (a step requested will be)
                settle = not (self._playing or self._shown_latest or self._step_requests)
                jobs = list(self._jobs)
                self._jobs.clear()
                single = not self._playing and self._step_requests > 0
                train = self._playing or single
                if single:
                    self._step_requests -= 1
                elif self._playing and self._rate:
                    now = time.perf_counter()
                    if now < self._next_due:
                        if not jobs:
                            self._cond.wait(self._next_due - now)
                            continue
                        train = False  # run the jobs now, the step when it is due
                    else:
                        self._next_due = max(self._next_due + 1.0 / self._rate, now)
            if settle and not self._stop:
                # one more step, shown: the views, the status bar and a session saved
                # now all have the step training stopped at (the jobs come after it)
                self._train_one(force_publish=True)
            for job in jobs:
                self._run_job(job)
            if train and not self._stop:
                self._train_one(force_publish=single)

    def _run_job(self, job: Job) -> None:
        tr = self._trainer
        before, step = tr.fingerprint(), tr.step
        try:
            value = job.fn(tr)
        except Exception as exc:
            msg = f"{type(exc).__name__}: {exc}"
            self.jobFinished.emit((job.error, msg, True))
            return
        finally:
            if self._trainer is tr and tr.fingerprint() != before:
                # an edit, new settings or a hand-stepped phase: replaying across it
                # would not repeat the run, so a checkpoint is taken before training on
                self.checkpoints.barrier(step)
                self._checkpoint_now = True
        if job.done is not None:
            self.jobFinished.emit((job.done, value, False))

    def _take_checkpoint(self, tr: Trainer) -> None:
        """Keep a checkpoint of the run now; the next routine one waits so that they
        take at most :data:`CHECKPOINT_SHARE` of the time and come at most every
        :data:`CHECKPOINT_EVERY_S` (a big network's, some MB each, every few hundred
        steps; a small one's every quarter of a second)."""
        self._checkpoint_now = False
        budget = int(self.history.max_bytes * CHECKPOINT_FRACTION)
        if budget <= 0:             # history off: there is no kept step to go back to
            self.checkpoints.clear()
            return
        if budget != self.checkpoints.max_bytes:
            self.checkpoints.set_budget(budget)
        t0 = time.perf_counter()
        self.checkpoints.add(tr.checkpoint())
        done = time.perf_counter()
        self._checkpoint_due = done + max((done - t0) / CHECKPOINT_SHARE, CHECKPOINT_EVERY_S)

    def _train_one(self, force_publish: bool) -> None:
        # every step passes here: the common case (no frame due, nothing to say) is kept
        # to a few attribute reads, as it costs the window's training its steps/s
        tr = self._trainer
        now = time.perf_counter()
        if self._gui_attached and (self._frame_pending or now - self._gui_beat > GUI_STALE_S):
            now = self._yield_to_gui(now)   # (the window draws, or looks starved)
        # frames are paced from the start of one to the start of the next, so that the
        # cost of building a snapshot does not lower the frame rate below max_fps
        publish = force_publish or ((now - self._frame_started >= self._period
                                     or (self._rate is not None   # slow: every step shows
                                         and self._rate * self._period <= 1.0))
                                    and self._frame_ready(now))
        if publish:
            self._frame_started = now
            tr.request_matrices()
        if self._checkpoint_now:
            self._take_checkpoint(tr)
        try:
            rec = tr.train_step()
        except Exception as exc:
            self._pause_quietly()
            self._shown_latest = True   # nothing newer to show
            self.failed.emit(f"training stopped: {type(exc).__name__}: {exc}")
            return
        self.total_steps += 1
        self._shown_latest = False
        if self._fp.counts:
            note = self._fp.take_message()
            if note and not rec.diverged:  # a divergence is said by its own signal
                self.failed.emit(f"At step {rec.step:,} {note}.")
        end = time.perf_counter()
        if self._yield_budget < MAX_FRAME_WAIT_S:   # (full: nothing to earn)
            self._earn(end - now)
        self._rate_n += 1
        if end - self._rate_t0 >= 0.5:
            self._count_rate(end)
        elif not self._playing:
            self.steps_per_s = 0.0
        if rec.diverged:
            self._pause_quietly()
            self.diverged.emit(rec.step, float(rec.loss))
            self.publish_preview()
            return
        self._pending.append(rec)
        if len(self._pending) >= PENDING:
            self._flush_pending()
        if now >= self._checkpoint_due and rec.step % tr.config.checkpoint_every == 0:
            self._take_checkpoint(tr)
        if publish and rec.backprop is not None:
            self._publish(rec, fresh=force_publish)

    def _flush_pending(self) -> None:
        if self._pending:
            self._history.extend(self._pending)
            self._pending.clear()

    def _pause_quietly(self) -> None:
        with self._cond:
            was, self._playing, self._step_requests = self._playing, False, 0
        if was:
            self.playingChanged.emit(False)

    def _count_rate(self, t: float) -> None:
        """The steps/s figure from the ``_rate_n`` steps trained since ``_rate_t0``, at
        time ``t`` (``time.perf_counter()``, at least half a second later)."""
        self.steps_per_s = self._rate_n / (t - self._rate_t0)
        self._rate_n, self._rate_t0 = 0, t

    def _maybe_compare(self, trainer: Trainer, idx: Any) -> Any:
        now = time.perf_counter()
        if not self.compare_enabled or now - self._last_compare < self._compare_interval:
            return self._comparison
        from ..engine.timing import compare_methods

        data = trainer.data
        try:
            self._comparison = compare_methods(trainer.net, data.X_train[idx],
                                               data.y_train[idx], repeats=2, warmup=1)
        except Exception:
            self._comparison = None
        took = time.perf_counter() - now
        # keep the measurement under COMPARE_SHARE of the time: slow loops are measured
        # less often (digits: every 1.7 s)
        self._compare_interval = max(1.0, took / COMPARE_SHARE)
        self._last_compare = time.perf_counter()
        return self._comparison

    def _publish(self, rec: Any, fresh: bool = False) -> None:
        """Build and publish the snapshot of ``rec``; ``fresh``: recompute every extra now
        (a single step or a job's step: the user looks at exactly this step)."""
        tr = self._trainer
        comparison = self._comparison
        if rec.batch_index is not None:
            comparison = self._maybe_compare(tr, rec.batch_index)
        self._flush_pending()
        history = self._history.move_to(self._session)
        self._put(self._build(rec, history, comparison,
                              {"steps_per_s": self.steps_per_s}, fresh))

    def _build(self, rec: Any, history: tuple[StepRecord, ...], comparison: Any,
               extra: dict[str, Any], fresh: bool) -> Snapshot:
        budget = self.view_budget
        if fresh:
            self._test_outputs.clear()
        return build_snapshot(self._trainer, rec, history, comparison, extra, budget.side(),
                              budget.keys(), self._test_outputs)

    def publish_preview(self, history: tuple[StepRecord, ...] = ()) -> None:
        """Publish the current weights without training (after a reset or divergence):
        the engine's record of them on the first mini-batch (``Trainer.current_record``);
        ``history`` goes with it (the records of an opened session, for the curves)."""
        tr = self._trainer
        self._flush_pending()
        self._history.move_to(self._session)
        snap = self._build(tr.current_record(), history, self._comparison,
                           {"steps_per_s": 0.0, "preview": True}, fresh=True)
        self._put(snap)

    def session_history(self) -> tuple[StepRecord, ...]:
        """Worker thread (a job): the records of this training so far, oldest first,
        without matrices (bounded in bytes, thinned like the curves' buffers)."""
        self._flush_pending()
        return self._session.records() + self._history.records()

    def publish_record(self, rec: StepRecord) -> None:
        """Worker thread (inside a job): publish a step that a job trained itself, e.g.
        the update phase of the phase stepper, as if this loop had trained it: the loss
        curve gets its point and every view shows that batch's matrices."""
        self.total_steps += 1
        if rec.diverged:
            self.diverged.emit(rec.step, float(rec.loss))
            self.publish_preview()
            return
        self._pending.append(rec)
        if rec.backprop is not None:
            self._publish(rec, fresh=True)

    def _keep(self, snap: Snapshot) -> None:
        """Keep ``snap`` for the timeline at a bounded cost: after a keep that took ``t``
        seconds the next waits ``t / HISTORY_SHARE`` (a big network's records, some MB
        each, are then kept a few times a second; a small one's at every frame). A
        single step, a preview or a paused publish is always kept."""
        now = time.perf_counter()
        if self._playing and now < self._keep_due and not snap.extra.get("preview"):
            self._unkept = snap  # kept after all if training pauses on it (see _loop)
            return
        self._unkept = None
        self.history.add(snap)   # the published snapshot itself: no copy per step
        done = time.perf_counter()
        self._keep_due = done + (done - now) / HISTORY_SHARE

    def _put(self, snap: Snapshot) -> None:
        self._shown_latest = True
        self._keep(snap)
        emit = False
        with self._slot_lock:
            old = self._latest
            if old is not None and not self._taken and old.history:
                # the GUI skipped a snapshot: keep its records for the loss curve
                snap = replace(snap, history=bounded_history(old.history + snap.history))
            self._latest = snap
            self._taken = False
            if not self._signal_pending:
                self._signal_pending = emit = True
        self._last_publish = time.perf_counter()
        if self._gui_attached:
            self._frame_pending = True
        if emit:
            self.snapshotReady.emit()

    # ------------------------------------------------------------ trainer swap
    def replace_trainer(self, trainer: Trainer,
                        history: tuple[StepRecord, ...] | None = None) -> None:
        """Job body: use ``trainer`` from now on (comparison cleared). The session's
        records stay up to the new trainer's step (none after a reset, all when the
        backend moves on); ``history`` replaces them (an opened session's)."""
        self._trainer = trainer
        self.history.clear()   # another run: the timeline starts again
        self.checkpoints.clear()
        self._checkpoint_now = True
        self._unkept = None
        kept = self.session_history() if history is None else tuple(history)
        self._session.clear()
        self._session.extend(r for r in kept if r.step <= trainer.step)
        self._history.clear()
        self._pending.clear()
        self._comparison = None
        self._last_compare = -math.inf
        self._test_outputs.clear()
        with self._slot_lock:
            self._latest = None
            self._taken = True
        self.publish_preview(() if history is None else self._session.records())

    def rewind_to(self, step: int) -> Any:
        """Job body: continue the run from the kept step ``step``, exactly as it was.

        The trainer is put back to the newest checkpoint at or before ``step`` and the
        steps between are trained again (the state the run had after ``step``,
        bitwise); what came after is forgotten (timeline, checkpoints, curves' records)
        and the kept snapshot of ``step`` is published with the records up to it.
        Returns the settings the run had then. :class:`BpvizError` (nothing changed)
        if ``step`` is not kept or cannot be reached exactly.
        """
        tr = self._trainer
        entry = self.history.get(step)
        if entry is None or entry.step != step:
            raise BpvizError(f"step {step:,} is not kept on the timeline")
        cp, _n = self.checkpoints.plan(step)
        tr.restore(cp)
        tr.replay_to(step)
        self.checkpoints.drop_after(step)
        self.checkpoints.add(tr.checkpoint())
        records = tuple(r for r in self.session_history() if r.step <= step)
        self._session.clear()
        self._session.extend(records)
        self._history.clear()
        self._pending.clear()
        self._unkept = None
        self._comparison = None
        self._last_compare = -math.inf
        self._test_outputs.clear()
        budget = self.view_budget
        pooled = pooled_matrices(entry.snap.step, budget.side(), budget.keys()) \
            if budget.side() else {}
        snap = recorded_snapshot(entry, pooled, {RECORDED: False, "preview": True})
        with self._slot_lock:
            self._latest = None
            self._taken = True
        self._put(replace(snap, history=records))
        return tr.config

    @property
    def trainer(self) -> Trainer:
        """The trainer; only for the worker thread, or while the thread is not running."""
        return self._trainer
