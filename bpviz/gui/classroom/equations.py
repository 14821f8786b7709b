"""Equations view: the forward and backward equations of one layer with live shapes.

For the chosen layer it shows (from :func:`bpviz.gui.notation.layer_equations`)
``z = a Wᵀ + b``, ``a = f(z)``, the loss and output error on the last layer
(``a − y`` for the matched pairs, ``(a − y) ⊙ f'(z)`` otherwise), the backward
``δ^{l-1} = (δ^l W^l) ⊙ f'(z^{l-1})``, ``dW = (1/K) δᵀa``, ``db`` as column
sums of δ and the update, each with the shapes of the current network and
mini-batch, e.g. ``(32×10) = (32×32)(32×10) + (1×10)``. Rich text, no images:
every symbol is a link ``sym:KIND:LAYER``; clicking it calls
``ctx.request_highlight(kind, layer)`` so the matrix panel flashes that heatmap,
raises the Matrices dock if it is hidden behind another tab, and says so under
the header ("dW² — shown in the Matrices panel"), so that a click always
visibly does something.

The notation switch (W out×in / in×out) calls ``ctx.set_notation``; the view
follows ``notationChanged`` and ``specChanged``. "Phase-step mode" shows the
:class:`~bpviz.gui.classroom.phases_view.PhaseStepWidget`; the equation of the
phase just computed is marked.
"""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..contract import PanelContext, PanelMixin
from ..notation import KINDS, LABELS, Equation, T, check, layer_equations, sup, symbol
from .layer_picker import LayerPicker
from .panel_menu import ExportMenuMixin
from .phases_view import PhaseStepWidget

LINK = "#0b5cad"
MARK_BG = "#ffe9a8"
MARK_FG = "#7a3e00"
MATH_FONT = "'DejaVu Serif', 'Cambria Math', 'Times New Roman', serif"
_SIZES = {False: (16, 11, 10), True: (30, 19, 17)}   # equation, shapes, notes (pt)
FEEDBACK_MS = 4000  # how long the line under the header names the clicked symbol
MATRICES = "matrices"  # the registry name of the matrix panel's dock
_NOTATION_TEXT = {"out_in": "W out×in · dW = δᵀa", "in_out": "W in×out · dW = aᵀδ"}


def parse_link(href: str) -> tuple[str, int] | None:
    """``"sym:delta:1" -> ("delta", 1)``; None for anything else."""
    parts = href.split(":")
    if len(parts) != 3 or parts[0] != "sym":
        return None
    try:
        return parts[1], int(parts[2])
    except ValueError:
        return None


def equation_html(eq: Equation, marked: bool = False, presentation: bool = False) -> str:
    """One equation as an HTML table row: label, clickable formula, shapes, note."""
    big, mid, small = _SIZES[presentation]

    def terms(ts) -> str:
        out = []
        for t in ts:
            text = escape(t.text).replace(" ", "&nbsp;")
            if t.kind is not None:
                out.append(f'<a href="sym:{t.kind}:{t.layer}" style="color:{LINK}; '
                           f'text-decoration:none">{text}</a>')
            else:
                out.append(text)
        return "".join(out)

    # non-breaking spaces: an equation never wraps inside itself
    formula = f"{terms(eq.lhs)}&nbsp;{escape(eq.rel)}&nbsp;{terms(eq.rhs)}"
    if marked:
        # the bold serif faces draw the modifier letter ᵀ as an "S" (δ²ˢ): it keeps the
        # regular weight inside the bold formula
        formula = "<b>" + formula.replace(T, f'<span style="font-weight:400">{T}</span>') + "</b>"
    bg = f' bgcolor="{MARK_BG}"' if marked else ""
    label = escape(eq.label)
    if marked:
        label = f'<span style="color:{MARK_FG}"><b>▶ {label}</b></span>'
    shapes = escape(eq.shapes())
    note = f'<br><span style="color:#666; font-size:{small}pt">{escape(eq.note)}</span>' \
        if eq.note else ""
    return (f'<tr{bg}><td style="color:#555; font-size:{small}pt; padding-right:10px" '
            f'valign="middle">{label}</td>'
            f'<td style="white-space:nowrap; font-family:{MATH_FONT}; font-size:{big}pt; '
            f'padding-right:14px" valign="middle">{formula}</td>'
            f'<td style="font-family:monospace; color:#444; font-size:{mid}pt" '
            f'valign="middle">{shapes}{note}</td></tr>')


