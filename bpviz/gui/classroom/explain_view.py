"""Explain this number: how one entry of a mini-batch matrix was computed, numbers plugged in.

The engine (:mod:`bpviz.engine.explain`) says which numbers of the record make
the entry and computes it again in float64; this module writes that out in the
chosen notation (:mod:`bpviz.gui.notation`: 1-based indices as displayed, ``W``
and ``dW`` transposed in "in_out", where ``dW = aᵀδ``), large enough to read
from the back of a room::

    dW¹₂,₃ = (1/K) Σₖ δ¹ₖ,₂ a⁰ₖ,₃
           = (1/4)(0.12·0.80 + 0.31·(−0.2) + …) = 0.0312      engine: 0.0312 ✓

The panel follows the latest snapshot while training (the same cell on each new
record, at most :data:`REFRESH_S` apart), the notation and presentation mode.
A click anywhere (a cell of any matrix, an arrow or a neuron of the graph) goes to
the one selection (``ctx.selection``, :mod:`bpviz.gui.selection`), and the panel
explains what was clicked through :meth:`ExplainView.explain` and
:meth:`ExplainView.explain_neuron` (engine indices): a cell as itself, an arrow as
its cell of W (of dW while the graph shows the gradient), a neuron as its card for
the sample the graph shows, an input x_i as its cell of a⁰ = X. The small bar on
top picks a cell by hand.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ...engine.explain import (
    Explanation,
    Line,
    NeuronCard,
    Ref,
    UpdateRule,
    batch_targets,
    elide,
    explain,
    explain_neuron,
    update_rule,
)
from ..contract import PanelContext, PanelMixin
from ..notation import KINDS, LABELS, axis_labels, check, sub, sup
from ..selection import Selected
from ..views.throttle import Throttle

#: Re-explain the same cell on a new record at most this often while training.
REFRESH_S = 0.3
HINT = "click a cell of any matrix, or pick one above"
MATH_FONT = "'DejaVu Serif', 'Cambria Math', 'Times New Roman', serif"
_SIZES = {False: (15, 11), True: (21, 15)}           # formulas, notes (pt)
#: The picker's kinds: engine kind -> text; "neuron" is the single-neuron card.
PICK = {"dW": "dW", "delta": "δ", "z": "z", "a": "a", "db": "db", "W": "W (update)",
        "b": "b (update)", "neuron": "one neuron"}

_NAMES = {"a": "a", "z": "z", "delta": "δ", "dW": "dW", "db": "db", "W": "W", "b": "b",
          "y": "y", "gW": "∂C/∂W", "gb": "∂C/∂b", "g": "g", "v": "v", "m": "m", "s": "v",
          "mhat": "m̂", "shat": "v̂", "fprime": "f′"}
_HYPER = {"lr": "η", "mu": "μ", "l1": "λ₁", "l2": "λ₂", "beta1": "β₁", "beta2": "β₂",
          "eps": "ε", "t": "t"}
#: Kinds whose (row, col) are those of W (shown transposed in "in_out").
_W_LIKE = ("W", "dW", "gW", "g", "v", "m", "s", "mhat", "shat", "new")
_ACT = {"tanh": "tanh({z})", "sigmoid": "σ({z})", "relu": "max(0, {z})",
        "leaky_relu": "max(0.01·{z}, {z})", "identity": "{z}"}
_FPRIME = {"tanh": "1 − a²", "sigmoid": "a(1 − a)", "relu": "1 if z > 0, else 0",
           "leaky_relu": "1 if z > 0, else 0.01", "identity": "1"}


def num(x: float) -> str:
    """A number with 4 significant digits and a true minus sign; ``?`` if unknown."""
    if x is None or not math.isfinite(x):
        return "?"
    return f"{x:.4g}".replace("-", "−")


class Writer:
    """Writes the symbols and numbers of an :class:`Explanation` in one notation, as HTML
    (``html=True``: indices in ``<sub>``) or as plain text (Unicode sub/superscripts)."""

    def __init__(self, notation: str, html: bool = True, K: int | None = None) -> None:
        self.notation = check(notation)
        self.html = html
        self.K = K

    # ------------------------------------------------------------ pieces
    def esc(self, s: str) -> str:
        return escape(s) if self.html else s

    def sym(self, kind: str, layer: int, row: int | str | None = None,
            col: int | str | None = None) -> str:
        """The symbol of entry (row, col) of ``kind`` (engine indices; a str is a letter)."""
        if kind in _HYPER:
            return _HYPER[kind]
        name = _NAMES.get(kind, kind)
        if kind == "a":
            s = str(layer)
        elif kind == "y":
            s = ""
        else:
            s = str(layer + 1)
        if kind in _W_LIKE and self.notation == "in_out" and col is not None:
            row, col = col, row
        idx = [x if isinstance(x, str) else str(x + 1) for x in (row, col) if x is not None]
        ix = ",".join(idx)
        if self.html:
            return (f"{escape(name)}" + (f"<sup>{s}</sup>" if s else "")
                    + (f"<sub>{ix}</sub>" if ix else ""))
        return name + sup(s) + (sub(ix) if ix else "")

    def ref(self, r: Ref) -> str:
        kind = "W" if r.kind == "new" and r.col is not None else (
            "b" if r.kind == "new" else r.kind)
        return self.sym(kind, r.layer, r.row, r.col)

    def val(self, r: Ref | float, paren: bool = False) -> str:
        x = r.value if isinstance(r, Ref) else r
        t = num(x)
        return f"({t})" if paren and t.startswith("−") else t

    def product(self, factors: tuple[Ref, ...]) -> str:
        return "·".join(self.val(f, paren=n > 0) for n, f in enumerate(factors))

    def sum_text(self, line: Line, fmt=None) -> str:
        """The terms of a sum, the middle elided: ``0.1·0.2 + … (24 more) + 0.3·0.1``."""
        fmt = fmt or self.product
        head, gap, tail = elide(len(line.terms))
        parts = [fmt(line.terms[p]) for p in head]
        if gap:
            parts.append(f"… ({gap} more) …")
        parts += [fmt(line.terms[p]) for p in tail]
        out = parts[0] if parts else "0"
        for p in parts[1:]:
            out += f" − {p[1:]}" if p.startswith("−") else f" + {p}"
        return out

    def scale(self, line: Line, symbolic: bool) -> str:
        if line.scale == 1.0:
            return ""
        if symbolic:
            return "(1/K) "
        K = round(1.0 / line.scale)
        return f"(1/{K})"

    def sigma(self, letter: str) -> str:
        return "Σ" + (f"<sub>{letter}</sub>" if self.html else sub(letter))

    # ------------------------------------------------------------ lines
    def line(self, ln: Line) -> tuple[str, str, str]:
        """``(lhs, formula, plugged)`` of one line (``plugged`` ends with ``= result``)."""
        return getattr(self, "_" + ln.rule)(ln)

    def _eq(self, plugged: str, ln: Line) -> str:
        return f"{plugged} = <b>{num(ln.result)}</b>" if self.html else \
            f"{plugged} = {num(ln.result)}"

    def _input(self, ln: Line) -> tuple[str, str, str]:
        r = ln.lhs
        return (self.ref(r), f"X{self._idx(r.row, r.col)}: input {r.col + 1} of sample "
                f"{r.row + 1}, from the data set", num(r.value))

    def _idx(self, row: int, col: int) -> str:
        s = f"{row + 1},{col + 1}"
        return f"<sub>{s}</sub>" if self.html else sub(s)

    def _act(self, ln: Line) -> tuple[str, str, str]:
        z = ln.extra[0]
        a = ln.lhs
        if ln.fn == "softmax":
            ek = "e^" if not self.html else "e"
            zs = self.sym("z", z.layer, z.row, "r")

            def e(x: str) -> str:
                return f"{ek}<sup>{x}</sup>" if self.html else f"{ek}({x})"

            formula = f"{e(self.ref(z))} / {self.sigma('r')} {e(zs)}"
            denom = self.sum_text(ln, lambda t: e(self.val(t[0])))
            return self.ref(a), formula, self._eq(f"{e(self.val(z))} / ({denom})", ln)
        f = _ACT[ln.fn]
        formula = f.format(z=self.ref(z))
        return self.ref(a), formula, self._eq(f.format(z=self.val(z)), ln)

    def _z(self, ln: Line) -> tuple[str, str, str]:
        z, b = ln.lhs, ln.extra[0]
        a_j = self.sym("a", z.layer, z.row, "j")
        W_ij = self.sym("W", b.layer, b.row, "j")
        formula = f"{self.sigma('j')} {a_j} {W_ij} + {self.ref(b)}"
        return self.ref(z), formula, self._eq(f"({self.sum_text(ln)}) + {self.val(b, True)}",
                                              ln)

    def _delta_out(self, ln: Line) -> tuple[str, str, str]:
        d = ln.lhs
        a, y = ln.extra[0], ln.extra[1]
        diff = f"{self.ref(a)} − {self.ref(y)}"
        vals = f"{self.val(a)} − {self.val(y, True)}"
        if len(ln.extra) == 2:
            return self.ref(d), diff, self._eq(vals, ln)
        fp, z = ln.extra[2], ln.extra[3]
        formula = f"({diff}) · f′({self.ref(z)})"
        return self.ref(d), formula, self._eq(f"({vals}) · {self.val(fp, True)}", ln)

    def _delta_hidden(self, ln: Line) -> tuple[str, str, str]:
        d = ln.lhs
        fp, z = ln.extra[0], ln.extra[1]
        nxt = ln.terms[0][0].layer if ln.terms else d.layer + 1
        owner = ln.terms[0][1].layer if ln.terms else nxt
        dr = self.sym("delta", nxt, d.row, "r")
        Wr = self.sym("W", owner, "r", d.col)
        formula = f"({self.sigma('r')} {dr} {Wr}) · f′({self.ref(z)})"
        return self.ref(d), formula, self._eq(f"({self.sum_text(ln)}) · {self.val(fp, True)}",
                                              ln)

    def _dW(self, ln: Line) -> tuple[str, str, str]:
        dw = ln.lhs
        d = self.sym("delta", dw.layer, "k", dw.row)
        a = self.sym("a", dw.layer, "k", dw.col)
        pair = f"{d} {a}" if self.notation == "out_in" else f"{a} {d}"
        formula = f"{self.scale(ln, True)}{self.sigma('k')} {pair}"
        fmt = self.product if self.notation == "out_in" else (
            lambda t: self.product(t[::-1]))
        return self.ref(dw), formula, self._eq(f"{self.scale(ln, False)}"
                                               f"({self.sum_text(ln, fmt)})", ln)

    def _db(self, ln: Line) -> tuple[str, str, str]:
        db = ln.lhs
        d = self.sym("delta", db.layer, "k", db.row)
        formula = f"{self.scale(ln, True)}{self.sigma('k')} {d}"
        return self.ref(db), formula, self._eq(f"{self.scale(ln, False)}({self.sum_text(ln)})",
                                               ln)

    def _tied(self, ln: Line) -> tuple[str, str, str]:
        uses = " + ".join(self.ref(t[0]) for t in ln.terms)
        vals = " + ".join(self.val(t[0], paren=n > 0) for n, t in enumerate(ln.terms))
        return self.ref(ln.lhs), uses + "  (one term per use)", self._eq(vals, ln)

    def _reg(self, ln: Line) -> tuple[str, str, str]:
        grad, l2, p, l1 = ln.extra
        formula = f"{self.ref(grad)} + λ₂·{self.ref(p)} + λ₁·sign({self.ref(p)})"
        vals = f"{self.val(grad)} + {self.val(l2)}·{self.val(p, True)} + {self.val(l1)}·" \
            f"sign({self.val(p)})"
        return self.ref(ln.lhs), formula, self._eq(vals, ln)

    def _sgd(self, ln: Line) -> tuple[str, str, str]:
        p, lr, g = ln.extra
        return (self.ref(p), f"{self.ref(p)} − η·{self.ref(g)}",
                self._eq(f"{self.val(p)} − {self.val(lr)}·{self.val(g, True)}", ln))

    def _velocity(self, ln: Line) -> tuple[str, str, str]:
        mu, g = ln.extra
        v = self.ref(ln.lhs)
        known = math.isfinite(ln.result)
        return (v, f"μ·{v} + {self.ref(g)}   (μ = {self.val(mu)}; {self.ref(g)} = "
                f"{self.val(g)})", f"the trainer's running sum after this step = "
                f"{'<b>' if self.html else ''}{num(ln.result)}{'</b>' if self.html else ''}"
                if known else "the running sum is kept by the trainer (pause to see it)")

    def _momentum(self, ln: Line) -> tuple[str, str, str]:
        p, lr, v = ln.extra
        return (self.ref(p), f"{self.ref(p)} − η·{self.ref(v)}",
                self._eq(f"{self.val(p)} − {self.val(lr)}·{self.val(v, True)}", ln))

    def _adam_m(self, ln: Line, letter: str = "1") -> tuple[str, str, str]:
        m, beta, t, _g = ln.extra
        b = "β" + ("₁" if letter == "1" else "₂")
        tt = "<sup>t</sup>" if self.html else "ᵗ"
        formula = f"{self.ref(m)} / (1 − {b}{tt})"
        if not math.isfinite(ln.result):
            return self.ref(ln.lhs), formula, "kept by the trainer (pause to see it)"
        bt = f"<sup>{int(t.value)}</sup>" if self.html else sup(int(t.value))
        return self.ref(ln.lhs), formula, self._eq(
            f"{self.val(m)} / (1 − {self.val(beta)}{bt})", ln)

    def _adam_s(self, ln: Line) -> tuple[str, str, str]:
        return self._adam_m(ln, "2")

    def _adam(self, ln: Line) -> tuple[str, str, str]:
        p, lr, mh, sh, eps = ln.extra
        formula = f"{self.ref(p)} − η·{self.ref(mh)} / (√{self.ref(sh)} + ε)"
        return self.ref(p), formula, self._eq(
            f"{self.val(p)} − {self.val(lr)}·{self.val(mh, True)} / (√{self.val(sh)} + "
            f"{self.val(eps)})", ln)


def _title(w: Writer, e: Explanation) -> str:
    """``dW¹ at row 2, column 3`` in displayed indices."""
    if e.kind in ("db", "b"):
        return f"{w.sym(e.kind, e.layer if e.kind == 'db' else e.lines[-1].lhs.layer)} " \
            f"of neuron {e.i + 1}"
    kind = e.kind
    layer = e.layer if kind != "W" else e.lines[-1].lhs.layer
    row, col = (e.j, e.i) if kind in ("W", "dW") and w.notation == "in_out" else (e.i, e.j)
    rl, cl = axis_labels(kind if kind in KINDS else "z", w.notation)
    return (f"{w.sym(kind, layer)}, row {row + 1} ({rl}), column {col + 1} ({cl})")


def _reads(w: Writer, e: Explanation) -> str:
    parts = []
    for kind, layer, axis, idx in e.reads:
        if kind in ("W", "dW") and w.notation == "in_out":
            axis = "column" if axis == "row" else "row"
        elif axis == "col":
            axis = "column"
        owner = layer
        parts.append(f"{axis} {idx + 1} of {w.sym(kind, owner)}")
    return ("reads " + ", ".join(parts)) if parts else ""


def explanation_html(e: Explanation, notation: str, presentation: bool = False,
                     hint: str = "") -> str:
    """The whole explanation as rich text: title, each line (formula, numbers, value),
    the engine's value and the check, what it reads, the notes."""
    w = Writer(notation, html=True)
    big, small = _SIZES[presentation]
    rows = []
    for ln in e.lines:
        lhs, formula, plugged = w.line(ln)
        rel = "←" if ln.rule in ("sgd", "momentum", "adam") else "="
        if ln.rule == "velocity":
            rel = "←"
        td = f"font-family:{MATH_FONT}; font-size:{big}pt"   # Qt styles cells, not tables
        rows.append(f'<tr><td align="right" style="{td}; padding-right:8px">{lhs}&nbsp;</td>'
                    f'<td style="{td}">{rel}&nbsp;{formula}</td></tr>'
                    f'<tr><td></td><td style="{td}; color:#1a4d8f">=&nbsp;{plugged}</td></tr>')
        if ln.rule in ("delta_hidden", "delta_out") and ln.fn in _FPRIME and (
                ln.rule == "delta_hidden" or len(ln.extra) > 2):
            rows.append(_fprime_row(w, ln, small))
    check_txt = ""
    if math.isfinite(e.value):
        ok = abs(e.total - e.value) <= 1e-5 * max(1.0, abs(e.value))
        check_txt = (f"<p style='font-size:{small}pt'>engine's value: <b>{num(e.value)}</b> "
                     f"{'✓ the same' if ok else '✗ differs'}"
                     f" <span style='color:#777'>(sum in float64: {e.total:.10g})</span></p>")
    elif e.kind in ("W", "b"):
        check_txt = (f"<p style='font-size:{small}pt'>{w.sym(e.kind, e.lines[-1].lhs.layer)} "
                     f"this mini-batch used: <b>{num(e.cell)}</b>; after the update: "
                     f"<b>{num(e.total)}</b></p>")
    notes = "".join(f"<p style='color:#555; font-size:{small}pt'>{escape(n)}</p>"
                    for n in e.notes)
    reads = _reads(w, e)
    reads = f"<p style='color:#555; font-size:{small}pt'>{reads}</p>" if reads else ""
    hint = f"<p style='color:#777; font-size:{small}pt'><i>{escape(hint)}</i></p>" \
        if hint else ""
    return (f"<p style='font-size:{small}pt; color:#444'><b>{_title(w, e)}</b><br>"
            f"<span style='color:#777'>{escape(LABELS[notation])}</span></p>"
            f"<table width='100%' cellspacing='0' cellpadding='4'>{''.join(rows)}</table>"
            f"{check_txt}{reads}{notes}{hint}")


