"""Training as a Qt-free generator: one :class:`StepRecord` per mini-batch.

The command line iterates :meth:`Trainer.run`; the GUI's training worker
calls :meth:`Trainer.train_step` once per mini-batch on its own thread. A
trainer belongs to one thread: settings change through :meth:`Trainer.configure`
between mini-batches, on that thread (the GUI sends them through the worker's
one job queue, so there is no second queue and no flag here). Pausing and
stopping are the caller's business: it simply stops asking for steps.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from .checkpoints import Checkpoint
from .errors import BpvizError
from .network import METHODS, BackpropResult, Network, predict_labels
from .optim import OPTIMIZERS, check_hyper, make_optimizer, penalty
from .records import BackpropRecord, StepRecord
from .unit_stats import UnitStats, unit_stats

EVAL_CHUNK = 4096


@dataclass(frozen=True)
class TrainConfig:
    """Training settings; :meth:`validate` says what is wrong with bad ones."""

    batch_size: int = 32
    lr: float = 0.1
    optimizer: str = "sgd"
    momentum: float = 0.9
    l1: float = 0.0
    l2: float = 0.0
    method: str = "vectorized"
    eval_every: int = 50
    seed: int = 0
    checkpoint_every: int = 10

    def validate(self) -> TrainConfig:
        for name in ("batch_size", "eval_every", "checkpoint_every"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise BpvizError(f"{name.replace('_', ' ')} must be a whole number >= 1, "
                                 f"got {v!r}")
        seed = self.seed
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) \
                or not 0 <= seed < 2**63:
            raise BpvizError(f"seed must be a whole number from 0 to 2**63 - 1, got {seed!r}")
        if not isinstance(self.optimizer, str) or not isinstance(self.method, str):
            raise BpvizError("optimizer and method must be names, e.g. 'sgd' and 'vectorized'")
        if self.optimizer not in OPTIMIZERS:
            raise BpvizError(f"unknown optimizer {self.optimizer!r}; use one of "
                             + ", ".join(OPTIMIZERS))
        if self.method not in METHODS:
            raise BpvizError(f"unknown method {self.method!r}; use 'vectorized' or 'loop'")
        self.make_optimizer()  # checks lr, l1, l2 (and momentum for "momentum")
        check_hyper("momentum", self.momentum, high=0.9999)  # kept for a later switch
        return self

    def make_optimizer(self) -> Any:
        return make_optimizer(self.optimizer, lr=self.lr, momentum=self.momentum,
                              l1=self.l1, l2=self.l2)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        if not isinstance(d, dict):
            raise BpvizError("training settings must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise BpvizError(f"unknown training settings: {', '.join(sorted(unknown))}; "
                             f"allowed: {', '.join(sorted(known))}")
        return cls(**d).validate()


class Trainer:
    """Mini-batch training of ``net`` on a data set (see ``datasets.Dataset``).

    Parameters
    ----------
    net : the network, trained in place.
    data : anything with ``X_train, y_train, X_test, y_test, n_classes``.
    config : the settings; validated.
    """

    def __init__(self, net: Network, data: Any, config: TrainConfig | None = None) -> None:
        self.net = net
        self.data = data
        self.config = (config or TrainConfig()).validate()
        self.optimizer = self.config.make_optimizer()
        self.step = 0
        self.epoch = 0
        self._rng = np.random.default_rng(self.config.seed)
        self._perm: np.ndarray = np.empty(0, dtype=np.int64)
        self._pos = 0
        self._matrices = False
        self._checkpoint: tuple[dict[str, Any], Any] | None = None
        xp = net.xp
        self.classification = int(getattr(data, "n_classes", 0)) > 0
        self._X = xp.asarray(np.ascontiguousarray(data.X_train), dtype=net.dtype)
        self._Y = net.encode_targets(data.y_train, len(data.X_train))
        self._labels = xp.asarray(data.y_train) if self.classification else None
        if len(data.X_train) < 1:
            raise BpvizError("the training set is empty; pick a data set with samples")

    # ------------------------------------------------------------ settings
    def configure(self, **changes: Any) -> TrainConfig:
        """Change settings now, between mini-batches (``lr=0.5``, ``optimizer="adam"``, ...).

        Checked first: a bad value raises :class:`BpvizError` and changes nothing.
        A new optimizer or momentum starts the optimizer's state afresh; the
        learning rate and L1/L2 keep it (momentum and Adam's moments go on).
        """
        cfg = replace(self.config, **changes).validate()
        fresh = (cfg.optimizer, cfg.momentum) != (self.config.optimizer, self.config.momentum)
        self.config = cfg
        if fresh:
            self.optimizer = cfg.make_optimizer()
        else:
            self.optimizer.lr, self.optimizer.l1, self.optimizer.l2 = cfg.lr, cfg.l1, cfg.l2
        return cfg

    def request_matrices(self) -> None:
        """Ask for the matrices (backprop record and weights) in the next record."""
        self._matrices = True

    # ------------------------------------------------------------ training
    @property
    def batch_size(self) -> int:
        return min(self.config.batch_size, len(self.data.X_train))

    @property
    def completed_epochs(self) -> int:
        """Epochs finished so far (the current one counts once its batches ran out)."""
        exhausted = len(self._perm) and self._pos + self.batch_size > len(self._perm)
        return self.epoch + (1 if exhausted else 0)

    def next_batch(self) -> np.ndarray:
        """Indices of the next mini-batch; a new shuffled epoch when one runs out."""
        B = self.batch_size
        if self._pos + B > len(self._perm):
            if len(self._perm):
                self.epoch += 1
            self._perm = self._rng.permutation(len(self.data.X_train))
            self._pos = 0
        idx = self._perm[self._pos:self._pos + B]
        self._pos += B
        return idx

    def run(self, steps: int | None = None, epochs: int | None = None) -> Iterator[StepRecord]:
        """Yield one record per mini-batch until ``steps`` or ``epochs`` (None: forever).

        A non-finite loss restores the last checkpoint of finite weights, yields
        a record with ``diverged=True`` and ends.
        """
        done = 0
        start_epoch = self.completed_epochs
        while steps is None or done < steps:
            if epochs is not None and self.completed_epochs - start_epoch >= epochs:
                return
            rec = self.train_step()
            done += 1
            yield rec
            if rec.diverged:
                return

    def train_step(self) -> StepRecord:
        """One mini-batch: backprop, then the optimizer's update."""
        idx, X, Y = self.begin_batch()
        be = self.net.backend
        t0 = be.timer()
        result = self.net.gradients(X, Y, self.config.method)
        return self.finish_batch(idx, result, (be.timer() - t0) * 1000.0)

    def begin_batch(self) -> tuple[np.ndarray, Any, Any]:
        """Draw the next mini-batch and checkpoint if due.

        Returns ``(idx, X, Y)``: training-set rows and the batch on the device.
        """
        idx = self.next_batch()
        if self.step % self.config.checkpoint_every == 0:
            self._save_checkpoint()
        self._didx = self._device_index(idx)
        return idx, self._X[self._didx], self._Y[self._didx]

    def _device_index(self, idx: np.ndarray) -> Any:
        """``idx`` as the device wants it: the epoch's order is uploaded once per epoch
        (a CuPy array indexed by a host array would copy it to the GPU every step)."""
        if self.net.backend.name == "numpy":
            return idx
        if getattr(self, "_perm_src", None) is not self._perm:
            self._perm_src, self._perm_dev = self._perm, self.net.xp.asarray(self._perm)
        return self._perm_dev[self._pos - len(idx):self._pos]

    def finish_batch(self, idx: np.ndarray, result: BackpropResult,
                     ms: float = 0.0) -> StepRecord:
        """Update from the backprop ``result`` of the batch ``idx`` and make its record.

        ``result`` is what :meth:`Network.gradients` (or a finished
        :meth:`Network.phases`) returns. A non-finite loss restores the last
        checkpoint instead (``diverged``). ``penalty`` is the L1/L2 term at the
        weights the batch used, so ``loss + penalty`` is what the optimizer minimises.
        """
        net, cfg = self.net, self.config
        loss = result.loss
        want, self._matrices = self._matrices, False
        epoch = self.epoch
        if not math.isfinite(loss):
            self._restore_checkpoint()
            return StepRecord(self.step, epoch, loss, None, ms, cfg.method, len(idx), cfg.lr,
                              diverged=True)
        acc = None
        if self.classification:
            acc = self._accuracy(result.output, self._labels[self._didx])
        extra: dict[str, Any] = {}
        if cfg.l1 or cfg.l2:
            extra["penalty"] = self.penalty()
        if want:
            extra["backprop"] = net.record(result)
            extra["weights"] = net.get_weights()          # the weights this batch used
            extra["batch_index"] = np.array(idx, copy=True)
            before = self._weights_before(extra["weights"])
        self.optimizer.step(net.params, result.grads, net.xp)
        if want:
            units = unit_stats(extra["backprop"], net.spec, extra["weights"], cfg.lr,
                               self._applied(before))
            extra["units"] = units
            extra["grad_norms"] = grad_norms(extra["backprop"], units)
        self.step += 1
        if self.step % cfg.eval_every == 0:
            extra["train_eval_loss"], extra["train_eval_accuracy"] = self.evaluate("train")
            extra["test_loss"], extra["test_accuracy"] = self.evaluate("test")
        return StepRecord(self.step, epoch, loss, acc, ms, cfg.method, len(idx), cfg.lr, **extra)

    def current_record(self) -> StepRecord:
        """A record of the current weights on the first mini-batch, without an update.

        After a reset, a new network or a divergence, so that every view has
        matrices to show before Play is pressed. ``step`` is the trainer's
        step count (nothing is trained); rows ``0..K-1`` of the training set.
        """
        net, cfg = self.net, self.config
        idx = np.arange(self.batch_size, dtype=np.int64)
        didx = idx if net.backend.name == "numpy" else net.xp.asarray(idx)
        t0 = net.backend.timer()
        result = net.gradients(self._X[didx], self._Y[didx], cfg.method)
        ms = (net.backend.timer() - t0) * 1000.0
        acc = self._accuracy(result.output, self._labels[didx]) if self.classification else None
        bp = net.record(result)
        weights = net.get_weights()
        units = unit_stats(bp, net.spec, weights, cfg.lr)   # no update: the ratio is η·dW
        return StepRecord(self.step, self.epoch, bp.loss, acc, ms, cfg.method, len(idx),
                          cfg.lr, batch_index=idx, backprop=bp, weights=weights,
                          grad_norms=grad_norms(bp, units), penalty=self.penalty(),
                          units=units)

    def _weights_before(self, host: dict[str, np.ndarray]) -> dict[str, Any]:
        """The weight matrices before the update, on the device: ``host`` itself on
        NumPy (already copies), device copies otherwise (on published steps only)."""
        if self.net.backend.name == "numpy":
            return {k: v for k, v in host.items() if k[0] == "W"}
        return {k: v.copy() for k, v in self.net.params.items() if k[0] == "W"}

    def _applied(self, before: dict[str, Any]) -> dict[str, float]:
        """``{"W{j}": ‖ΔW^j‖}``: the norm of the update the optimizer just applied."""
        xp, P = self.net.xp, self.net.params
        return {k: float(xp.linalg.norm(P[k] - w)) for k, w in before.items()}

    def penalty(self) -> float:
        """The L1/L2 term at the current weights (0 without regularisation): the
        optimizer minimises the data loss plus this."""
        cfg = self.config
        return penalty(self.net.params, cfg.l1, cfg.l2, self.net.xp) if cfg.l1 or cfg.l2 else 0.0

    def _accuracy(self, out: Any, labels: Any) -> float:
        return float((predict_labels(out) == labels).mean())

    def evaluate(self, which: str = "test") -> tuple[float | None, float | None]:
        """``(loss, accuracy)`` on the whole train or test set (None if empty)."""
        data, net = self.data, self.net
        X, y = (data.X_train, data.y_train) if which == "train" else (data.X_test, data.y_test)
        if len(X) == 0:
            return None, None
        total, correct = 0.0, 0
        for s in range(0, len(X), EVAL_CHUNK):
            Xc, Yc = net.prepare(X[s:s + EVAL_CHUNK], y[s:s + EVAL_CHUNK])
            cost, a = net.forward_cost(Xc, Yc)
            total += cost * (len(Xc) if net.spec.reduction == "mean" else 1)
            if self.classification:
                correct += self._accuracy(a, net.xp.asarray(y[s:s + EVAL_CHUNK])) * len(Xc)
        loss = total / len(X) if net.spec.reduction == "mean" else total
        return loss, (correct / len(X) if self.classification else None)

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Step, epoch, settings, optimizer state and the batch sampler (its random
        generator, this epoch's order and the position in it), as plain data and
        host arrays, so a resumed run draws the same batches as an uninterrupted one."""
        return {"step": self.step, "epoch": self.epoch, "config": self.config.to_dict(),
                "optimizer": self.optimizer.state_dict(self.net.backend.to_host),
                "sampler": {"rng": self._rng.bit_generator.state,
                            "perm": np.asarray(self._perm, dtype=np.int64), "pos": self._pos}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` gave (the config must already match).

        A sampler whose order does not fit the training set (the data changed)
        is ignored: training goes on with a fresh epoch.
        """
        self.step = int(state.get("step", 0))
        self.epoch = int(state.get("epoch", 0))
        if "optimizer" in state:
            self.optimizer.load_state_dict(state["optimizer"], self.net.xp)
        sampler = state.get("sampler")
        if sampler:
            n = len(self.data.X_train)
            perm = np.asarray(sampler["perm"], dtype=np.int64)
            if perm.size and (perm.size != n or perm.min() < 0 or perm.max() >= n):
                return
            rng = np.random.default_rng()
            try:
                rng.bit_generator.state = sampler["rng"]
            except (TypeError, ValueError, KeyError):
                return
            self._rng, self._perm, self._pos = rng, perm, int(sampler["pos"])

    # ------------------------------------------------------------ checkpoints
    def checkpoint(self) -> Checkpoint:
        """The whole state after :attr:`step` mini-batches, copied (weights, settings,
        optimizer state, batch sampler): :meth:`restore` puts it back exactly."""
        return Checkpoint.of(self.step, self.net.get_weights(),
                             copy.deepcopy(self.state_dict()))

    def restore(self, cp: Checkpoint) -> None:
        """Put back the state of ``cp`` (taken by :meth:`checkpoint` of a trainer of the
        same network and data): weights, settings, optimizer state and batch order.
        Training on from here repeats the run that ``cp`` was taken from, bitwise
        (same backend and dtype). ``cp`` is not changed (its arrays are copied)."""
        state = copy.deepcopy(cp.state)
        cfg = TrainConfig.from_dict(state["config"])
        self.net.set_weights(cp.weights)
        self.config, self.optimizer = cfg, cfg.make_optimizer()
        self.load_state_dict(state)
        self._perm_src = None
        # the divergence rollback point, as train_step would have saved it at a
        # multiple of checkpoint_every (exact there; elsewhere this step's state)
        self._save_checkpoint()

    def fingerprint(self) -> tuple[Any, ...]:
        """A cheap token of the state training depends on (step, sampler position,
        settings, optimizer, weights replaced or edited): a caller compares it around
        work done outside :meth:`train_step` to learn whether that work changed the run."""
        return (self.step, self.epoch, self._pos, id(self._perm), self.config,
                id(self.optimizer), id(self.net.params), self.net.edits)

    def replay_to(self, step: int) -> None:
        """Train on (records without matrices, not returned) until :attr:`step` is
        ``step``: after :meth:`restore`, the state the original run had there.
        A run that diverged on the way diverges again at the same step and is
        rolled back as it was, so the loop counts trained steps, bounded."""
        tries = 2 * max(0, step - self.step) + 16
        while self.step < step and tries > 0:
            self.train_step()
            tries -= 1
        if self.step != step:
            raise BpvizError(f"replaying to step {step:,} stopped at step {self.step:,}: "
                             "the run cannot be repeated exactly from its checkpoint")

    def _save_checkpoint(self) -> None:
        params = {k: v.copy() for k, v in self.net.params.items()}
        self._checkpoint = (params, copy.deepcopy(self.optimizer))

    def _restore_checkpoint(self) -> None:
        if self._checkpoint is None:
            return
        params, opt = self._checkpoint
        self.net.params = {k: v.copy() for k, v in params.items()}
        self.optimizer = copy.deepcopy(opt)


def grad_norms(rec: BackpropRecord, units: UnitStats | None = None) -> dict[str, float]:
    """Per-layer numbers of a published step, for the gradient-health history.

    ``"dW{l}"`` and ``"delta{l}"``: Frobenius norms ``‖dW^l‖`` (m×n) and
    ``‖δ^l‖`` (K×m) of every layer l of ``rec``; with ``units``, also
    ``"ratio{l}"``, its update-to-weight ratio (see ``bpviz.engine.unit_stats``).
    """
    out: dict[str, float] = {}
    for l, ly in enumerate(rec.layers):
        out[f"dW{l}"] = float(np.linalg.norm(ly.dW))
        out[f"delta{l}"] = float(np.linalg.norm(ly.delta))
        if units is not None:
            out[f"ratio{l}"] = units.ratios[l]
    return out
