"""Outer-product view: ``dW = (1/K) δᵀa`` built one sample at a time.

The lesson of the Cross Validated question 'vectorized version of one of the
backpropagation equations' and its answer: the matrix product is the sum of one
outer product per sample.

For the chosen layer and one mini-batch (from the latest snapshot's
:class:`~bpviz.engine.records.BackpropRecord`), a slider picks sample k = 1…K
and four heatmaps show

1. the outer product of sample k, ``(1/K) δ_kᵀ a_k`` (m×n: column δ_k times row a_k),
2. the running sum ``Σ_{j≤k} (1/K) δ_jᵀ a_j``,
3. the vectorized product ``(1/K) δᵀa``, which is the record's ``dW``,
4. their difference, which reaches zero at k = K (up to float32 rounding).

The 1/K is the engine's (reduction "mean"); with "sum" there is none. Rows k
of the small ``δ`` and ``a`` heatmaps are outlined. Play animates k; "Freeze
batch" keeps the mini-batch while training runs on. In the ``in_out``
notation the m×n matrices are shown as their n×m transposes ``a_kᵀ δ_k``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ..contract import PanelContext, PanelMixin
from ..notation import axis_labels, check, display_matrix, shape_text, sub, sup
from ..views.heatmap import Heatmap
from .layer_picker import LayerPicker
from .panel_menu import ExportMenuMixin

#: One sweep k = 1…K takes about this long when playing (ms), at most FRAME_MS per sample.
SWEEP_MS = 6000
MIN_FRAME_MS, MAX_FRAME_MS = 40, 600
#: |difference| below this fraction of max |dW| counts as zero (float32 rounding).
ZERO_TOL = 1e-5

_OK, _BAD = "#1a7f37", "#b35900"


def outer_term(delta: np.ndarray, a_prev: np.ndarray, k: int, scale: float) -> np.ndarray:
    """``scale · δ_kᵀ a_k`` (m×n) for 1-based sample k, in float64."""
    return scale * np.outer(delta[k - 1].astype(np.float64), a_prev[k - 1].astype(np.float64))


def running_sum(delta: np.ndarray, a_prev: np.ndarray, k: int, scale: float) -> np.ndarray:
    """``Σ_{j≤k} scale · δ_jᵀ a_j`` (m×n) in float64: the loop's partial sum after k samples."""
    d = delta[:k].astype(np.float64)
    a = a_prev[:k].astype(np.float64)
    return scale * (d.T @ a)


