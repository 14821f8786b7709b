"""The "Data and training" panel: data set, noise, split; batch size, learning rate, ...

Data changes rebuild the data set (and the network's input/output sizes);
learning rate, optimizer and regularisation apply live, between mini-batches.
Every value goes through the controller, which validates it: a bad one shows
its message here in red and leaves the previous state intact.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..engine.datasets import DATASETS, SYNTHETIC_2D
from ..engine.errors import BpvizError
from ..engine.optim import OPTIMIZERS
from .actions import focus_back_on_enter
from .contract import PanelContext, PanelMixin
from .widgets import error_label

BAD = "border: 2px solid #d32f2f; background: #fdecea;"
#: Log-scale learning-rate slider: 10^(LR_LOG_MIN .. LR_LOG_MAX), SLIDER_STEPS per decade.
LR_LOG_MIN, LR_LOG_MAX, SLIDER_STEPS = -5, 1, 20


def parse_number(text: str, name: str, low: float = 0.0, high: float = math.inf,
                 strict: bool = False) -> float:
    """``text`` as a finite float in range, else a :class:`BpvizError` saying why."""
    try:
        v = float(text.strip())
    except ValueError:
        raise BpvizError(f"{name}: '{text.strip()}' is not a number") from None
    if not math.isfinite(v) or v < low or (strict and v == low) or v > high:
        lo = f"> {low:g}" if strict else f">= {low:g}"
        raise BpvizError(f"{name} must be a number {lo} and <= {high:g}, got {text.strip()}")
    return v


class LogSlider(QSlider):
    """A horizontal slider over 10^min .. 10^max; ``valueChangedLog(float)``."""

    valueChangedLog = Signal(float)

    def __init__(self) -> None:
        super().__init__(Qt.Orientation.Horizontal)
        self.setRange(LR_LOG_MIN * SLIDER_STEPS, LR_LOG_MAX * SLIDER_STEPS)
        self.valueChanged.connect(lambda v: self.valueChangedLog.emit(self.to_value(v)))

    @staticmethod
    def to_value(pos: int) -> float:
        return float(f"{10 ** (pos / SLIDER_STEPS):.3g}")

    def set_log_value(self, v: float) -> None:
        pos = round(math.log10(max(v, 1e-12)) * SLIDER_STEPS)
        self.blockSignals(True)
        self.setValue(max(self.minimum(), min(self.maximum(), pos)))
        self.blockSignals(False)


class SettingsPanel(PanelMixin, QWidget):
    """Data set and training settings, bound to the controller."""

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._syncing = False
        outer = QVBoxLayout(self)
        data_box = QGroupBox("Data")
        form = QFormLayout(data_box)
        self.dataset = QComboBox()
        self.dataset.setObjectName("dataset")
        for name in DATASETS:
            self.dataset.addItem(name, name)
        self.dataset.setToolTip("every built-in data set; File ▸ Import data… for your own")
        self.dataset.activated.connect(self._dataset_picked)
        form.addRow("Data set", self.dataset)
        self.noise = QDoubleSpinBox()
        self.noise.setRange(0.0, 1.0)
        self.noise.setSingleStep(0.05)
        self.noise.setKeyboardTracking(False)
        self.noise.setToolTip("0 = clean, 1 = TensorFlow Playground's 50 % noise")
        self.noise.valueChanged.connect(lambda v: self._data_edit(noise=float(v)))
        form.addRow("Noise", self.noise)
        self.test_fraction = QDoubleSpinBox()
        self.test_fraction.setRange(0.0, 0.9)
        self.test_fraction.setSingleStep(0.05)
        self.test_fraction.setKeyboardTracking(False)
        self.test_fraction.setToolTip("fraction of the samples held out as the test set")
        self.test_fraction.valueChanged.connect(
            lambda v: self._data_edit(test_fraction=round(float(v), 4)))
        form.addRow("Test fraction", self.test_fraction)
        self.n_classes = QSpinBox()
        self.n_classes.setRange(2, 10)
        self.n_classes.setKeyboardTracking(False)
        self.n_classes.valueChanged.connect(lambda v: self._data_edit(n_classes=int(v)))
        form.addRow("Classes (blobs)", self.n_classes)
        self.regenerate = QPushButton("Regenerate")
        self.regenerate.setToolTip("draw the data set again (next seed)")
        self.regenerate.clicked.connect(ctx.regenerate)
        self.data_info = QLabel()
        self.data_info.setWordWrap(True)
        form.addRow(self.regenerate, self.data_info)
        outer.addWidget(data_box)

        train_box = QGroupBox("Training")
        tform = QFormLayout(train_box)
        self.batch = QSpinBox()
        self.batch.setObjectName("batch")
        self.batch.setKeyboardTracking(False)
        self.batch.setToolTip("mini-batch size K, from 1 to the whole training set")
        self.batch.valueChanged.connect(lambda v: self._train_edit(batch_size=int(v)))
        full = QPushButton("All")
        full.setToolTip("full batch: K = the whole training set")
        full.clicked.connect(lambda: self.batch.setValue(self.batch.maximum()))
        row = QHBoxLayout()
        row.addWidget(self.batch, 1)
        row.addWidget(full)
        tform.addRow("Batch size K", row)
        self.lr_slider = LogSlider()
        self.lr_slider.setObjectName("lr_slider")
        self.lr_slider.valueChangedLog.connect(self._lr_from_slider)
        self.lr_edit = QLineEdit()
        self.lr_edit.setObjectName("lr")
        self.lr_edit.setMaximumWidth(80)
        self.lr_edit.setToolTip("learning rate η (type a value, e.g. 0.03)")
        self.lr_edit.editingFinished.connect(self._lr_typed)
        row = QHBoxLayout()
        row.addWidget(self.lr_slider, 1)
        row.addWidget(self.lr_edit)
        tform.addRow("Learning rate", row)
        self.optimizer = QComboBox()
        self.optimizer.setObjectName("optimizer")
        self.optimizer.addItems(list(OPTIMIZERS))
        self.optimizer.activated.connect(
            lambda _i: self._train_edit(optimizer=self.optimizer.currentText()))
        tform.addRow("Optimizer", self.optimizer)
        self.l1 = QLineEdit()
        self.l1.setObjectName("l1")
        self.l2 = QLineEdit()
        self.l2.setObjectName("l2")
        for w, name in ((self.l1, "l1"), (self.l2, "l2")):
            w.setToolTip(f"{name.upper()} regularisation strength (0 = off)")
            w.editingFinished.connect(lambda w=w, name=name: self._reg_typed(w, name))
        row = QHBoxLayout()
        row.addWidget(QLabel("L1"))
        row.addWidget(self.l1)
        row.addWidget(QLabel("L2"))
        row.addWidget(self.l2)
        tform.addRow("Regularisation", row)
        self._train_form = tform
        self.method = QComboBox()
        self.method.setObjectName("method")
        self.method.addItems(["vectorized", "loop"])
        self.method.setToolTip("vectorized: δᵀa as one matrix product; loop: one outer product "
                               "per sample")
        self.method.activated.connect(lambda _i: ctx.set_method(self.method.currentText()))
        tform.addRow("Backprop", self.method)
        outer.addWidget(train_box)
        self.error = error_label()
        outer.addWidget(self.error)
        outer.addStretch(1)
        # Enter hands the focus back to the window: Space then plays, never types
        focus_back_on_enter(self.noise, self.test_fraction, self.n_classes, self.batch,
                            self.lr_edit, self.l1, self.l2)
        ctx.configChanged.connect(self._sync)
        ctx.dataChoiceChanged.connect(self._sync)
        ctx.datasetChanged.connect(self._sync)
        self._sync()

    # ------------------------------------------------------------ edits
    def _show_error(self, text: str, widget: QWidget | None = None) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))
        for w in (self.lr_edit, self.l1, self.l2):
            w.setStyleSheet(BAD if w is widget and text else "")   # red only with a reason

    def _dataset_picked(self, _i: int) -> None:
        name = self.dataset.currentData()
        if name == self.ctx.data_choice.name:
            return
        keep_work = getattr(self.window(), "keep_work", None)   # the main window's prompt
        if callable(keep_work) and not keep_work(f"Switch to the data set {name}"):
            self._sync()   # Cancel: the box names the data in use again
            return
        ch = self.ctx.data_choice
        self._apply_data(dict(name=name, noise=ch.noise, test_fraction=ch.test_fraction,
                              seed=ch.seed, n_classes=ch.n_classes))

    def _data_edit(self, **changes: Any) -> None:
        if self._syncing:
            return
        d = self.ctx.data_choice.to_dict()
        d.update(changes)
        self._apply_data(d)

    def _apply_data(self, d: dict[str, Any]) -> None:
        ok = self.ctx.set_data_choice(d)
        self._show_error("" if ok else self.ctx.last_error)
        if not ok:
            self._sync()

    def _train_edit(self, widget: QWidget | None = None, **changes: Any) -> bool:
        if self._syncing:
            return True
        ok = self.ctx.update_config(**changes)
        self._show_error("" if ok else self.ctx.last_error, widget)
        return ok

    def _lr_from_slider(self, v: float) -> None:
        if self._train_edit(lr=v):
            self.lr_edit.setText(f"{v:g}")

    def _lr_typed(self) -> None:
        try:
            v = parse_number(self.lr_edit.text(), "learning rate", 0.0, 1e3, strict=True)
        except BpvizError as exc:
            self._show_error(str(exc), self.lr_edit)
            return
        if v != self.ctx.config.lr and self._train_edit(self.lr_edit, lr=v):
            self.lr_slider.set_log_value(v)
        elif v == self.ctx.config.lr:
            self._show_error("")

    def _reg_typed(self, w: QLineEdit, name: str) -> None:
        try:
            v = parse_number(w.text(), name.upper(), 0.0, 1e3)
        except BpvizError as exc:
            self._show_error(str(exc), w)
            return
        if v != getattr(self.ctx.config, name):
            self._train_edit(w, **{name: v})
        else:
            self._show_error("")

    # ------------------------------------------------------------ from the controller
    def _sync(self, *_args: Any) -> None:
        """Show the controller's state (after any change, or a rejected edit)."""
        self._syncing = True
        try:
            ctx, ch, cfg, ds = self.ctx, self.ctx.data_choice, self.ctx.config, self.ctx.dataset
            i = self.dataset.findData(ch.name)
            if i < 0:
                self.dataset.addItem("", ch.name)
                i = self.dataset.count() - 1
            if ch.is_file:  # the file loaded now ("CSV: grades.csv (embedded)"), not an older one
                self.dataset.setItemText(i, f"CSV: {ch.file_name}")
            self.dataset.setCurrentIndex(i)
            synthetic = ch.name in SYNTHETIC_2D
            self.noise.setEnabled(synthetic)
            self.regenerate.setEnabled(synthetic)
            self.n_classes.setEnabled(ch.name == "blobs")
            self.noise.setValue(float(ch.noise))
            self.test_fraction.setValue(float(ch.test_fraction))
            self.n_classes.setValue(int(ch.n_classes))
            task = f"{ds.n_classes} classes" if ds.n_classes else "regression"
            self.data_info.setText(f"{len(ds.X_train)} train / {len(ds.X_test)} test, "
                                   f"{ds.n_features} features, {task}")
            self.batch.setRange(1, max(1, len(ds.X_train)))
            self.batch.setValue(ctx.effective_batch_size())
            self.lr_slider.set_log_value(cfg.lr)
            self.lr_edit.setText(f"{cfg.lr:g}")
            self.optimizer.setCurrentText(cfg.optimizer)
            self.l1.setText(f"{cfg.l1:g}")
            self.l2.setText(f"{cfg.l2:g}")
            self.method.setCurrentText(cfg.method)
        finally:
            self._syncing = False

    def set_presentation(self, on: bool) -> None:
        """Presentation mode hides the fine-tuning row (regularisation)."""
        self._train_form.setRowVisible(3, not on)  # the L1/L2 row