def _fprime_row(w: Writer, ln: Line, small: int) -> str:
    fp = next(r for r in ln.extra if r.kind == "fprime")
    z = next(r for r in ln.extra if r.kind == "z")
    a = next((r for r in ln.extra if r.kind == "a"), None)
    rule = _FPRIME[ln.fn]
    vals = ""
    if ln.fn == "tanh" and a is not None:
        vals = f" = 1 − {w.val(a, True)}² "
    elif ln.fn == "sigmoid" and a is not None:
        vals = f" = {w.val(a)}·(1 − {w.val(a, True)})"
    elif ln.fn in ("relu", "leaky_relu"):
        vals = f" (z = {w.val(z)})"
    return (f'<tr><td></td><td style="color:#555; font-family:{MATH_FONT}; '
            f'font-size:{small + 2}pt">'
            f"f′({w.ref(z)}) = {rule}{vals} = <b>{num(fp.value)}</b> &nbsp;({ln.fn})</td></tr>")


def explanation_text(e: Explanation, notation: str) -> str:
    """Plain text of the lines (one ``lhs = formula = numbers = result`` per line)."""
    w = Writer(notation, html=False)
    out = []
    for ln in e.lines:
        lhs, formula, plugged = w.line(ln)
        out.append(f"{lhs} = {formula} = {plugged}")
    return "\n".join(out)


