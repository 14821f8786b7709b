"""Tied weights: one W used twice gets the sum of both gradients (notes on the math of
neural networks with reused weights, §3).

When layer 2 reuses layer 1's W and b, the cost depends on W along two paths,
and the chain rule adds them::

    ∂C/∂W = (1/K) δ⁽¹⁾ᵀ x  +  (1/K) δ⁽²⁾ᵀ a⁽¹⁾        (one term per use)

The engine records each use's term as ``LayerRecord.dW`` of that layer and
their sum as ``BackpropRecord.grads["W{owner}"]``, which is what the update
uses. This view shows the terms side by side, their sum, and the check value
``max |sum − Σ uses|``, on one colour scale so that sizes compare. Small
matrices carry their numbers in the cells (the heatmaps' own numbers: one scale,
so one power of ten, written in each title and read by the colour bar too), so
that the sum can be checked by eye.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..contract import PanelContext, PanelMixin
from ..notation import T, axis_labels, check, display_matrix, shape_text, sup
from ..presentation import base_font, scaled_font
from ..views.heatmap import Heatmap
from .panel_menu import ExportMenuMixin

NO_TIED_TEXT = (
    "<h2>This network has no tied layers</h2>"
    "<p>Tied (shared) weights: a layer that reuses an earlier layer's W and b, as in "
    "the notes on the math of neural networks with reused weights (§3). The gradient "
    "of the shared W is then the <b>sum</b> of one term "
    "per use.</p><p>To see it: <b>load the “tied” preset</b>, or in the layer editor set "
    "<b>tie to</b> on a layer whose W has the same shape as an earlier layer's "
    "(in 2 → 4 → 4 → 4 → 1, layer 3 can reuse layer 2's 4×4 W; the tied preset "
    "reuses a 2×2 W on 2 inputs, as in the seed).</p>")


@dataclass(frozen=True)
class TiedGroup:
    """The uses of one shared parameter pair ``W{owner}``, ``b{owner}``.

    ``users`` are the layer indices (0-based) that use it, in forward order; ``dW[u]``
    and ``db[u]`` are their contributions; ``grad_W``/``grad_b`` the recorded totals.
    """

    owner: int
    users: tuple[int, ...]
    dW: tuple[np.ndarray, ...]
    db: tuple[np.ndarray, ...]
    grad_W: np.ndarray
    grad_b: np.ndarray

    def sum_W(self) -> np.ndarray:
        return np.sum(np.stack([np.asarray(d, np.float64) for d in self.dW]), axis=0)

    def sum_b(self) -> np.ndarray:
        return np.sum(np.stack([np.asarray(d, np.float64) for d in self.db]), axis=0)

    def check(self) -> float:
        """``max |grad − Σ uses|`` over the entries of W and b."""
        return float(max(np.abs(self.grad_W - self.sum_W()).max(),
                         np.abs(self.grad_b - self.sum_b()).max()))


def tied_groups(record: Any) -> list[TiedGroup]:
    """Every parameter used by more than one layer of a BackpropRecord."""
    users: dict[int, list[int]] = {}
    for i, ly in enumerate(record.layers):
        users.setdefault(int(ly.owner), []).append(i)
    out = []
    for owner, us in sorted(users.items()):
        if len(us) < 2:
            continue
        L = record.layers
        out.append(TiedGroup(owner, tuple(us), tuple(L[u].dW for u in us),
                             tuple(L[u].db for u in us), np.asarray(record.grads[f"W{owner}"]),
                             np.asarray(record.grads[f"b{owner}"])))
    return out


def _has_ties(spec: Any) -> bool:
    return spec is not None and any(ly.tie_to is not None for ly in spec.layers)


class TiedView(PanelMixin, ExportMenuMixin, QWidget):
    """The tied-weights panel (registry name ``"tied"``)."""

    export_name = "bpviz-tied-weights"
    draws_snapshots = True

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._notation = check(ctx.notation)
        self._presentation = False
        self._groups: list[TiedGroup] = []
        self._spec = ctx.spec

        self.group_box = QComboBox()
        self.group_box.currentIndexChanged.connect(lambda _i: self._redraw())
        self.param_W = QRadioButton("W")
        self.param_b = QRadioButton("b")
        self.param_W.setChecked(True)
        grp = QButtonGroup(self)
        grp.addButton(self.param_W)
        grp.addButton(self.param_b)
        self.param_W.toggled.connect(lambda _on: self._redraw())
        bar = QHBoxLayout()
        bar.addWidget(QLabel("shared parameters:"))
        bar.addWidget(self.group_box)
        bar.addSpacing(16)
        bar.addWidget(QLabel("show:"))
        bar.addWidget(self.param_W)
        bar.addWidget(self.param_b)
        bar.addStretch(1)
        self.controls = QWidget()
        self.controls.setLayout(bar)
        bar.setContentsMargins(0, 0, 0, 0)

        self.equation = QLabel("")
        self.equation.setTextFormat(Qt.TextFormat.RichText)
        self.equation.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.equation.setWordWrap(True)
        self.check_label = QLabel("")
        self.check_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.row = QHBoxLayout()
        self.heatmaps: list[Heatmap] = []
        self._ops: list[QLabel] = []
        row_w = QWidget()
        row_w.setLayout(self.row)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.sum_map = Heatmap(row_w)
        self.row.addWidget(self.sum_map, 1)

        shown = QWidget()
        v = QVBoxLayout(shown)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(self.controls)
        v.addWidget(self.equation)
        v.addWidget(row_w, 1)
        v.addWidget(self.check_label)
        self.message = QLabel(NO_TIED_TEXT)
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setMargin(24)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.message)
        self.stack.addWidget(shown)
        lay = QVBoxLayout(self)
        lay.addWidget(self.stack)
        self._style()
        self.set_spec(self._spec)
        ctx.specChanged.connect(self.set_spec)
        ctx.notationChanged.connect(self.set_notation)
        snap = ctx.latest_snapshot()
        if snap is not None:
            self.show_snapshot(snap)

    # ------------------------------------------------------------ panel API
    def set_spec(self, spec: Any) -> None:
        self._spec = spec
        self.clear()

    def clear(self) -> None:
        """Fresh weights (reset): wait for the next mini-batch."""
        self._groups = []
        ties = _has_ties(self._spec)
        self.stack.setCurrentIndex(1 if ties else 0)
        if ties:
            self.check_label.setText("waiting for a mini-batch… (press Play or Step)")

    def show_snapshot(self, snap: Any) -> None:
        rec = snap.step.backprop
        if rec is None:
            return
        groups = tied_groups(rec)
        self.stack.setCurrentIndex(1 if groups else 0)
        if not groups:
            return
        if [g.owner for g in groups] != [g.owner for g in self._groups]:
            self._fill_groups(groups)
        self._groups = groups
        self._redraw()

    def set_notation(self, notation: str) -> None:
        self._notation = check(notation)
        self._redraw()

    def set_presentation(self, on: bool) -> None:
        self._presentation = bool(on)
        self.controls.setVisible(not on or len(self._groups) > 1)
        for hm in [*self.heatmaps, self.sum_map]:
            hm.set_presentation(on)
        self._style()
        self._redraw()

    def groups(self) -> list[TiedGroup]:
        return list(self._groups)

    def export_matrices(self) -> dict[str, np.ndarray]:
        return {hm.title().split("—")[0].strip(): hm.matrix()
                for hm in [*self.heatmaps, self.sum_map] if hm.isVisible()}

    # ------------------------------------------------------------ drawing
    def _fill_groups(self, groups: list[TiedGroup]) -> None:
        self.group_box.blockSignals(True)
        self.group_box.clear()
        for g in groups:
            layers = ", ".join(str(u + 1) for u in g.users)
            self.group_box.addItem(f"W{sup(g.owner + 1)}, b{sup(g.owner + 1)} "
                                   f"(layers {layers})", g.owner)
        self.group_box.setCurrentIndex(0)
        self.group_box.blockSignals(False)
        self.controls.setVisible(not self._presentation or len(groups) > 1)

    def _ensure_heatmaps(self, n: int) -> None:
        if len(self.heatmaps) == n:
            return
        while self.row.count():
            self.row.takeAt(0)
        for w in [*self.heatmaps, *self._ops]:
            w.setParent(None)
            w.deleteLater()
        self.heatmaps, self._ops = [], []
        for u in range(n):
            if u:
                self._ops.append(self._op_label("+"))
                self.row.addWidget(self._ops[-1])
            hm = Heatmap(self, colorbar=False)
            hm.set_presentation(self._presentation)
            self.heatmaps.append(hm)
            self.row.addWidget(hm, 3)
        self._ops.append(self._op_label("="))
        self.row.addWidget(self._ops[-1])
        self.row.addWidget(self.sum_map, 4)   # + its colour bar
        self._style()

    def _op_label(self, text: str) -> QLabel:
        lab = QLabel(text)
        lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return lab

    def _redraw(self) -> None:
        if not self._groups:
            return
        pos = max(0, self.group_box.currentIndex())
        g = self._groups[min(pos, len(self._groups) - 1)]
        use_W = self.param_W.isChecked()
        mats = g.dW if use_W else g.db
        total = g.grad_W if use_W else g.grad_b
        kind = "dW" if use_W else "db"
        self._ensure_heatmaps(len(mats))
        sym = "dW" if use_W else "db"
        s = max(float(np.abs(M).max()) for M in [*mats, total]) or 1.0
        # one colour scale (-s, s) for all the heatmaps, so one power of ten for their
        # numbers, in every title and on the colour bar alike
        for k, (hm, u, M) in enumerate(zip(self.heatmaps, g.users, mats, strict=True)):
            A = display_matrix(kind, M, self._notation)
            hm.set_fixed_scale(s)
            hm.set_matrix(A, f"use {k + 1}: {sym} from layer {u + 1}",
                          *axis_labels(kind, self._notation))
        A = display_matrix(kind, total, self._notation)
        self.sum_map.set_fixed_scale(s)
        self.sum_map.set_matrix(A, "sum = what the update uses",
                                *axis_labels(kind, self._notation))
        self.equation.setText(self._equation_html(g, use_W) + "&nbsp;&nbsp;&nbsp; "
                              f"<span style='color:#555'>(each {shape_text(A.shape)})</span>")
        err = g.check()
        ok = err <= 1e-5 * max(s, 1e-30) + 1e-12
        self.check_label.setText(
            f"check: max |sum − Σ uses| = {err:.1e}  {'✓' if ok else '✗'}   "
            f"(one colour scale for all: ±{s:.3g})")

    def _equation_html(self, g: TiedGroup, use_W: bool) -> str:
        spec = self._spec
        mean = spec is None or spec.reduction == "mean"
        k = "(1/K) " if mean else ""
        terms = []
        for u in g.users:
            d, a = "δ" + sup(u + 1), "a" + sup(u)     # layer u+1 reads a^u (a⁰ = x)
            if not use_W:
                terms.append(f"{k}Σ<sub>k</sub> {d}<sub>k</sub>")
            elif self._notation == "in_out":
                terms.append(f"{k}{a}{T} {d}")
            else:
                terms.append(f"{k}{d}{T} {a}")
        lhs = f"∂C/∂{'W' if use_W else 'b'}{sup(g.owner + 1)}"
        return f"{lhs} &nbsp;=&nbsp; " + " &nbsp;+&nbsp; ".join(terms)

    def _style(self) -> None:
        p = self._presentation
        self.equation.setFont(scaled_font(base_font(), 1.6 if p else 1.3))
        self.check_label.setFont(scaled_font(base_font(), 1.1 if p else 1.0))
        for lab in self._ops:
            lab.setFont(scaled_font(base_font(), 2.0 if p else 2.2, bold=True))

