"""Phase stepping in the GUI: Step advances one phase of one mini-batch.

The work is the engine's :class:`~bpviz.engine.phases.PhaseStepper`, run on
the training thread through ``ctx.run_on_trainer``; this widget shows the
phases of one batch as a one-line strip (done ones grey, the one just computed
highlighted: ``z¹ a¹ z² a² C δ² δ¹ dW² db² dW¹ db¹ W,b←``), the matrix just computed as a heatmap
(in the current notation), and emits :attr:`PhaseStepWidget.phaseShown` so the
equations view can mark the matching equation. It also asks the matrix panel to
highlight the heatmap of the same kind (``ctx.request_highlight``).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ...engine.phases import PhaseRecord, PhaseStepper, phase_plan
from ..contract import PanelContext
from ..notation import (
    check,
    display_matrix,
    phase_axis_labels,
    phase_chip,
    phase_equation,
    phase_heatmap,
    phase_matrix_name,
    phase_name,
    shape_text,
)
from ..views.heatmap import Heatmap

_DONE, _NOW_BG, _NOW_FG, _TODO = "#8a8a8a", "#ffe9a8", "#7a3e00", "#0b2e59"


class PhaseStepWidget(QWidget):
    """Step button, phase list and the matrix of the phase just computed."""

    #: Emitted on the GUI thread with each new :class:`PhaseRecord`.
    phaseShown = Signal(object)

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.notation = check(ctx.notation)
        self.spec = ctx.spec
        self.last: PhaseRecord | None = None
        self._stepper: PhaseStepper | None = None
        self._busy = False
        self._presentation = False

        self.step_button = QPushButton("Step phase ▸")
        self.step_button.setToolTip("Compute the next phase of this mini-batch (Space/→ "
                                    "when the toolbar forwards Step)")
        self.batch_button = QPushButton("Finish batch »")
        self.batch_button.setToolTip("Run the remaining phases, update included")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.strip = QLabel()
        self.strip.setTextFormat(Qt.TextFormat.RichText)
        self.strip.setWordWrap(True)
        self.strip.setToolTip("The phases of one mini-batch: forward, loss, errors backwards, "
                              "gradients, update")
        self._plan: list[tuple[str, int]] = []
        self._states: list[str] = []
        self.heatmap = Heatmap()
        self.heatmap.setMinimumSize(200, 150)
        row = QHBoxLayout()
        row.addWidget(self.step_button)
        row.addWidget(self.batch_button)
        row.addStretch(1)
        left = QVBoxLayout()
        left.addLayout(row)
        left.addWidget(self.status)
        left.addWidget(self.strip)
        left.addStretch(1)
        lay = QHBoxLayout(self)          # controls left, the matrix right: fits a short dock
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(left, 1)
        lay.addWidget(self.heatmap, 1)

        self.step_button.clicked.connect(self.step)
        self.batch_button.clicked.connect(self.finish_batch)
        ctx.trainingStateChanged.connect(lambda _p: self._update_enabled())
        if self.spec is not None:
            self.set_spec(self.spec)
        self._update_enabled()

    # ------------------------------------------------------------ panel API
    def set_spec(self, spec: Any) -> None:
        """A new network: a fresh phase list (the trainer is new, so is the batch)."""
        self.spec = spec
        self.last = None
        self._plan = list(phase_plan(spec))
        self._states = ["todo"] * len(self._plan)
        self._draw_strip()
        self.status.setText("Step computes one phase of the next mini-batch.")
        self.heatmap.set_matrix([[0.0]], "—", "", "")

    def set_notation(self, notation: str) -> None:
        self.notation = check(notation)
        if self.last is not None:
            self._show_matrix(self.last)
            self._show_status(self.last)

    def set_presentation(self, on: bool) -> None:
        self._presentation = bool(on)
        self.heatmap.set_presentation(on)
        font = QFont()                      # not the app font ×1.8: the status must fit
        if on:
            font.setPointSize(16)
        self.status.setFont(font)
        self._draw_strip()

    # ------------------------------------------------------------ stepping
    def _stepper_for(self, trainer: Any) -> PhaseStepper:
        st = self._stepper
        if st is None or st.trainer is not trainer:
            st = self._stepper = PhaseStepper(trainer)
        return st

    def _job(self, trainer: Any) -> PhaseRecord:
        """Runs on the training thread: one phase."""
        rec = self._stepper_for(trainer).next()
        self._publish(rec)
        return rec

    def _batch_job(self, trainer: Any) -> list[PhaseRecord]:
        """Runs on the training thread: the rest of the batch."""
        recs = self._stepper_for(trainer).run_batch()
        self._publish(recs[-1])
        return recs

    def _publish(self, rec: PhaseRecord) -> None:
        """Training thread: after the update phase, hand the finished step to every view
        (the loss curve gets the point, the matrices and the status bar show this batch)."""
        if rec.step_record is not None:
            self.ctx.publish_step_record(rec.step_record)

    def can_step(self) -> bool:
        return not self._busy and not self.ctx.is_playing

    def step(self) -> bool:
        """Advance one phase (False, and nothing happens, while busy or playing)."""
        if not self.can_step():
            if self.ctx.is_playing:
                self.status.setText("Pause training first: phases step one mini-batch.")
            return False
        self._busy = True
        self._update_enabled()
        self.ctx.run_on_trainer(self._job, self._done, self._failed)
        return True

    def finish_batch(self) -> bool:
        """Run every remaining phase of the current batch (through the update)."""
        if not self.can_step():
            return False
        self._busy = True
        self._update_enabled()
        self.ctx.run_on_trainer(self._batch_job, self._done_many, self._failed)
        return True

    def _done_many(self, recs: list[PhaseRecord]) -> None:
        for r in recs[:-1]:
            self._mark(r)
        self._done(recs[-1])

    def _done(self, rec: PhaseRecord) -> None:
        self._busy = False
        self.show_phase(rec)
        self._update_enabled()

    def _failed(self, msg: str) -> None:
        self._busy = False
        self.status.setText(f"Phase step failed: {msg}")
        self._update_enabled()

    def _update_enabled(self) -> None:
        ok = self.can_step()
        self.step_button.setEnabled(ok)
        self.batch_button.setEnabled(ok)

    # ------------------------------------------------------------ showing
    def show_phase(self, rec: PhaseRecord) -> None:
        """Show a phase record: list position, its matrix, highlights, signal."""
        self.last = rec
        self._mark(rec)
        self._show_matrix(rec)
        self._show_status(rec)
        target = phase_heatmap(rec.kind, rec.layer, len(self.spec.layers))
        if target is not None:
            self.ctx.request_highlight(*target)
        self.phaseShown.emit(rec)

    def _show_status(self, rec: PhaseRecord) -> None:
        """Where the batch is and the equation of the phase, in the current notation."""
        loss = f", C = {rec.loss:.4g}" if rec.loss is not None else ""
        done = ""
        if rec.kind == "update":
            cfg = self.ctx.config
            done = (f"<br>Every layer's W and b moved ({cfg.optimizer}, η = {cfg.lr:g}): "
                    f"mini-batch {rec.step + 1} is done; the next Step starts a new one.")
        eq = phase_equation(rec.kind, rec.layer, self.spec, self.notation)
        self.status.setText(f"Step {rec.step + 1}, phase {rec.index + 1}/{rec.total}: "
                            f"<b>{eq}</b>{loss}{done}")

    def _mark(self, rec: PhaseRecord) -> None:
        if rec.total != len(self._plan):
            return
        self._states = ["done" if r < rec.index else "current" if r == rec.index else "todo"
                        for r in range(len(self._plan))]
        self._draw_strip()

    def phase_states(self) -> list[tuple[str, str]]:
        """``(phase name, "done" | "current" | "todo")`` for every phase of the batch."""
        return [(phase_name(k, l, self.spec), st)
                for (k, l), st in zip(self._plan, self._states, strict=True)]

    def _draw_strip(self) -> None:
        size = 20 if self._presentation else 12
        chips = []
        for (kind, layer), st in zip(self._plan, self._states, strict=True):
            text = phase_chip(kind, layer)
            if st == "current":
                chips.append(f'<span style="background:{_NOW_BG}; color:{_NOW_FG}">'
                             f"<b>&nbsp;▶&nbsp;{text}&nbsp;</b></span>")
            elif st == "done":
                chips.append(f'<span style="color:{_DONE}">{text}</span>')
            else:
                chips.append(f'<span style="color:{_TODO}">{text}</span>')
        self.strip.setText(f'<span style="font-size:{size}pt">' + " &nbsp;".join(chips)
                           + "</span>")

    def _show_matrix(self, rec: PhaseRecord) -> None:
        self.heatmap.setVisible(rec.matrix is not None)    # the update has no one matrix
        if rec.matrix is None:
            return
        M = display_matrix(rec.kind, rec.matrix, self.notation)
        rows, cols = phase_axis_labels(rec.kind, self.notation)
        title = f"{phase_matrix_name(rec.kind, rec.layer)} — {shape_text(M.shape)}  (just computed)"
        self.heatmap.set_matrix(M, title, rows, cols)
