"""The lesson panel: the current preset's title, description and lesson, large and plain.

A preset's lesson is short text in the preset's own words: what to watch and
what to try. It may use a little structure, rendered here:

- a blank line starts a new paragraph;
- a line starting with ``-``, ``*`` or ``•`` is a bullet;
- a leading ``Watch:``, ``Try:``, ``Why:``, ``Note:`` (any ``Word:`` up to 12
  letters at the start of a paragraph or bullet) is set in bold;
- ``*text*`` is emphasised;
- a paragraph of one short line ("What to watch") is a heading;
- the ASCII math of preset files reads as the equations view writes it:
  ``delta1^T a0`` -> ``δ¹ᵀ a⁰``, ``16x8`` -> ``16×8``, ``delta_k`` -> ``δₖ``,
  ``(delta2 W2) * f'(z1)`` -> ``(δ² W²) ⊙ f'(z¹)``.

The panel follows the controller: it reads ``ctx.preset`` (None when the
network was built by hand) and listens to ``ctx.presetChanged(object)``.
"""

from __future__ import annotations

import html
import re
from typing import Any

from PySide6.QtWidgets import QDockWidget, QTextBrowser, QVBoxLayout, QWidget

from ...engine.presets import Preset
from ..contract import PanelContext, PanelMixin
from ..notation import sub, sup
from ..presentation import base_font, scaled_font
from .panel_menu import ExportMenuMixin

NO_PRESET_HTML = (
    "<h2>No lesson loaded</h2>"
    "<p>Pick a preset (menu <b>Presets</b>, or <code>bpviz gui --preset NAME</code>): "
    "each one comes with a network, a data set and a short lesson — what to watch and "
    "what to try.</p>"
    "<p>A network you built yourself has no lesson text; the views still work.</p>")

_LEAD = re.compile(r"^([A-Z][A-Za-z ]{1,11}):\s")
_EM = re.compile(r"\*([^*\s][^*]*?)\*")
_BULLET = re.compile(r"^\s*[-*•]\s+")

STYLE = """
h2 { margin: 0 0 4px 0; }
h3 { margin: 10px 0 2px 0; color: #1a4f8a; }
p.desc { color: #444; font-style: italic; margin-top: 0; }
p, li { line-height: 135%; }
p.meta { color: #555; }
"""


_MATH = (  # ASCII math of preset files -> the symbols of the equations view
    (re.compile(r"\bdelta(?=\d|\b|_)"), lambda m: "δ"),
    (re.compile(r"(?<=\d)x(?=\d)"), lambda m: "×"),
    (re.compile(r"\b([A-Za-z]|\d+|out|in) x ([A-Za-z]|\d+|out|in)\b"),
     lambda m: f"{m[1]} × {m[2]}"),
    (re.compile(r"(?<=\S) \* (?=\S)"), lambda m: " ⊙ "),       # element-wise product
    (re.compile(r"\b(dW|db|W|b|a|z|δ)(\d{1,2})(?![A-Za-z0-9_])"),
     lambda m: m[1] + sup(m[2])),
    (re.compile(r"(?<=[\w⁰¹²³⁴⁵⁶⁷⁸⁹])_([aeijklmnox0-9])(?![A-Za-z0-9_])"),
     lambda m: sub(m[1])),
    (re.compile(r"\^T\b"), lambda m: "ᵀ"),
)


def pretty_math(text: str) -> str:
    """``delta1^T a0`` -> ``δ¹ᵀ a⁰``, ``16x8`` -> ``16×8``, ``delta_k`` -> ``δₖ``."""
    for pat, rep in _MATH:
        text = pat.sub(rep, text)
    return text


def _inline(text: str) -> str:
    out = html.escape(pretty_math(text), quote=False)
    out = _LEAD.sub(lambda m: f"<b>{m.group(1)}:</b> ", out, count=1)
    return _EM.sub(r"<i>\1</i>", out)


def _is_heading(lines: list[str]) -> bool:
    """A paragraph of one short line without a full stop: "What to watch"."""
    return (len(lines) == 1 and len(lines[0]) <= 40
            and (lines[0].endswith(":") or lines[0][-1:].isalnum()))


def lesson_html(text: str) -> str:
    """The lesson text as simple HTML (paragraphs, bullets, bold lead words)."""
    parts: list[str] = []
    para: list[str] = []
    bullets: list[str] = []

    def flush() -> None:
        if para and _is_heading(para):
            parts.append("<h3>" + _inline(para[0].rstrip(":")) + "</h3>")
            para.clear()
        elif para:
            parts.append("<p>" + _inline(" ".join(para)) + "</p>")
            para.clear()
        if bullets:
            parts.append("<ul>" + "".join(f"<li>{_inline(b)}</li>" for b in bullets) + "</ul>")
            bullets.clear()

    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif _BULLET.match(raw):
            if para:
                flush()
            bullets.append(_BULLET.sub("", raw).strip())
        elif bullets and raw[:1].isspace():    # an indented continuation of a bullet
            bullets[-1] += " " + line
        else:
            if bullets:
                flush()
            para.append(line)
    flush()
    return "\n".join(parts)


def preset_html(preset: Preset | None) -> str:
    """Title, description, lesson and what the preset sets up, as HTML."""
    if preset is None:
        return NO_PRESET_HTML
    out = [f"<h2>{html.escape(pretty_math(preset.title or preset.name))}</h2>"]
    if preset.description:
        out.append(f"<p class='desc'>{html.escape(pretty_math(preset.description))}</p>")
    out.append(lesson_html(preset.lesson) or "<p>(no lesson text)</p>")
    train = preset.train
    meta = ["network " + html.escape(preset.spec.describe()),
            "data " + html.escape(preset.data.describe()),
            f"batch {train.batch_size}, {train.optimizer} lr {train.lr:g}"]
    out.append("<hr><p class='meta'>" + " · ".join(meta) + "</p>")
    return "\n".join(out)


class LessonPanel(PanelMixin, ExportMenuMixin, QWidget):
    """The lesson side panel (registry name ``"lesson"``)."""

    export_name = "bpviz-lesson"

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._presentation = False
        self._preset: Any = None
        self.browser = QTextBrowser(self)
        self.browser.setOpenExternalLinks(False)
        self.browser.document().setDefaultStyleSheet(STYLE)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.browser)
        ctx.presetChanged.connect(self._preset_loaded)
        self._style()
        self.set_preset(ctx.preset)

    def set_preset(self, preset: Any) -> None:
        """Show ``preset``'s lesson (None: how to get one)."""
        self._preset = preset
        self.browser.setHtml(preset_html(preset))

    def _preset_loaded(self, preset: Any) -> None:
        """A preset was loaded: show its lesson and bring an open lesson dock to the front."""
        self.set_preset(preset)
        dock = self.parentWidget()
        if isinstance(dock, QDockWidget) and not dock.isHidden():
            dock.raise_()

    def preset(self) -> Any:
        return self._preset

    def text(self) -> str:
        """The plain text shown (for tests and screen readers)."""
        return self.browser.toPlainText()

    def set_presentation(self, on: bool) -> None:
        self._presentation = bool(on)
        self._style()
        self.set_preset(self._preset)

    def _style(self) -> None:
        self.browser.setFont(scaled_font(base_font(), 1.15 if self._presentation else 1.25))