class OuterProductView(PanelMixin, ExportMenuMixin, QWidget):
    """The running sum of outer products against the vectorized ``δᵀa`` (see module notes)."""

    export_name = "bpviz-outer-product"
    draws_snapshots = True

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.notation = check(ctx.notation)
        self.spec = ctx.spec
        self._record: Any = None
        self._step: int | None = None
        self._k = 1
        self._presentation = False
        self._maxdiff = float("nan")

        self.layer_box = LayerPicker()
        self.layer_box.setToolTip("Which layer's dW to build up")
        self.freeze_box = QCheckBox("Freeze batch")
        self.freeze_box.setToolTip("Keep this mini-batch while training goes on")
        self.play_button = QPushButton("▶ Play")
        self.play_button.setToolTip("Add the samples one by one (k = 1 … K)")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimum(1)
        self.slider.setPageStep(1)
        self.k_label = QLabel()
        self.k_label.setMinimumWidth(90)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.diff_label = QLabel()
        self.diff_label.setTextFormat(Qt.TextFormat.RichText)
        self.diff_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.diff_label.setWordWrap(True)   # in large type it must not widen the panel

        self.heatmaps: dict[str, Heatmap] = {
            name: Heatmap(colorbar=name in ("outer", "difference"))
            for name in ("delta", "a", "outer", "running", "vectorized", "difference")}
        for hm in self.heatmaps.values():
            hm.setMinimumSize(120, 140)

        top = QHBoxLayout()
        top.addWidget(QLabel("Layer"))
        top.addWidget(self.layer_box)
        top.addWidget(self.freeze_box)
        top.addWidget(self.play_button)
        top.addWidget(QLabel("k"))
        top.addWidget(self.slider, 1)
        top.addWidget(self.k_label)
        grid = QGridLayout()
        h = self.heatmaps
        grid.addWidget(h["delta"], 0, 0)
        grid.addWidget(h["a"], 1, 0)
        grid.addWidget(h["outer"], 0, 1)
        grid.addWidget(h["running"], 0, 2)
        grid.addWidget(h["vectorized"], 1, 1)
        grid.addWidget(h["difference"], 1, 2)
        grid.setColumnStretch(0, 2)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(2, 3)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.info)
        lay.addLayout(grid, 1)
        lay.addWidget(self.diff_label)

        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.layer_box.currentIndexChanged.connect(lambda _i: self.refresh())
        self.slider.valueChanged.connect(self.set_k)
        self.play_button.clicked.connect(self.toggle_play)
        self.freeze_box.toggled.connect(self._freeze_toggled)
        ctx.specChanged.connect(self.set_spec)
        ctx.notationChanged.connect(self.set_notation)
        if self.spec is not None:
            self.set_spec(self.spec)
        snap = ctx.latest_snapshot()
        if snap is not None:
            self.show_snapshot(snap)
        else:
            self.refresh()

    # ------------------------------------------------------------ panel API
    def set_spec(self, spec: Any) -> None:
        """Rebuild the layer list; the old batch no longer fits, so it is dropped."""
        self.spec = spec
        self.layer_box.fill(spec, lambda i, m, n: f"{i + 1}  (W{sup(i + 1)} {m}×{n})")
        if self._record is not None and not self._fits(self._record):
            self._record = None
            self.freeze_box.setChecked(False)
        self.refresh()

    def set_notation(self, notation: str) -> None:
        self.notation = check(notation)
        self.refresh()

    def show_snapshot(self, snap: Any) -> None:
        """Take the snapshot's mini-batch unless the batch is frozen."""
        if self.freeze_box.isChecked() or snap is None:
            return
        rec = snap.step.backprop
        if rec is None or not self._fits(rec):
            return
        self._record = rec
        self._step = snap.step.step
        self.refresh()

    def heightForWidth(self, _w: int) -> int:  # noqa: N802 - Qt API
        # The wrapped labels make the layout height-for-width, and a scroll area then
        # sizes the view to its preferred height (twice the dock): opt out, so the two
        # rows of heatmaps share the dock's height instead of scrolling.
        return -1

    def set_presentation(self, on: bool) -> None:
        self._presentation = bool(on)
        for hm in self.heatmaps.values():
            hm.set_presentation(on)
            # a dock squeezed by its neighbours must still show readable matrices
            hm.setMinimumSize(200 if on else 120, 170 if on else 140)
        f = self.k_label.font()
        f.setPointSize(20 if on else 10)
        f.setBold(on)
        self.k_label.setFont(f)
        self.refresh()

    # ------------------------------------------------------------ state
    def layer(self) -> int:
        return self.layer_box.layer() or 0

    def set_layer(self, i: int) -> None:
        self.layer_box.set_layer(i)

    def k(self) -> int:
        return self._k

    def K(self) -> int:  # noqa: N802 (the seeds' name)
        return 0 if self._record is None else int(self._record.layers[0].delta.shape[0])

    def scale(self) -> float:
        """The engine's factor: 1/K for the mean reduction, 1 for "sum"."""
        reduction = self.spec.reduction if self.spec is not None else "mean"
        return 1.0 / self.K() if reduction == "mean" and self.K() else 1.0

    def max_difference(self) -> float:
        """``max |Σ_{j≤k} − δᵀa|`` as shown (NaN without a batch)."""
        return self._maxdiff

    def set_k(self, k: int) -> None:
        K = self.K()
        k = int(min(max(1, k), max(K, 1)))
        if k != self._k:
            self._k = k
            if self.slider.value() != k:
                self.slider.setValue(k)
        self.refresh()

    def toggle_play(self) -> None:
        if self.timer.isActive():
            self.stop()
        else:
            self.play()

    def play(self) -> None:
        """Animate k from 1 (or from where it is) to K; freezes the batch."""
        K = self.K()
        if K == 0:
            return
        self.freeze_box.setChecked(True)
        if self._k >= K:
            self.set_k(1)
        self.timer.start(int(min(MAX_FRAME_MS, max(MIN_FRAME_MS, SWEEP_MS // K))))
        self.play_button.setText("⏸ Pause")

    def stop(self) -> None:
        self.timer.stop()
        self.play_button.setText("▶ Play")

    def _tick(self) -> None:
        if self._k >= self.K():
            self.stop()
            return
        self.set_k(self._k + 1)
        if self._k >= self.K():
            self.stop()

    def _freeze_toggled(self, on: bool) -> None:
        if not on:
            self.stop()
            snap = self.ctx.latest_snapshot()
            if snap is not None:
                self.show_snapshot(snap)

    def _fits(self, rec: Any) -> bool:
        spec = self.spec
        if spec is None:
            return True
        if len(rec.layers) != len(spec.layers):
            return False
        return all(ly.dW.shape == spec.weight_shape(i) for i, ly in enumerate(rec.layers))

    def export_matrices(self) -> dict[str, np.ndarray]:
        return {name: hm.matrix() for name, hm in self.heatmaps.items() if self._record}

    # ------------------------------------------------------------ drawing
    def refresh(self) -> None:
        rec = self._record
        if rec is None or self.spec is None:
            self.info.setText("Waiting for a mini-batch: press <b>Play</b> or <b>Step</b> "
                              "in the toolbar.")
            self.diff_label.setText("")
            self.slider.setEnabled(False)
            self.play_button.setEnabled(False)
            self._maxdiff = float("nan")
            return
        self.slider.setEnabled(True)
        self.play_button.setEnabled(True)
        i = min(self.layer(), len(rec.layers) - 1)
        ly = rec.layers[i]
        K = ly.delta.shape[0]
        self.slider.blockSignals(True)
        self.slider.setMaximum(K)
        self._k = min(max(self._k, 1), K)
        self.slider.setValue(self._k)
        self.slider.blockSignals(False)
        k, s = self._k, self.scale()
        out_in = self.notation == "out_in"
        l, p = sup(i + 1), sup(i)
        sk = sub("k")
        mean = s != 1.0
        frac = "(1/K) " if mean else ""
        T = "ᵀ"

        outer = outer_term(ly.delta, ly.a_prev, k, s)
        run = running_sum(ly.delta, ly.a_prev, k, s)
        vec = np.asarray(ly.dW, dtype=np.float64)
        diff = run - vec
        self._maxdiff = float(np.abs(diff).max()) if diff.size else 0.0
        big = float(max(np.abs(vec).max(initial=0.0), np.abs(run).max(initial=0.0)))

        def disp(M: np.ndarray) -> np.ndarray:
            return display_matrix("dW", M, self.notation)

        prod_k = f"δ{l}{sk}{T} a{p}{sk}" if out_in else f"a{p}{sk}{T} δ{l}{sk}"
        prod = f"δ{l}{T} a{p}" if out_in else f"a{p}{T} δ{l}"
        shp = shape_text(disp(vec).shape)
        rows, cols = axis_labels("dW", self.notation)
        h = self.heatmaps
        h["delta"].set_matrix(ly.delta, f"δ{l} — {shape_text(ly.delta.shape)}",
                              *axis_labels("delta", self.notation))
        h["a"].set_matrix(ly.a_prev, f"a{p} — {shape_text(ly.a_prev.shape)}"
                          + ("  (= X)" if i == 0 else ""), *axis_labels("a", self.notation))
        for name in ("delta", "a"):
            h[name].highlight_rows([k - 1])
        if self._presentation:      # 20 pt titles: short, or they push the colour bar out
            titles = (f"sample k = {k}", f"Σ samples 1…{k}", f"vectorized dW{l}", "difference")
        else:
            titles = (f"sample {k}:  {frac}{prod_k}", f"sum of samples 1…{k}",
                      f"{frac}{prod} = dW{l}", "sum − vectorized")
        for name in ("running", "vectorized", "difference"):   # one shared colour scale
            h[name].set_fixed_scale(big)
        for name, M, title in zip(("outer", "running", "vectorized", "difference"),
                                  (outer, run, vec, diff), titles, strict=True):
            h[name].set_matrix(disp(M), title, rows, cols)

        step = f" of step {self._step}" if self._step is not None else ""
        scale_txt = (f"mean over the batch: every term carries 1/K = 1/{K}" if mean
                     else "reduction “sum”: no 1/K")
        col_row = f"column δ{sk} × row a{sk}" if out_in else f"column a{sk} × row δ{sk}"
        if self._presentation:
            self.info.setText(f"<b>dW{l} = {frac}Σ<sub>k</sub> {prod_k}</b>: one outer product "
                              f"per sample, K = {K}")
        else:
            self.info.setText(
                f"<b>dW{l} = {frac}Σ<sub>k</sub> {prod_k}</b> — each sample k adds one outer "
                f"product ({col_row}, {shp}); the vectorized <b>{frac}{prod}</b> does all {K} "
                f"at once. K = {K}{step}; {scale_txt}. The sum, the vectorized product and "
                "their difference share one colour scale.")
        self.k_label.setText(f"k = {k} / {K}")
        zero = self._maxdiff <= ZERO_TOL * max(big, 1e-30)
        color = _OK if zero else _BAD
        verdict = " ≈ 0 ✓  the loop and the matrix product agree" if zero and k == K else (
            " ≈ 0" if zero else f"  ({K - k} sample{'s' if K - k != 1 else ''} still to add)")
        size = 22 if self._presentation else 14
        self.diff_label.setText(
            f'<span style="font-size:{size}pt; color:{color}">max |running sum − '
            f"vectorized| = <b>{self._maxdiff:.3g}</b>{verdict}</span>")