class EquationsView(PanelMixin, ExportMenuMixin, QWidget):
    """Equations of the chosen layer, clickable symbols, notation switch, phase stepping."""

    export_name = "bpviz-equations"
    draws_snapshots = True

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.spec = ctx.spec
        self.notation = check(ctx.notation)
        self._K: int | None = None
        self._mark: tuple[str, int] | None = None
        self._presentation = False
        self.equations: list[Equation] = []

        self.layer_box = LayerPicker()
        self.notation_group = QButtonGroup(self)
        self.notation_buttons: dict[str, QRadioButton] = {}
        for name, text in _NOTATION_TEXT.items():
            b = QRadioButton(text)
            b.setToolTip(LABELS[name])
            self.notation_group.addButton(b)
            self.notation_buttons[name] = b
        self.phase_box = QCheckBox("Phase-step mode")
        self.phase_box.setToolTip("Step through one mini-batch phase by phase")
        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        self.feedback = QLabel()           # what the last click on a symbol did
        self.feedback.setStyleSheet(f"color: {MARK_FG}; background: {MARK_BG}; padding: 2px")
        self.feedback.hide()
        self._feedback_timer = QTimer(self)
        self._feedback_timer.setSingleShot(True)
        self._feedback_timer.timeout.connect(self.feedback.hide)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.browser.setOpenExternalLinks(False)
        self.phases = PhaseStepWidget(ctx)
        self.phases.setVisible(False)

        top = QHBoxLayout()
        top.addWidget(QLabel("Layer"))
        top.addWidget(self.layer_box)
        top.addSpacing(12)
        for b in self.notation_buttons.values():
            top.addWidget(b)
        top.addStretch(1)
        top.addWidget(self.phase_box)
        self.split = split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.browser)
        split.addWidget(self.phases)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.header)
        lay.addWidget(self.feedback)
        lay.addWidget(split, 1)

        self.browser.anchorClicked.connect(lambda url: self.activate_link(url.toString()))
        self.layer_box.currentIndexChanged.connect(lambda _i: self.render())
        for name, b in self.notation_buttons.items():
            b.toggled.connect(lambda on, n=name: on and self._notation_clicked(n))
        self.phase_box.toggled.connect(self.set_phase_mode)
        self.phases.phaseShown.connect(self.show_phase)
        ctx.specChanged.connect(self.set_spec)
        ctx.notationChanged.connect(self.set_notation)
        ctx.configChanged.connect(lambda _c: self.render())
        self._sync_notation_buttons()
        snap = ctx.latest_snapshot()
        if snap is not None:
            self.show_snapshot(snap)
        if self.spec is not None:
            self.set_spec(self.spec)

    # ------------------------------------------------------------ panel API
    def set_spec(self, spec: Any) -> None:
        """Follow a layer edit: new layer list, new shapes."""
        self.spec = spec
        self.layer_box.fill(
            spec, lambda i, m, n: f"{i + 1}  ({n} → {m}, {spec.layers[i].activation})")
        self._mark = None
        self.phases.set_spec(spec)
        self.render()

    def set_notation(self, notation: str) -> None:
        self.notation = check(notation)
        self._sync_notation_buttons()
        self.phases.set_notation(notation)
        self.render()

    def show_snapshot(self, snap: Any) -> None:
        """Only the batch size K comes from the snapshot (the shapes are the spec's)."""
        K = snap.step.batch_size if snap is not None else None
        if K and K != self._K:
            self._K = int(K)
            self.render()

    def set_presentation(self, on: bool) -> None:
        """Big equations; the switch and the mode box keep only their short names."""
        self._presentation = bool(on)
        short = {"out_in": "W out×in", "in_out": "W in×out"}
        for name, b in self.notation_buttons.items():
            b.setText(short[name] if on else _NOTATION_TEXT[name])
        self.phase_box.setText("Phases" if on else "Phase-step mode")
        self.phases.set_presentation(on)
        self.render()

    def view_state(self) -> dict[str, Any]:
        """The notation, phase-step mode and the layer shown (engine index)."""
        return {"notation": self.notation, "phase_mode": self.phase_box.isChecked(),
                "layer": self.layer()}

    def restore_view_state(self, state: dict[str, Any]) -> None:
        """Take back :meth:`view_state` (from a file: unknown values are ignored)."""
        notation = state.get("notation")
        if isinstance(notation, str) and notation in LABELS:
            self.ctx.set_notation(notation)     # every view follows notationChanged
        layer = state.get("layer")
        if isinstance(layer, int) and not isinstance(layer, bool) and self.spec is not None \
                and 0 <= layer < len(self.spec.layers):
            self.set_layer(layer)
        if isinstance(state.get("phase_mode"), bool):
            self.set_phase_mode(state["phase_mode"])

    # ------------------------------------------------------------ actions
    def layer(self) -> int:
        return self.layer_box.layer() or 0

    def set_layer(self, i: int) -> None:
        self.layer_box.set_layer(i)

    def activate_link(self, href: str) -> None:
        """A symbol was clicked: ask the matrix panel to highlight its heatmap, bring the
        Matrices dock to the front if it is hidden, and say so under the header."""
        target = parse_link(href)
        if target is None:
            return
        kind, layer = target
        self.ctx.request_highlight(kind, layer)
        win = self.window()
        dock = getattr(win, "docks", {}).get(MATRICES)
        if dock is not None and (not dock.isVisible() or dock.visibleRegion().isEmpty()):
            win.raise_view(MATRICES)
        name = symbol(kind, layer) if kind in KINDS else kind
        self.feedback.setText(f'<span style="font-size:{_SIZES[self._presentation][1]}pt">'
                              f"{name} — shown in the Matrices panel (its heatmap flashes)"
                              "</span>")
        self.feedback.show()
        self._feedback_timer.start(FEEDBACK_MS)

    def _notation_clicked(self, notation: str) -> None:
        if notation != self.ctx.notation:
            self.ctx.set_notation(notation)      # comes back through notationChanged
        elif notation != self.notation:
            self.set_notation(notation)

    def _sync_notation_buttons(self) -> None:
        b = self.notation_buttons.get(self.notation)
        if b is not None and not b.isChecked():
            b.blockSignals(True)
            b.setChecked(True)
            b.blockSignals(False)

    def set_phase_mode(self, on: bool) -> None:
        if self.phase_box.isChecked() != on:
            self.phase_box.setChecked(on)       # re-enters through toggled
            return
        self.phases.setVisible(on)
        # the toolbar's Step (and its key) steps phases while the mode is on, if the
        # controller lets a panel take it over
        self.ctx.set_step_handler(self.step_phase if on else None)
        if on:
            self._orient()
            horizontal = self.split.orientation() == Qt.Orientation.Horizontal
            total = max(self.split.width() if horizontal else self.split.height(), 400)
            self.split.setSizes([total * 11 // 20, total * 9 // 20])
        else:
            self._mark = None
            self.render()

    def _orient(self) -> None:
        """Phases beside the equations in a wide, short dock; below them otherwise."""
        wide = self.width() > 2.2 * self.height() and self.width() > 1000
        want = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.split.orientation() != want:
            self.split.setOrientation(want)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._orient()
        if self._mark is not None:
            QTimer.singleShot(0, self._center_mark)

    def step_phase(self) -> bool:
        """The toolbar's Step while in phase-step mode: one phase (False if not in the mode)."""
        return self.phase_box.isChecked() and self.phases.step()

    def show_phase(self, rec: Any) -> None:
        """Mark the equation of a phase record (and show its layer)."""
        if rec.kind != "update":
            self.set_layer(rec.layer)
        self._mark = (rec.kind, rec.layer)
        self.render()

    # ------------------------------------------------------------ drawing
    def batch_size(self) -> int:
        if self._K:
            return self._K
        return int(self.ctx.effective_batch_size())

    def text(self) -> str:
        """The equations as plain text, one per line with their shapes (for tests and export)."""
        return "\n".join(f"{e.text()}  :  {e.shapes()}" for e in self.equations)

    def render(self) -> None:
        spec = self.spec
        if spec is None:
            self.browser.setHtml("<p>No network yet.</p>")
            return
        i = min(self.layer(), len(spec.layers) - 1)
        K = self.batch_size()
        cfg = self.ctx.config
        self.equations = layer_equations(spec, i, K, self.notation, lr=cfg.lr,
                                         optimizer=cfg.optimizer)
        L = len(spec.layers)
        m, n = spec.weight_shape(i)
        kind = "output layer" if i == L - 1 else "hidden layer"
        tied = f", reuses W{sup(spec.owner(i) + 1)}" if spec.owner(i) != i else ""
        red = "mean over the batch (1/K)" if spec.reduction == "mean" else "sum: no 1/K"
        x = "; a⁰ = X, the mini-batch, one sample per row" if i == 0 else ""
        big = _SIZES[self._presentation][1]
        self.header.setText(
            f'<span style="font-size:{big}pt"><b>Layer {i + 1} of {L}</b> ({kind}{tied}): '
            f"{n} in → {m} out, K = {K}; {red}{x}. "
            f'<span style="color:{LINK}">Click a symbol</span> to see its matrix.</span>')
        rows = "".join(equation_html(e, e.key == self._mark, self._presentation)
                       for e in self.equations)
        self.browser.setHtml(f'<table cellspacing="0" cellpadding="6">{rows}</table>')
        if self._mark is not None:
            self._center_mark()
            QTimer.singleShot(0, self._center_mark)      # again once the layout has settled

    def _center_mark(self) -> None:
        """Scroll so the marked equation sits in the middle of the view."""
        cur = self.browser.document().find("▶")
        if self._mark is None or cur.isNull():
            return
        rect = self.browser.cursorRect(cur)
        bar = self.browser.verticalScrollBar()
        bar.setValue(bar.value() + rect.center().y() - self.browser.viewport().height() // 2)

    def export_matrices(self) -> dict:
        return {}


def anchor_url(kind: str, layer: int) -> QUrl:
    """The link a symbol carries (tests click it)."""
    return QUrl(f"sym:{kind}:{layer}")
