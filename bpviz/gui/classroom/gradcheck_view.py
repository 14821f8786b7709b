"""Gradient check view: backprop against finite differences, weight by weight.

For the current mini-batch (the rows ``snap.step.batch_index`` of the training
set) the engine's :func:`bpviz.engine.gradcheck.gradcheck` compares, in float64,
every backprop entry ``∂C/∂w`` with the central difference
``(C(w+h) − C(w−h)) / 2h``. The view shows ``log₁₀`` of the relative error of
each weight of the chosen layer as a heatmap (W beside its bias column), the
worst error per parameter, and a pass/fail badge. "Break the gradient" runs the
same check on a backward pass that forgets ``f'(z)``: what a bug looks like.

The check runs on the training thread through ``ctx.run_on_trainer`` (the
window stays responsive); the result is plain data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...engine.gradcheck import TOLERANCE, GradCheck, gradcheck
from ..contract import PanelContext, PanelMixin
from ..notation import axis_labels, check, display_shape, shape_text, sup
from ..presentation import base_font, scaled_font
from .error_map import ErrorMap, log_error
from .layer_picker import LayerPicker
from .panel_menu import ExportMenuMixin

#: From this relative error on, the check fails (a bug, not rounding).
FAIL_AT = 1e-2
#: Auto re-run at most this often (ms), and never more than a third of the time.
AUTO_INTERVAL_MS = 1000
#: Seconds a check may keep the training thread busy: big layers are sampled to fit.
TIME_BUDGET_S = 2.0
MIN_ENTRIES, MAX_ENTRIES = 8, 2000


@dataclass(frozen=True)
class GradCheckRun:
    """One finished check: the engine result and what it was run on."""

    check: GradCheck
    spec: Any
    batch_size: int
    broken: bool
    step: int | None
    seconds: float = 0.0


def entries_for_budget(net: Any, X: np.ndarray, Y: np.ndarray,
                       budget_s: float = TIME_BUDGET_S) -> int:
    """How many entries per parameter fit the time budget (two forward passes each)."""
    from time import perf_counter

    from ...engine import Network

    work = Network(net.spec, seed=0, dtype="float64", backend="numpy")
    work.set_weights(net.get_weights())
    work.loss(X, Y)                               # warm up
    times = []
    for _ in range(3):
        t0 = perf_counter()
        work.loss(X, Y)
        times.append(perf_counter() - t0)
    per_forward = max(float(np.median(times)), 1e-6)
    n = budget_s / (2.0 * per_forward * max(1, len(work.params)))
    return int(np.clip(n, MIN_ENTRIES, MAX_ENTRIES))


def gradcheck_job(trainer: Any, idx: np.ndarray | None, broken: bool,
                  budget_s: float = TIME_BUDGET_S) -> GradCheckRun:
    """Run on the training thread: check ``trainer.net`` on rows ``idx`` of the
    training set (the first mini-batch's worth of rows when ``idx`` is None).

    Parameters with more entries than fit ``budget_s`` are checked on a random
    sample of their entries (``GradCheck.checked`` marks which).
    """
    from time import perf_counter

    data = trainer.data
    if idx is None:
        idx = np.arange(min(int(trainer.batch_size), len(data.X_train)))
    idx = np.asarray(idx, dtype=np.int64)
    X = np.asarray(data.X_train)[idx]
    Y = np.asarray(data.y_train)[idx]
    t0 = perf_counter()
    n = entries_for_budget(trainer.net, X, Y, budget_s)
    check = gradcheck(trainer.net, X, Y, broken=broken, max_entries=n)
    return GradCheckRun(check, trainer.net.spec, len(idx), broken,
                        trainer.step, perf_counter() - t0)


def verdict(worst: float) -> str:
    """``"pass"`` below the engine's tolerance, ``"fail"`` from 1e-2, else ``"warn"``."""
    if worst < TOLERANCE:
        return "pass"
    return "warn" if worst < FAIL_AT else "fail"


def fmt_err(x: float) -> str:
    """A relative error, short: ``3e-9``, ``4.2e-5``, ``0.87``, ``12``."""
    if x >= 0.01:
        return f"{x:.2g}"
    if x <= 0:
        return "0"
    mant, exp = f"{x:.1e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{int(exp)}"


def worst_entry(chk: GradCheck) -> tuple[str, int, float, float]:
    """``(parameter, flat index, backprop value, numeric value)`` of the largest error."""
    key = max(chk.rel_error, key=lambda k: chk.max_rel_error[k])
    i = int(np.argmax(chk.rel_error[key]))
    return key, i, float(chk.analytic[key].flat[i]), float(chk.numeric[key].flat[i])


def why_not_exact(chk: GradCheck) -> str:
    """A short reason for a small disagreement (tiny gradients are rounding)."""
    key, _, g, n = worst_entry(chk)
    top = max((float(np.abs(a).max()) for a in chk.analytic.values() if a.size), default=0.0)
    if abs(g) < 1e-4 * top:
        return (f"rounding — the worst entry of {key} is tiny (∂C/∂w = {g:.0e}, "
                f"|g − n| = {abs(g - n):.0e})")
    return "rounding, or a kink of relu at z = 0"


class GradCheckView(PanelMixin, ExportMenuMixin, QWidget):
    """The gradient-check panel (registry name ``"gradcheck"``)."""

    draws_snapshots = True

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._run: GradCheckRun | None = None
        self._busy = False
        self._notation = check(ctx.notation)
        self._presentation = False
        self._last_auto = 0.0

        self.run_button = QPushButton("Run gradient check")
        self.run_button.clicked.connect(self.run_check)
        self.broken_box = QCheckBox("Break the gradient (drop f'(z))")
        self.broken_box.toggled.connect(lambda _on: self.run_check())
        self.auto_box = QCheckBox("re-run every second while training")
        self.layer_box = LayerPicker()
        self.layer_box.currentIndexChanged.connect(lambda _i: self._redraw())
        bar = QHBoxLayout()
        for w in (self.run_button, self.broken_box, QLabel("layer:"), self.layer_box):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.auto_box)

        self.badge = QLabel("Press “Run gradient check”")
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.badge.setWordWrap(True)
        self.summary = QLabel("")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.map = ErrorMap(self)

        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.badge)
        lay.addWidget(self.summary)
        lay.addWidget(self.map, 1)
        lay.addWidget(self.info)
        self._style_badge("idle")
        if ctx.spec is not None:
            self._fill_layers(ctx.spec)
        ctx.specChanged.connect(self.set_spec)
        ctx.notationChanged.connect(self.set_notation)

    # ------------------------------------------------------------ running
    def run_check(self) -> None:
        """Start a check of the current mini-batch on the training thread."""
        if self._busy:
            return
        snap = self.ctx.latest_snapshot()
        idx = None
        if snap is not None and snap.step.batch_index is not None:
            idx = np.array(snap.step.batch_index, copy=True)
        broken = self.broken_box.isChecked()
        self._busy = True
        self.run_button.setEnabled(False)
        self.badge.setText("checking… (two forward passes per weight, in float64)")
        self._style_badge("idle")
        self.ctx.run_on_trainer(lambda tr: gradcheck_job(tr, idx, broken), self._on_done,
                                self._on_error)

    def _on_done(self, run: GradCheckRun) -> None:
        from time import monotonic

        self._last_auto = monotonic()
        self._busy = False
        self.run_button.setEnabled(True)
        self._run = run
        self._fill_layers(run.spec)
        self._redraw()

    def _on_error(self, msg: str) -> None:
        self._busy = False
        self.run_button.setEnabled(True)
        self.badge.setText(f"the check could not run: {msg}")
        self._style_badge("fail")

    def show_snapshot(self, snap: Any) -> None:
        """A new mini-batch (the main window calls this while the panel is visible)."""
        if not self.auto_box.isChecked() or self._busy or not self.isVisible():
            return
        from time import monotonic

        took = self._run.seconds if self._run is not None else 0.0
        wait_ms = max(AUTO_INTERVAL_MS, 3000 * took)   # checks take at most 1/4 of the time
        if (monotonic() - self._last_auto) * 1000 >= wait_ms:
            self.run_check()

    # ------------------------------------------------------------ panel API
    def set_spec(self, spec: Any) -> None:
        self._run = None
        self._fill_layers(spec)
        self.badge.setText("The network changed: press “Run gradient check”")
        self._style_badge("idle")
        self.summary.setText("")

    def clear(self) -> None:
        """Fresh weights (reset): the old result no longer applies."""
        self._run = None
        self.badge.setText("Press “Run gradient check”")
        self._style_badge("idle")
        self.summary.setText("")

    def set_notation(self, notation: str) -> None:
        self._notation = check(notation)
        self._redraw()

    def set_presentation(self, on: bool) -> None:
        self._presentation = bool(on)
        self.auto_box.setVisible(not on)
        self.info.setVisible(not on)
        self._style_badge(self._state())
        self._redraw()

    def set_broken(self, on: bool) -> None:
        self.broken_box.setChecked(bool(on))

    def result(self) -> GradCheck | None:
        return self._run.check if self._run else None

    def badge_text(self) -> str:
        return self.badge.text()

    def export_matrices(self) -> dict[str, np.ndarray]:
        """What the context menu can save: the errors of the chosen layer."""
        key = self._layer_key()
        if self._run is None or key is None:
            return {}
        rel = self._run.check.rel_error
        return {f"relative error {key}": rel[f"W{key}"], f"relative error b{key}":
                rel[f"b{key}"], f"log10 relative error W{key} (shown)": self.map.matrix()}

    # ------------------------------------------------------------ drawing
    def _layer_key(self) -> int | None:
        return self.layer_box.layer()

    def _fill_layers(self, spec: Any) -> None:
        def label(i: int, m: int, n: int) -> str | None:
            if spec.layers[i].tie_to is not None:
                return None
            users = [j + 1 for j in range(len(spec.layers)) if spec.layers[j].tie_to == i]
            also = f", also used by layer {', '.join(map(str, users))}" if users else ""
            return f"layer {i + 1}: W {m}×{n}{also}"

        self.layer_box.fill(spec, label, fallback_last=False)

    def _state(self) -> str:
        if self._run is None:
            return "idle"
        return verdict(self._run.check.worst)

    def _redraw(self) -> None:
        run, key = self._run, self._layer_key()
        if run is None or key is None or f"W{key}" not in run.check.rel_error:
            return
        chk = run.check
        worst = chk.worst
        state = verdict(worst)
        what = "broken backprop (f'(z) dropped)" if run.broken else "backprop"
        if state == "pass":
            text = f"✓ {what} agrees to {fmt_err(worst)}"
        elif state == "warn":
            text = f"≈ {what} agrees to {fmt_err(worst)}: {why_not_exact(chk)}"
        else:
            text = f"✗ FAILS: {fmt_err(worst)} — {what} disagrees with finite differences"
        self.badge.setText(text)
        self._style_badge(state)
        self.summary.setText(self._summary_html(chk) + self._hint_html(run))
        rel, ok = chk.rel_error, chk.checked
        transposed = self._notation == "in_out"
        shape = shape_text(display_shape("W", run.spec.weight_shape(key), self._notation))
        shape += " (Wᵀ, in×out)" if transposed else ""
        self.map.set_data(log_error(rel[f"W{key}"]), ok[f"W{key}"], log_error(rel[f"b{key}"]),
                          ok[f"b{key}"], transposed,
                          f"relative error of ∂C/∂W{sup(key + 1)} — {shape}, and b",
                          axis_labels("W", self._notation))
        nW, totW = int(ok[f"W{key}"].sum()), ok[f"W{key}"].size
        sampled = "" if nW == totW else f" ({nW} of {totW} weights sampled; grey = not checked)"
        self.info.setText(f"mini-batch of K = {run.batch_size} samples, float64, central "
                          f"differences with h = 1e-6; tolerance {fmt_err(TOLERANCE)}{sampled}."
                          + ("" if run.step is None else f" Weights after step {run.step}.")
                          + f" Took {run.seconds:.1f} s.")

    def _summary_html(self, chk: GradCheck) -> str:
        colors = {"pass": "#1a7f37", "warn": "#b36b00", "fail": "#c62828"}
        cells = []
        for name, err in chk.max_rel_error.items():
            kind, layer = name[0], int(name[1:]) + 1
            mark = {"pass": "✓", "warn": "≈", "fail": "✗"}[verdict(err)]
            cells.append(f"<span style='color:{colors[verdict(err)]}'><b>{kind}<sup>{layer}</sup>"
                         f"</b> {fmt_err(err)} {mark}</span>")
        return "worst per parameter: &nbsp; " + " &nbsp;&nbsp; ".join(cells)

    def _hint_html(self, run: GradCheckRun) -> str:
        """Why a broken check fails where it does (the lesson of the toggle)."""
        if not run.broken or len(run.spec.layers) < 2:
            return ""
        L = len(run.spec.layers)
        return ("<br><span style='color:#444'>The output layer's δ" + sup(L) + " never uses "
                "this f'(z), so W" + sup(L) + " and b" + sup(L) + " still agree. Every hidden "
                "δ = (δW) ⊙ f'(z) lost its factor f'(z): the layers below are wrong.</span>")

    def _style_badge(self, state: str) -> None:
        bg = {"pass": "#1a7f37", "warn": "#b36b00", "fail": "#c62828", "idle": "#5f6368"}[state]
        f = scaled_font(base_font(), 1.5 if self._presentation else 1.3, bold=True)
        self.badge.setFont(f)
        self.badge.setStyleSheet(f"QLabel {{ background: {bg}; color: white; "
                                 "border-radius: 6px; padding: 6px; }")