def neuron_html(card: NeuronCard, notation: str, presentation: bool = False) -> str:
    """The single-neuron card: its inputs and weights, z, a, δ, db and its row of dW."""
    w = Writer(notation, html=True)
    big, small = _SIZES[presentation]
    l, i, k = card.layer, card.i, card.k
    head = (f"<p style='font-size:{small + 2}pt'><b>neuron {i + 1} of layer {l + 1}, sample "
            f"{k + 1}</b></p>")
    parts = [head]
    for e in (card.z, card.a, card.delta, card.db):
        parts.append(explanation_html(e, notation, presentation))
    n = card.dW_row.size
    head_i, gap, tail = elide(n)
    cells = [f"{w.sym('dW', l, i, j)} = {num(card.dW_row[j])}" for j in head_i]
    if gap:
        cells.append(f"… ({gap} more) …")
    cells += [f"{w.sym('dW', l, i, j)} = {num(card.dW_row[j])}" for j in tail]
    where = "row" if notation == "out_in" else "column"
    parts.append(f'<p style="font-family:{MATH_FONT}; font-size:{small + 2}pt">its {where} of '
                 f"{w.sym('dW', l)}: {', '.join(cells)}</p>")
    return "".join(parts)


class ExplainView(PanelMixin, QWidget):
    """The "Explain this number" panel (registry name ``"explain"``)."""

    draws_snapshots = True

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.notation = check(ctx.notation)
        self.spec = ctx.spec
        self._presentation = False
        self._snap: Any = None
        self._sel: tuple[str, int, int, int] = ("dW", 0, 0, 0)
        self._chosen = False                  # something was selected (else: the hint)
        self._rule: tuple[tuple[int, str, tuple[int, ...]], UpdateRule] | None = None
        self._asked: tuple[int, str, tuple[int, ...]] | None = None
        self._targets: tuple[Any, Any] | None = None
        self.last: Explanation | NeuronCard | None = None

        self.kind_box = QComboBox()
        for k, text in PICK.items():
            self.kind_box.addItem(text, k)
        self.layer_spin, self.row_spin, self.col_spin = QSpinBox(), QSpinBox(), QSpinBox()
        self.row_label, self.col_label = QLabel("row"), QLabel("column")
        self.controls = QWidget()             # two short rows: the panel is often narrow
        rows = QVBoxLayout(self.controls)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(2)
        for widgets in ((QLabel("explain"), self.kind_box, QLabel("layer"), self.layer_spin),
                        (self.row_label, self.row_spin, self.col_label, self.col_spin)):
            bar = QHBoxLayout()
            for wdg in widgets:
                bar.addWidget(wdg)
            bar.addStretch(1)
            rows.addLayout(bar)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.browser.setWordWrapMode(QTextOption.WrapMode.WordWrap)   # never inside a number
        lay = QVBoxLayout(self)
        lay.addWidget(self.controls)
        lay.addWidget(self.browser, 1)
        self._throttle = Throttle(self._render, REFRESH_S, self)

        self.kind_box.currentIndexChanged.connect(self._picked)
        for spin in (self.layer_spin, self.row_spin, self.col_spin):
            spin.valueChanged.connect(self._picked)
        ctx.notationChanged.connect(self.set_notation)
        ctx.specChanged.connect(self._spec_changed)
        ctx.trainingReset.connect(self.clear)
        ctx.selection.selected.connect(self.explain_selected)
        self._sync_controls()
        snap = ctx.latest_snapshot()
        if snap is not None:
            self._snap = snap
        self._render()

    # ------------------------------------------------------------ API (engine indices)
    def explain(self, kind: str, layer: int, i: int, j: int = -1) -> None:
        """Explain entry (i, j) of matrix ``kind`` of engine ``layer`` (as the engine
        stores it: z, a, δ are K×m with row k a sample; W, dW m×n; db, b: the neuron i)."""
        self._sel = (kind, int(layer), int(i), int(j))
        self._chosen = True
        self._sync_controls()
        self._render()

    def explain_neuron(self, layer: int, i: int, k: int) -> None:
        """The card of neuron ``i`` of engine ``layer`` for sample ``k``."""
        self.explain("neuron", layer, k, i)

    def explain_selected(self, sel: Selected | None) -> None:
        """Explain what was clicked (see the module notes); None or a bare sample: keep
        the explanation shown."""
        if sel is None:
            return
        k = max(sel.k, 0)
        if sel.kind == "neuron":
            if sel.layer < 0:                         # an input: x_i is a⁰ = X, column i
                self.explain("a", 0, k, sel.i)
            else:
                self.explain_neuron(sel.layer, sel.i, k)
        elif sel.kind in ("z", "delta", "a"):
            self.explain(sel.kind, sel.layer, sel.k, sel.j if sel.kind == "a" else sel.i)
        elif sel.kind in ("W", "dW"):
            self.explain(sel.kind, sel.layer, sel.i, sel.j)
        elif sel.kind == "db":
            self.explain("db", sel.layer, sel.i)

    def selection(self) -> tuple[str, int, int, int]:
        return self._sel

    def text(self) -> str:
        """What the panel shows, as plain text (tests, accessibility)."""
        return self.browser.toPlainText()

    # ------------------------------------------------------------ panel contract
    def show_snapshot(self, snap: Any) -> None:
        self._snap = snap
        self._throttle.request()

    def clear(self) -> None:
        self._snap = self.ctx.latest_snapshot()
        self._rule = self._asked = None
        self._render()

    def set_presentation(self, on: bool) -> None:
        self._presentation = bool(on)
        self._render()

    def set_notation(self, notation: str) -> None:
        self.notation = check(notation)
        self._sync_controls()
        self._render()

    def flush(self) -> None:
        """Draw the latest snapshot now (tests, screenshots)."""
        self._throttle.flush()

    # ------------------------------------------------------------ picking by hand
    def _spec_changed(self, spec: Any) -> None:
        self.spec = spec
        self._snap = None
        self._sel, self._chosen = ("dW", 0, 0, 0), False
        self._sync_controls()
        self._render()

    def _shape(self, kind: str, layer: int) -> tuple[int, int]:
        """Engine (rows, cols) of ``kind`` (vectors: (1, m)); K from the snapshot."""
        spec = self.spec
        m, n = spec.weight_shape(layer)
        step = getattr(self._snap, "step", None)
        K = step.batch_size if step is not None else self.ctx.effective_batch_size()
        if kind == "a":
            return (K, spec.in_size(layer) if layer < len(spec.layers) else spec.outputs)
        if kind in ("z", "delta", "neuron"):
            return (K, m)
        if kind in ("W", "dW"):
            return (m, n)
        return (1, m)

    def _sync_controls(self) -> None:
        """Set the bar to the selection, in displayed (1-based, notation) indices."""
        if self.spec is None:
            return
        kind, layer, i, j = self._sel
        widgets = (self.kind_box, self.layer_spin, self.row_spin, self.col_spin)
        for wdg in widgets:
            wdg.blockSignals(True)
        self.kind_box.setCurrentIndex(max(0, self.kind_box.findData(kind)))
        L = len(self.spec.layers)
        self.layer_spin.setRange(0 if kind == "a" else 1, L)
        self.layer_spin.setValue(layer if kind == "a" else layer + 1)
        rows, cols = self._shape(kind, layer)
        vector = kind in ("db", "b")
        if vector:
            i, j = 0, i
        flip = kind in ("W", "dW") and self.notation == "in_out"
        if flip:
            rows, cols, i, j = cols, rows, j, i
        self.row_spin.setRange(1, rows)
        self.col_spin.setRange(1, cols)
        self.row_spin.setValue(i + 1)
        self.col_spin.setValue(j + 1)
        self.row_spin.setVisible(not vector)
        self.row_label.setVisible(not vector)
        rl, cl = axis_labels(kind if kind in KINDS else "z", self.notation)
        self.row_label.setText(rl)
        self.col_label.setText(cl if not vector else "neuron i")
        for wdg in widgets:
            wdg.blockSignals(False)

    def _picked(self, *_: Any) -> None:
        kind = self.kind_box.currentData()
        shown = self.layer_spin.value()
        layer = shown if kind == "a" else max(0, shown - 1)
        rows, cols = self._shape(kind, layer)
        r, c = self.row_spin.value() - 1, self.col_spin.value() - 1
        if kind in ("W", "dW") and self.notation == "in_out":
            r, c = c, r
        if kind in ("db", "b"):
            r, c = c, -1
        r = min(max(r, 0), (cols if kind in ("db", "b") else rows) - 1)
        if c >= 0:
            c = min(c, cols - 1)
        self.explain(kind, layer, r, c)
        for hk, hl, _axis, _idx in getattr(self.last, "reads", ()):
            if hk in KINDS and 0 <= hl < len(self.spec.layers):
                self.ctx.request_highlight(hk, hl)

    # ------------------------------------------------------------ drawing
    def _y(self, step: Any) -> Any:
        """The targets of the snapshot's batch (cached per step record)."""
        if self._targets is not None and self._targets[0] is step:
            return self._targets[1]
        y = None
        ds = self.ctx.dataset
        try:
            if ds is not None and step.batch_index is not None:
                y = batch_targets(self.spec, ds.y_train, step.batch_index)
        except Exception:                     # another data set since: no targets
            y = None
        self._targets = (step, y)
        return y

    def _update_rule(self, step: Any, kind: str, layer: int, i: int, j: int) -> UpdateRule:
        cfg = self.ctx.config
        o = self.spec.owner(layer)
        key, idx = f"{kind}{o}", ((i, j) if kind == "W" else (i,))
        base = UpdateRule(optimizer=cfg.optimizer, lr=step.lr, l1=cfg.l1, l2=cfg.l2,
                          momentum=cfg.momentum)
        if cfg.optimizer == "sgd":
            return base
        want = (step.step, key, idx)
        if self._rule is not None and self._rule[0] == want:
            return self._rule[1]
        if not self.ctx.is_playing and self._asked != want:
            self._asked = want

            def job(tr: Any) -> UpdateRule | None:
                ok = tr.step == want[0] and tr.optimizer.t > 0
                return update_rule(tr.optimizer, key, idx) if ok else None

            def done(rule: UpdateRule | None) -> None:
                if rule is not None:
                    self._rule = (want, rule)
                    self._render()

            self.ctx.run_on_trainer(job, done, lambda _msg: None)
            if self._rule is not None and self._rule[0] == want:
                return self._rule[1]
        return base

    def _render(self) -> None:
        snap = self._snap
        step = getattr(snap, "step", None)
        if self.spec is None or step is None or step.backprop is None or step.weights is None:
            self.browser.setHtml("<p>Waiting for a mini-batch… (press Play or Step)</p>"
                                 f"<p><i>{HINT}</i></p>")
            self.last = None
            return
        kind, layer, i, j = self._sel
        y = self._y(step)
        hint = "" if self._chosen else HINT
        try:
            if kind == "neuron":
                card = explain_neuron(step.backprop, step.weights, self.spec, layer, j, i, y=y)
                self.last = card
                html = neuron_html(card, self.notation, self._presentation)
            else:
                rule = self._update_rule(step, kind, layer, i, j) if kind in ("W", "b") \
                    else None
                e = explain(step.backprop, step.weights, self.spec, kind, layer, i, j, y=y,
                            rule=rule)
                self.last = e
                html = explanation_html(e, self.notation, self._presentation, hint)
        except (ValueError, IndexError, KeyError) as exc:
            self.last = None
            html = f"<p>Cannot explain that cell: {escape(str(exc))}</p><p><i>{HINT}</i></p>"
        bar = self.browser.verticalScrollBar().value()
        self.browser.setHtml(html)
        self.browser.verticalScrollBar().setValue(bar)
