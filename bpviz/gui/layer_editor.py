"""The layer editor: the network as an editable list of layers.

Edits go to a *draft*; the trained network is untouched until a valid draft
is applied. Every change re-validates the draft with
:meth:`NetworkSpec.problems`: a bad field turns red and the reason appears
next to it, Apply is disabled and the controller disables Play until the
draft is fixed (or reverted). The input size follows the data set and the
output size follows the data set and the loss (the engine's fitting policy,
:func:`~bpviz.engine.fitting.output_units`).
Applying a new architecture discards trained weights, so it asks first
(:meth:`LayerEditor.confirm`, overridable in tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..engine import LayerSpec, NetworkSpec, output_units
from ..engine.spec import ACTIVATIONS, INITS, LOSSES, MAX_UNITS, REDUCTIONS, Problem
from .actions import focus_back_on_enter
from .contract import PanelContext, PanelMixin
from .notation import sup
from .widgets import ERROR_STYLE, error_label

BAD = "border: 2px solid #d32f2f; background: #fdecea;"


@dataclass
class DraftLayer:
    units: str
    activation: str
    tie_to: int | None = None


class LayerRow(QWidget):
    """One layer: units, activation, tie, live shapes, move/remove, error text."""

    def __init__(self, editor: LayerEditor, index: int, layer: DraftLayer, is_output: bool,
                 n_layers: int) -> None:
        super().__init__()
        self.index = index
        st = self.style()
        grid = QGridLayout(self)
        grid.setContentsMargins(2, 2, 2, 2)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(1)
        name = "output" if is_output else "hidden"
        self.title = QLabel(f"<b>Layer {index + 1}</b> <small>({name})</small>")
        grid.addWidget(self.title, 0, 0)
        self.units = QLineEdit(layer.units)
        self.units.setObjectName(f"units{index}")
        self.units.setMaximumWidth(70)
        self.units.setToolTip(f"number of neurons m, 1 to {MAX_UNITS}")
        if is_output:
            self.units.setReadOnly(True)
            self.units.setToolTip("the output size follows the data set and the loss")
        self.units.textEdited.connect(lambda t: editor._edit(index, units=t))
        focus_back_on_enter(self.units)   # then Space plays, never types
        grid.addWidget(self.units, 0, 1)
        self.activation = QComboBox()
        self.activation.setObjectName(f"activation{index}")
        self.activation.addItems(list(ACTIVATIONS))
        self.activation.setCurrentText(layer.activation)
        self.activation.currentTextChanged.connect(lambda t: editor._edit(index, activation=t))
        grid.addWidget(self.activation, 0, 2)
        self.tie = QComboBox()
        self.tie.setObjectName(f"tie{index}")
        self.tie.setToolTip("reuse the W and b of an earlier layer (notes on the math of neural "
                            "networks with reused weights, §3)")
        self.tie.addItem("own W", None)
        for j in range(index):
            self.tie.addItem(f"W of layer {j + 1}", j)
        pos = self.tie.findData(layer.tie_to) if layer.tie_to is not None else 0
        if layer.tie_to is not None and pos < 0:
            self.tie.addItem(f"layer {layer.tie_to + 1}?", layer.tie_to)
            pos = self.tie.count() - 1
        self.tie.setCurrentIndex(pos)
        self.tie.setEnabled(index > 0)
        self.tie.currentIndexChanged.connect(
            lambda _i: editor._edit(index, tie_to=self.tie.currentData()))
        grid.addWidget(self.tie, 1, 1, 1, 2)
        buttons = QHBoxLayout()
        buttons.setSpacing(0)
        for icon, tip, delta, enabled in (
            (QStyle.StandardPixmap.SP_ArrowUp, "move up", -1, 0 < index and not is_output),
            (QStyle.StandardPixmap.SP_ArrowDown, "move down", +1, index < n_layers - 2),
        ):
            b = QToolButton()
            b.setIcon(st.standardIcon(icon))
            b.setToolTip(tip)
            b.setEnabled(enabled)
            b.clicked.connect(lambda _c=False, d=delta: editor.move_layer(index, d))
            buttons.addWidget(b)
        rm = QToolButton()
        rm.setObjectName(f"remove{index}")
        rm.setIcon(st.standardIcon(QStyle.StandardPixmap.SP_DialogDiscardButton))
        rm.setToolTip("remove this layer")
        rm.setEnabled(not is_output)
        rm.clicked.connect(lambda: editor.remove_layer(index))
        buttons.addWidget(rm)
        grid.addLayout(buttons, 1, 0)
        self.shapes = QLabel()
        self.shapes.setObjectName(f"shapes{index}")
        grid.addWidget(self.shapes, 2, 0, 1, 3)
        self.error = error_label(f"error{index}")
        grid.addWidget(self.error, 3, 0, 1, 3)
        grid.setColumnStretch(2, 1)

    def show_problems(self, probs: list[Problem]) -> None:
        fields = {p.field for p in probs}
        self.units.setStyleSheet(BAD if "units" in fields else "")
        self.activation.setStyleSheet(BAD if "activation" in fields else "")
        self.tie.setStyleSheet(BAD if "tie_to" in fields else "")
        self.error.setText("\n".join(p.message for p in probs))
        self.error.setVisible(bool(probs))


class LayerEditor(PanelMixin, QWidget):
    """The "Network" panel. ``validityChanged(bool)``: whether the draft is valid."""

    validityChanged = Signal(bool)

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._draft: list[DraftLayer] = []
        self._rows: list[LayerRow] = []
        self._problems: list[Problem] = []
        self._valid = True
        outer = QVBoxLayout(self)
        self.inputs = QLabel()
        self.inputs.setObjectName("inputs")
        outer.addWidget(self.inputs)
        self._rows_box = QWidget()
        self._rows_layout = QVBoxLayout(self._rows_box)
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._rows_box)
        outer.addWidget(scroll, 1)
        self.add_button = QPushButton("Add hidden layer")
        self.add_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_FileDialogNewFolder))
        self.add_button.clicked.connect(lambda: self.add_layer())
        outer.addWidget(self.add_button)
        form = QFormLayout()
        self.loss = QComboBox()
        self.loss.setObjectName("loss")
        self.loss.addItems(list(LOSSES))
        self.init = QComboBox()
        self.init.setObjectName("init")
        self.init.addItems(list(INITS))
        self.reduction = QComboBox()
        self.reduction.addItems(list(REDUCTIONS))
        self.reduction.setToolTip("mean: gradients carry 1/K; sum: no 1/K (notes on vectorizing "
                                  "over m examples)")
        for w in (self.loss, self.init, self.reduction):
            w.currentTextChanged.connect(lambda _t: self._revalidate())
        form.addRow("Loss", self.loss)
        form.addRow("Initialiser", self.init)
        form.addRow("Reduction", self.reduction)
        outer.addLayout(form)
        self.error = error_label()
        outer.addWidget(self.error)
        self.status = QLabel()
        self.status.setWordWrap(True)
        outer.addWidget(self.status)
        row = QHBoxLayout()
        self.apply_button = QPushButton("Apply")
        self.apply_button.setObjectName("apply")
        self.apply_button.setToolTip("build the edited network (new weights)")
        self.apply_button.clicked.connect(self.apply)
        self.revert_button = QPushButton("Revert")
        self.revert_button.setToolTip("forget the edits; back to the network in use")
        self.revert_button.clicked.connect(self.revert)
        row.addWidget(self.apply_button)
        row.addWidget(self.revert_button)
        outer.addLayout(row)
        ctx.specChanged.connect(self.set_spec)
        ctx.datasetChanged.connect(lambda _ds: self._revalidate())
        ctx.configChanged.connect(lambda _c: self._update_shapes())
        self.set_spec(ctx.spec)

    # ------------------------------------------------------------ the draft
    def set_spec(self, spec: NetworkSpec) -> None:
        """Show ``spec`` (the network in use); unapplied edits are dropped."""
        self._draft = [DraftLayer(str(ly.units), ly.activation, ly.tie_to)
                       for ly in spec.layers]
        for combo, value in ((self.loss, spec.loss), (self.init, spec.init),
                             (self.reduction, spec.reduction)):
            combo.blockSignals(True)
            combo.setCurrentText(value)
            combo.blockSignals(False)
        self._rebuild()

    def _n_outputs(self) -> int:
        ds = self.ctx.dataset
        return output_units(ds.n_classes, ds.n_targets, self.loss.currentText())

    def draft(self) -> tuple[NetworkSpec, list[Problem]]:
        """The edited spec and everything wrong with it (empty when valid)."""
        own: list[Problem] = []
        layers = []
        last = len(self._draft) - 1
        for i, d in enumerate(self._draft):
            units: Any
            if i == last:
                units = self._n_outputs()
            else:
                text = d.units.strip()
                try:
                    units = int(text)
                except ValueError:
                    units = text
                    what = "empty" if not text else f"'{text}' is not a whole number"
                    own.append(Problem("units", f"units: {what}; type the number of "
                                                f"neurons, 1 to {MAX_UNITS}", i))
            layers.append(LayerSpec(units, d.activation, d.tie_to))
        spec = NetworkSpec(self.ctx.dataset.n_features, tuple(layers), self.loss.currentText(),
                           self.reduction.currentText(), self.init.currentText())
        bad_units = {p.layer for p in own}
        probs = own + [p for p in spec.problems()
                       if not (p.field == "units" and p.layer in bad_units)]
        return spec, probs

    def is_valid(self) -> bool:
        return self._valid

    def problems(self) -> list[Problem]:
        return list(self._problems)

    # ------------------------------------------------------------ edits
    def _edit(self, i: int, **changes: Any) -> None:
        for k, v in changes.items():
            setattr(self._draft[i], k, v)
        self._revalidate()

    def add_layer(self, units: int = 8, activation: str = "tanh") -> None:
        """Insert a hidden layer just before the output layer."""
        self._draft.insert(max(len(self._draft) - 1, 0), DraftLayer(str(units), activation))
        self._fix_ties_after_insert(len(self._draft) - 2)
        self._rebuild()

    def remove_layer(self, i: int) -> None:
        if i >= len(self._draft) - 1:
            return
        del self._draft[i]
        for d in self._draft:
            if d.tie_to is not None:
                d.tie_to = None if d.tie_to == i else (d.tie_to - 1 if d.tie_to > i else d.tie_to)
        self._rebuild()

    def move_layer(self, i: int, delta: int) -> None:
        j = i + delta
        if not (0 <= i < len(self._draft) - 1 and 0 <= j < len(self._draft) - 1):
            return
        self._draft[i], self._draft[j] = self._draft[j], self._draft[i]
        swap = {i: j, j: i}
        for d in self._draft:
            if d.tie_to in swap:
                d.tie_to = swap[d.tie_to]
        self._rebuild()

    def _fix_ties_after_insert(self, pos: int) -> None:
        for k, d in enumerate(self._draft):
            if k != pos and d.tie_to is not None and d.tie_to >= pos:
                d.tie_to += 1

    def set_units(self, i: int, text: str) -> None:
        """Type ``text`` into layer ``i``'s units field (as a user would)."""
        self._rows[i].units.setText(text)
        self._edit(i, units=text)

    def row(self, i: int) -> LayerRow:
        return self._rows[i]

    # ------------------------------------------------------------ apply
    def confirm(self, title: str, text: str) -> bool:
        """Ask before discarding trained weights (tests override this)."""
        answer = QMessageBox.question(self, title, text,
                                      QMessageBox.StandardButton.Apply
                                      | QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Apply

    def apply(self) -> bool:
        """Build the draft network; returns False if invalid or cancelled."""
        spec, probs = self.draft()
        if probs:
            return False
        if spec == self.ctx.spec:
            self._revalidate()
            return True
        if self.ctx.has_trained_weights() and not self.confirm(
                "Start the new network?",
                f"The new network {spec.describe()} starts from fresh weights; the "
                f"{self.ctx.trained_steps():,} training steps so far stay in Edit ▸ Undo."):
            self.status.setText("Not applied: the trained network is unchanged.")
            return False
        return self.ctx.set_spec(spec)

    def revert(self) -> None:
        self.set_spec(self.ctx.spec)

    # ------------------------------------------------------------ display
    def _rebuild(self) -> None:
        while self._rows_layout.count():
            item = self._rows_layout.takeAt(0)
            w = item.widget()
            if w is not None:
                w.setParent(None)
                w.deleteLater()
        self._rows = []
        last = len(self._draft) - 1
        for i, d in enumerate(self._draft):
            if i == last:
                d.units = str(self._n_outputs())
            r = LayerRow(self, i, d, i == last, len(self._draft))
            self._rows_layout.addWidget(r)
            self._rows.append(r)
        self._rows_layout.addStretch(1)
        self._revalidate()

    def _revalidate(self) -> None:
        if self._rows and self._draft:
            out = str(self._n_outputs())
            self._draft[-1].units = out
            self._rows[-1].units.setText(out)
        spec, probs = self.draft()
        self._problems = probs
        per_layer: dict[int, list[Problem]] = {}
        general = []
        for p in probs:
            (per_layer.setdefault(p.layer, []) if p.layer is not None else general).append(p)
        for i, r in enumerate(self._rows):
            r.show_problems(per_layer.get(i, []))
        self.loss.setStyleSheet(BAD if any(p.field == "loss" for p in general) else "")
        self.error.setText("\n".join(p.message for p in general))
        self.error.setVisible(bool(general))
        ds = self.ctx.dataset
        self.inputs.setText(f"<b>Input</b>: {ds.n_features} features "
                            f"(from the data set <i>{ds.name}</i>)")
        self._update_shapes()
        valid = not probs
        changed = valid and spec != self.ctx.spec
        self.apply_button.setEnabled(valid and changed)
        self.revert_button.setEnabled(bool(probs) or changed)
        if probs:
            self.status.setText(f"<span style='{ERROR_STYLE}'>{len(probs)} problem(s): fix them "
                                "or Revert. Play is disabled until then.</span>")
        elif changed:
            self.status.setText("Edited: press Apply to build this network "
                                f"({spec.describe()}).")
        else:
            self.status.setText(f"In use: {self.ctx.spec.describe()}, "
                                f"{self.ctx.spec.n_params():,} parameters.")
        if valid != self._valid:
            self._valid = valid
            self.validityChanged.emit(valid)
        self.ctx.set_play_blocked(not valid, "fix the network (see the Network panel)")

    def _update_shapes(self) -> None:
        K = self.ctx.effective_batch_size()
        n = self.ctx.dataset.n_features
        for i, (r, d) in enumerate(zip(self._rows, self._draft, strict=False)):
            try:
                m = int(d.units)
            except ValueError:
                m = None
            l = i + 1
            ms = "?" if m is None else str(m)
            tied = "" if d.tie_to is None else f" (= W{sup(d.tie_to + 1)})"
            r.shapes.setText(f"W{sup(l)} {ms}×{n}{tied}   a{sup(l - 1)} {K}×{n}   "
                             f"δ{sup(l)} {K}×{ms}")
            n = m if m is not None else "?"
