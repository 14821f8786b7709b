"""The matrices panel: live heatmaps of a, δ, dW, W, db (and z) of one layer or all layers.

Engine layer ``i`` is displayed as layer ``l = i + 1``; titles, shapes and axis labels
come from :mod:`bpviz.gui.notation`.
Heatmaps are created once per (kind, layer) and reused; only the ones in the
current layout are updated, and nothing is drawn while the panel is hidden
(the last snapshot is kept and shown when it becomes visible).
A matrix larger than its heatmap comes pooled in the snapshot (``snap.pooled``,
made on the worker at the size :meth:`MatrixPanel.max_plot_side` reports) and is
drawn so; the heatmap keeps the record's matrix for the readout and the zoom.

Linked highlighting: hovering or clicking a cell reports it to the one selection
(``ctx.selection``, :mod:`bpviz.gui.selection`) in engine indices (a W or dW
cell turned back from the in × out display first); whatever the selection names,
from this panel or another (an arrow or a neuron of the graph), is outlined here
by the rule of :func:`bpviz.gui.selection.marks`, turned into each heatmap's
display by :meth:`~bpviz.gui.selection.Marks.display`.

Dead and saturated units (``snap.step.units``, computed on the worker by
``bpviz.engine.unit_stats``) are outlined, dead in grey and saturated in orange:
unit i of engine layer l is column i of its ``δ``, ``z`` and ``db``, row i of its
``W`` and ``dW`` (column i in the in × out notation, where they are transposed),
and, as an input of the next layer, column i of that layer's ``a`` (which shows
``a^l``, the layer's input) and column i of its ``W`` and ``dW`` (row i in
in × out). A caption under the matrices counts them per layer.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from PySide6.QtCore import QEvent, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...engine.unit_stats import DEAD_RULE, SATURATION_RULE
from .. import notation as nt
from ..contract import PanelContext, PanelMixin
from ..selection import NO_MARKS, Selected, marks
from ..weight_edit import ask_weight
from . import export
from .heatmap import SCALE_MODES, Heatmap

DEFAULT_KINDS = ("a", "delta", "dW", "W", "db")
ALL_LAYERS = -1
FLASH_MS = 1500
_SCALE_TEXT = {"frame": "per frame", "locked": "locked", "smooth": "smoothed"}
SOURCE = "matrices"  # the selection's source name of this panel
DEAD_COLOUR = "#7f7f7f"  # grey: outline of a dead unit
SATURATED_COLOUR = "#ff7f0e"  # orange: outline of a saturated unit
UNIT_LEGEND = "outlined: dead units (grey), saturated (orange)"
_UNIT_TIP = (f"{DEAD_RULE}.\n{SATURATION_RULE}.\n"
             "Unit i of layer l is outlined in the columns of its δ, z and db, the rows "
             "of its W and dW (columns in the in × out notation), and, as an input of "
             "layer l + 1, the columns of that layer's a, W and dW (rows in in × out).")


class MatrixPanel(PanelMixin, QWidget):
    """Heatmaps of the mini-batch matrices of one layer or all layers.

    Signals
    -------
    sampleHovered(int) : the data-set index (``step.batch_index[k]``) of the sample k
        the selection names (hovered, else selected; its row is outlined in every
        ``a``/``δ``/``z`` heatmap), or -1.
    """

    sampleHovered = Signal(int)
    draws_snapshots = True

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._spec = None
        self._notation = nt.check(ctx.notation)
        self._layer = ALL_LAYERS
        self._kinds = list(DEFAULT_KINDS)
        self._mode = "frame"
        self._presentation = False
        self._maps: dict[tuple[str, int], Heatmap] = {}
        self._shown: list[tuple[str, int]] = []
        self._snap = None
        self._dirty = False
        self._batch_index = None
        self._hover_sample = -1

        self._layer_box = QComboBox()
        self._layer_box.setToolTip("Which layer's matrices to show (l counts from 1; a⁰ = X)")
        self._layer_box.activated.connect(self._layer_picked)
        self._checks: dict[str, QCheckBox] = {}
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        self._bar_labels = [QLabel("Layer:"), QLabel("Show:"), QLabel("Scale:")]
        bar.addWidget(self._bar_labels[0])
        bar.addWidget(self._layer_box)
        bar.addSpacing(12)
        bar.addWidget(self._bar_labels[1])
        for kind in nt.KINDS:
            cb = QCheckBox(nt.KIND_NAMES[kind])
            cb.setChecked(kind in self._kinds)
            cb.toggled.connect(self._kinds_changed)
            self._checks[kind] = cb
            bar.addWidget(cb)
        bar.addStretch(1)
        # the scale controls: at the end of the row, or a second row in a narrow panel
        # (the row's width would otherwise be the panel's minimum: a scroll bar)
        self._scale_row = QWidget()
        scale = QHBoxLayout(self._scale_row)
        scale.setContentsMargins(4, 0, 4, 0)
        scale.addWidget(self._bar_labels[2])
        self._scale_box = QComboBox()
        for mode in SCALE_MODES:
            self._scale_box.addItem(_SCALE_TEXT[mode], mode)
        self._scale_box.setToolTip("Colour scale ±s: per frame (s = max|M|), locked (frozen), "
                                   "smoothed (peak hold, slow release)")
        self._scale_box.currentIndexChanged.connect(
            lambda i: self.set_scale_mode(self._scale_box.itemData(i)))
        scale.addWidget(self._scale_box)
        self._relock_btn = QPushButton("Re-lock")
        self._relock_btn.setToolTip("Locked scale: take s from the next frame")
        self._relock_btn.clicked.connect(self.relock)
        self._relock_btn.setEnabled(False)
        scale.addWidget(self._relock_btn)
        self._numbers_box = QCheckBox("Numbers")
        self._numbers_box.setChecked(True)
        self._numbers_box.setToolTip("Show each value in its cell when the cells are big "
                                     "enough (one power of ten, if any, in the title)")
        self._numbers_box.toggled.connect(self.set_show_numbers)
        scale.addWidget(self._numbers_box)
        scale.addStretch(1)
        self._bar = bar
        bar.addWidget(self._scale_row)
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setContentsMargins(2, 2, 2, 2)
        self._grid.setSpacing(4)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        self._bar2 = QHBoxLayout()
        self._room: QAbstractScrollArea | None = None  # the dock's scroll area
        lay.addLayout(self._bar2)
        lay.addWidget(self._grid_host, 1)
        self._units_caption = QLabel()  # the dead/saturated counts (shown with a step's units)
        self._units_caption.setToolTip(_UNIT_TIP)
        self._units_caption.setWordWrap(True)
        self._units_caption.hide()
        lay.addWidget(self._units_caption, 0)
        self._marks_drawn: dict[tuple[str, int], tuple] = {}
        self._titles: dict[tuple, str] = {}    # nt.title's answers (the same every frame)
        self._lit = False                      # some heatmap outlines the selection

        export.install_panel_menu(self, "matrices", self.export_matrices)
        self._flash_timer = QTimer(self)
        self._flash_timer.setSingleShot(True)
        self._flash_timer.timeout.connect(self._unflash)

        ctx.specChanged.connect(self.set_spec)
        ctx.notationChanged.connect(self.set_notation)
        ctx.highlightRequested.connect(self.highlight)
        ctx.selection.hovered.connect(self._show_selection)
        ctx.selection.selected.connect(self._show_selection)
        if ctx.spec is not None:
            self.set_spec(ctx.spec)
        snap = ctx.latest_snapshot()
        if snap is not None:
            self.show_snapshot(snap)

    # ------------------------------------------------------------ public API
    def heatmap(self, kind: str, layer: int) -> Heatmap | None:
        """The heatmap of ``kind`` for engine layer ``layer`` (0-based), if built."""
        return self._maps.get((kind, layer))

    def export_matrices(self) -> dict[str, np.ndarray]:
        """Every matrix in the layout, by its symbol (what the panel menu saves)."""
        return {self._maps[k].title().split(" — ")[0]: self._maps[k].matrix()
                for k in self._shown if self._maps[k].matrix().size > 1}

    def max_plot_side(self) -> int:
        """The larger side, in logical pixels, of the biggest heatmap shown (0 if none)."""
        return max((self._maps[k].plot_side() for k in self._shown
                    if k in self._maps and self._maps[k].isVisible()), default=0)

    def shown(self) -> list[tuple[str, int]]:
        """The (kind, layer) pairs in the current layout, row by row."""
        return list(self._shown)

    def layer(self) -> int:
        """The engine layer shown, or -1 for all layers."""
        return self._layer

    def set_layer(self, layer: int) -> None:
        """Show engine layer ``layer`` (0-based) or -1 for the all-layers grid."""
        n = self._n_layers()
        layer = ALL_LAYERS if layer is None or layer < 0 or layer >= n else int(layer)
        self._layer = layer
        idx = self._layer_box.findData(layer)
        if idx >= 0:
            self._layer_box.setCurrentIndex(idx)
        self._relayout()

    def set_kinds(self, kinds) -> None:
        """Which matrices to show, from :data:`bpviz.gui.notation.KINDS`."""
        kinds = [k for k in nt.KINDS if k in set(kinds)]
        for k, cb in self._checks.items():
            cb.blockSignals(True)
            cb.setChecked(k in kinds)
            cb.blockSignals(False)
        self._kinds = kinds
        self._relayout()

    def kinds(self) -> list[str]:
        return list(self._kinds)

    def set_show_numbers(self, on: bool) -> None:
        """Numbers in the cells of every heatmap (when they fit), or none."""
        on = bool(on)
        if self._numbers_box.isChecked() != on:
            self._numbers_box.setChecked(on)          # comes back through toggled
            return
        for hm in self._maps.values():
            hm.set_show_numbers(on)

    def show_numbers(self) -> bool:
        return self._numbers_box.isChecked()

    def view_state(self) -> dict:
        """The layer shown (engine index, -1 = all), the kinds shown and the scale mode."""
        return {"layer": self._layer, "kinds": list(self._kinds), "scale": self._mode,
                "numbers": self.show_numbers()}

    def restore_view_state(self, state: dict) -> None:
        """Take back :meth:`view_state` (from a file: unknown values are ignored)."""
        kinds = state.get("kinds")
        if isinstance(kinds, list) and all(isinstance(k, str) for k in kinds):
            self.set_kinds(kinds)
        if state.get("scale") in SCALE_MODES:
            self.set_scale_mode(state["scale"])
        if isinstance(state.get("numbers"), bool):
            self.set_show_numbers(state["numbers"])
        layer = state.get("layer")
        if isinstance(layer, int) and not isinstance(layer, bool):
            self.set_layer(layer)

    def set_scale_mode(self, mode: str) -> None:
        if mode not in SCALE_MODES:
            raise ValueError(f"scale mode must be one of {', '.join(SCALE_MODES)}")
        self._mode = mode
        idx = self._scale_box.findData(mode)
        if idx != self._scale_box.currentIndex():
            self._scale_box.setCurrentIndex(idx)
        self._relock_btn.setEnabled(mode == "locked")
        for hm in self._maps.values():
            hm.set_scale_mode(mode)

    def relock(self) -> None:
        for hm in self._maps.values():
            hm.relock()

    def set_spec(self, spec) -> None:
        """A new network: new layer list, titles with its shapes, blank matrices."""
        if spec is None or spec == self._spec:
            return
        old_n = self._n_layers()
        self._spec = spec
        self._snap = None
        self._batch_index = None
        n = len(spec.layers)
        self._layer_box.blockSignals(True)
        self._layer_box.clear()
        for i in range(n):
            m, n_in = spec.weight_shape(i)
            act = spec.layers[i].activation
            self._layer_box.addItem(f"Layer {i + 1}: {n_in}→{m} {act}", i)
        self._layer_box.addItem("All layers", ALL_LAYERS)
        self._layer_box.blockSignals(False)
        if old_n == 0 or n != old_n:
            self._layer = ALL_LAYERS if n <= 3 else 0
        elif self._layer >= n:
            self._layer = ALL_LAYERS
        self._layer_box.setCurrentIndex(self._layer_box.findData(self._layer))
        for key in [k for k in self._maps if k[1] >= n]:
            hm = self._maps.pop(key)
            hm.setParent(None)
            hm.deleteLater()
        for hm in self._maps.values():
            hm.reset()
        self._relayout()

    def clear(self) -> None:
        """Training was reset: blank matrices, scales forgotten (re-locked on the next frame)."""
        self._snap = None
        self._dirty = False
        self._batch_index = None
        for hm in self._maps.values():
            hm.reset()
        self._update_titles_from_spec()

    def set_notation(self, notation: str) -> None:
        """``"out_in"`` (W m×n, dW = δᵀa) or ``"in_out"`` (Wᵀ and dWᵀ shown, n×m)."""
        nt.check(notation)
        if notation == self._notation:
            return
        self._notation = notation
        for (kind, _), hm in self._maps.items():
            if kind in ("W", "dW"):
                hm.reset()
        self._update_titles_from_spec()
        self._show_selection()
        if self._snap is not None:
            self._dirty = True
            self._draw()

    def notation(self) -> str:
        return self._notation

    def show_snapshot(self, snap) -> None:
        """Draw the matrices of ``snap.step`` (kept for later if the panel is hidden)."""
        if snap is None or snap.step.backprop is None:
            return
        self._snap = snap
        self._dirty = True
        if self.isVisible():
            self._draw()

    def highlight(self, kind: str, layer: int) -> None:
        """Flash the heatmap of ``kind`` in engine layer ``layer`` (shown first if needed)."""
        if kind not in nt.KINDS or layer < 0 or layer >= self._n_layers():
            return
        if kind not in self._kinds:
            self.set_kinds([*self._kinds, kind])
        if self._layer not in (ALL_LAYERS, layer):
            self.set_layer(layer)
        self._unflash()
        hm = self._maps.get((kind, layer))
        if hm is not None:
            hm.set_highlighted(True)
            self._flash_timer.start(FLASH_MS)

    def edit_cell(self, kind: str, layer: int, row: int, col: int) -> bool:
        """Ask for a new value of the weight under display cell (row, col) and set it.

        ``kind`` is ``"W"`` (a cell of the W heatmap of engine layer ``layer``, as
        displayed: transposed in the in×out notation) or ``"b"`` (the bias, drawn
        as a 1×m row: ``col`` is neuron i). A dialog shows the current value; the
        typed text goes to ``ctx.set_weight`` in engine indices (undoable with
        Edit ▸ Undo; a value that is not a finite number is refused with a
        message). Returns True if an edit was made, False if cancelled or refused.
        """
        if kind not in ("W", "b") or not 0 <= layer < self._n_layers():
            self._ctx.message.emit("only a weight (a cell of W) or a bias can be edited")
            return False
        if kind == "W":
            i, j = (col, row) if nt.transposed("W", self._notation) else (row, col)
        else:
            i, j = col, None
        weights = self._snap.step.weights if self._snap is not None else None
        return ask_weight(self, self._ctx, self._spec, weights, layer, i, j)

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        super().resizeEvent(event)
        self._place_scale_row()

    def showEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        super().showEvent(event)
        area = self.parentWidget()
        while area is not None and not isinstance(area, QAbstractScrollArea):
            area = area.parentWidget()
        if area is not None and area is not self._room:   # the dock's width, not ours
            self._room = area
            area.viewport().installEventFilter(self)
        self._place_scale_row()
        self._draw_when_shown()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802, ANN001 - Qt API
        if event.type() == QEvent.Type.Resize:
            self._place_scale_row()
        return False

    def _place_scale_row(self) -> None:
        """The scale controls beside the layer and show controls, or under them when
        the dock is too narrow for one row (whose width would be the panel's minimum,
        and the dock would scroll)."""
        room = self._room.viewport().width() if self._room is not None else self.width()
        need = self._bar.sizeHint().width()
        if self._bar.indexOf(self._scale_row) < 0:
            need += self._scale_row.sizeHint().width() + max(self._bar.spacing(), 0)
        wrap = need > room
        target = self._bar2 if wrap else self._bar
        if self._scale_row.parentWidget() is not None and target.indexOf(
                self._scale_row) < 0:
            (self._bar if wrap else self._bar2).removeWidget(self._scale_row)
            target.addWidget(self._scale_row)

    def set_presentation(self, on: bool) -> None:
        self._presentation = bool(on)
        font = QFont(self.font())
        font.setPointSize(16 if on else 9)
        for w in (*self._bar_labels, self._layer_box, self._scale_box, self._relock_btn,
                  *self._checks.values(), self._numbers_box, self._units_caption):
            w.setFont(font)
        for hm in self._maps.values():
            hm.set_presentation(on)
        self._place_scale_row()

    # ------------------------------------------------------------ internals
    def _n_layers(self) -> int:
        return len(self._spec.layers) if self._spec is not None else 0

    def _batch_size(self) -> int:
        if self._snap is not None:
            return int(self._snap.step.batch_size)
        return int(self._ctx.effective_batch_size())

    def _layer_picked(self, index: int) -> None:
        self.set_layer(self._layer_box.itemData(index))

    def _kinds_changed(self) -> None:
        self._kinds = [k for k in nt.KINDS if self._checks[k].isChecked()]
        self._relayout()

    def _get(self, kind: str, layer: int) -> Heatmap:
        hm = self._maps.get((kind, layer))
        if hm is None:
            hm = Heatmap(self._grid_host)
            hm.set_scale_mode(self._mode)
            hm.set_show_numbers(self._numbers_box.isChecked())
            if self._presentation:
                hm.set_presentation(True)
            hm.cellHovered.connect(partial(self._cell_hovered, kind, layer))
            hm.cellClicked.connect(partial(self._cell_clicked, kind, layer))
            if kind == "W":                      # right-click a weight: type a new value
                hm.add_cell_action("Edit this weight…", partial(self.edit_cell, "W", layer))
            self._maps[(kind, layer)] = hm
        return hm

    def _relayout(self) -> None:
        n = self._n_layers()
        layers = range(n) if self._layer == ALL_LAYERS else [self._layer]
        wanted = [(k, i) for i in layers for k in self._kinds] if n else []
        for key in self._shown:
            if key not in wanted and key in self._maps:
                hm = self._maps[key]
                self._grid.removeWidget(hm)
                hm.hide()
        cols = max(1, len(self._kinds))
        for pos, key in enumerate(wanted):
            hm = self._get(*key)
            self._grid.addWidget(hm, pos // cols, pos % cols)
            hm.show()
        for c in range(self._grid.columnCount()):
            self._grid.setColumnStretch(c, 1 if c < cols else 0)
        self._shown = wanted
        self._update_titles_from_spec()
        self._show_selection()
        if self._snap is not None:
            self._dirty = True
            if self.isVisible():
                self._draw()

    def _update_titles_from_spec(self) -> None:
        """Titles and labels from the spec's shapes, for heatmaps with no matching data yet."""
        if self._spec is None:
            return
        K = self._batch_size()
        for kind, i in self._shown:
            hm = self._maps[(kind, i)]
            shape = nt.spec_shape(self._spec, kind, i, K, self._notation)
            owner = self._spec.owner(i)
            hm.set_title(nt.title(kind, i, shape, self._notation, self._spec.reduction, owner),
                         *nt.axis_labels(kind, self._notation))

    def _draw(self) -> None:
        if not self._dirty or self._snap is None:
            return
        self._dirty = False
        step = self._snap.step
        self._batch_index = step.batch_index
        reduction = self._spec.reduction if self._spec is not None else "mean"
        pooled = getattr(self._snap, "pooled", None) or {}
        for kind, i in self._shown:
            M = nt.record_matrix(step, kind, i, self._notation)
            if M is None:
                continue
            P = pooled.get((kind, i))
            if P is not None:
                P = nt.display_matrix(kind, P, self._notation)
            hm = self._maps[(kind, i)]
            hm.set_export_info(i + 1, step.step)
            owner = step.backprop.layers[i].owner
            shape = M.shape if M.ndim == 2 else (1, M.shape[0])
            key = (kind, i, shape, self._notation, reduction, owner)
            title = self._titles.get(key)
            if title is None:   # the same on every frame until the network changes
                if len(self._titles) > 256:
                    self._titles.clear()
                title = self._titles[key] = nt.title(kind, i, shape, self._notation,
                                                     reduction, owner)
            if title == hm.title():
                hm.set_matrix(M, pooled=P)
            else:
                hm.set_matrix(M, title, *nt.axis_labels(kind, self._notation), pooled=P)
        self._show_unit_marks()
        self._show_selection()           # a new batch: sample k is another data point

    def unit_caption(self) -> QLabel:
        """The caption that counts dead and saturated units per layer (hidden until a
        step with unit statistics is drawn)."""
        return self._units_caption

    def _show_unit_marks(self) -> None:
        """Outline the dead and saturated units of the drawn step in the heatmaps shown
        (see the module notes for which rows and columns) and count them per layer in
        the caption; a step without unit statistics clears the outlines."""
        units = self._snap.step.units if self._snap is not None else None
        layers = units.layers if units is not None else ()

        def unit_marks(ly) -> tuple[tuple[int, ...], tuple[str, ...]]:
            """Unit indices of a layer's statistics ``ly`` to outline, and their colours."""
            dead = [int(c) for c in ly.dead]
            # a sigmoid unit whose a underflows to 0 is both: outlined once, as dead
            sat = sorted(set(int(c) for c in ly.saturated) - set(dead))
            return (tuple(dead + sat),
                    (DEAD_COLOUR,) * len(dead) + (SATURATED_COLOUR,) * len(sat))

        none = ((), ())
        per_layer = [unit_marks(ly) for ly in layers]   # once per layer, not per heatmap
        cache = self._marks_drawn
        for kind, i in self._shown:
            hm = self._maps.get((kind, i))
            if hm is None:
                continue
            own = per_layer[i] if 0 <= i < len(per_layer) else none
            inputs = per_layer[i - 1] if 0 <= i - 1 < len(per_layer) else none
            if kind in ("delta", "z", "db"):
                cols, rows = own, none
            elif kind == "a":
                cols, rows = inputs, none
            else:  # W, dW: rows are the layer's units, columns its inputs (out × in)
                rows, cols = own, inputs
                if nt.transposed(kind, self._notation):
                    rows, cols = cols, rows
            want = (cols, rows)
            if (cache.get((kind, i)) == want and tuple(hm.marked_columns()) == cols[0]
                    and tuple(hm.marked_rows()) == rows[0]):
                continue  # unchanged (a reset heatmap has none, so it is redrawn)
            hm.mark_columns(cols[0], list(cols[1]))
            hm.mark_rows(rows[0], list(rows[1]))
            cache[(kind, i)] = want
        self._show_unit_caption(layers)

    def _show_unit_caption(self, layers) -> None:
        """Per layer shown: "layer l: d dead, s saturated of m", after the legend."""
        label = self._units_caption
        label.setVisible(bool(layers))
        if not layers:
            return
        shown = range(len(layers)) if self._layer == ALL_LAYERS else [self._layer]
        parts = []
        for i in shown:
            if 0 <= i < len(layers):
                ly = layers[i]
                sat = f", {ly.n_saturated} saturated" if ly.can_saturate else ""
                parts.append(f"layer {i + 1}: {ly.n_dead} dead{sat} of {ly.units}")
        text = (UNIT_LEGEND + "  ·  " + "  ·  ".join(parts)) if parts else UNIT_LEGEND
        if label.text() != text:
            label.setText(text)

    # ------------------------------------------------------------ the selection
    def _cell_selected(self, kind: str, layer: int, row: int, col: int) -> Selected | None:
        """The selection of display cell (row, col) of heatmap (kind, layer), or None."""
        if row < 0 or col < 0:
            return None
        if nt.transposed(kind, self._notation):
            row, col = col, row
        return Selected.cell(kind, layer, row, col, SOURCE)

    def _cell_hovered(self, kind: str, layer: int, row: int, col: int) -> None:
        self._ctx.selection.hover(self._cell_selected(kind, layer, row, col))

    def _cell_clicked(self, kind: str, layer: int, row: int, col: int) -> None:
        sel = self._cell_selected(kind, layer, row, col)
        if sel is not None:
            self._ctx.selection.select(sel)

    def _show_selection(self, *_: object) -> None:
        """Outline what the selection names (hovered, else selected) in every heatmap shown."""
        cur = self._ctx.selection.current()
        if cur is None and not self._lit:   # nothing selected, nothing outlined: most frames
            if self._hover_sample != -1:
                self._hover_sample = -1
                self.sampleHovered.emit(-1)
            return
        self._lit = cur is not None
        lit = marks(cur, self._n_layers())
        for kind, i in self._shown:
            m = lit.get((kind, i), NO_MARKS).display(kind, self._notation)
            hm = self._maps[(kind, i)]
            hm.highlight_cell(*(m.cell or (-1, -1)))
            rows = [m.row] if m.row >= 0 else []
            if rows != hm.highlighted_rows():    # unchanged on most frames
                hm.highlight_rows(rows)
            hm.highlight_column(m.col)
        idx = -1
        bi, k = self._batch_index, cur.k if cur is not None else -1
        if k >= 0 and bi is not None and k < len(bi):
            idx = int(bi[k])
        if idx != self._hover_sample:
            self._hover_sample = idx
            self.sampleHovered.emit(idx)

    def _unflash(self) -> None:
        for hm in self._maps.values():
            if hm.is_highlighted():
                hm.set_highlighted(False)

    def _draw_when_shown(self) -> None:
        if self._dirty:
            QTimer.singleShot(0, self._draw)
