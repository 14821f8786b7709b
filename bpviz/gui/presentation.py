"""Presentation mode: the whole window readable from the back of a lecture hall.

:func:`apply_presentation` is what the main window's "Presentation mode" action
(F5) calls. Turning it on

- multiplies the application font by :data:`FONT_SCALE` (every widget without
  its own font follows),
- enlarges the tick and label fonts of every pyqtgraph axis and title,
- thickens every curve (PlotDataItem / PlotCurveItem) by :data:`PEN_SCALE`,
- calls ``set_presentation(True)`` on every child widget that has it (panels
  hide their non-essential controls and restyle what they draw themselves),
- floors every one-line label (titles, captions, "colour scale ±…" readouts,
  :class:`~.views.fitlabel.FitLabel`) at the body size: :func:`body_pt`.

What it changed is remembered on the window, so turning it off restores the
exact previous state; turning it on twice changes nothing the second time.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QWidget

from .views.fitlabel import set_body_floor

FONT_SCALE = 1.8
PEN_SCALE = 3.0
#: Point sizes of pyqtgraph text in presentation mode.
TICK_PT, LABEL_PT, TITLE_PT = 15, 17, 20

_STATE = "_bpviz_presentation_state"


def scaled_font(base: QFont, factor: float, bold: bool = False) -> QFont:
    """A copy of ``base`` ``factor`` times as large (point or pixel size)."""
    f = QFont(base)
    if f.pointSizeF() > 0:
        f.setPointSizeF(f.pointSizeF() * factor)
    elif f.pixelSize() > 0:
        f.setPixelSize(max(1, round(f.pixelSize() * factor)))
    f.setBold(bold)
    return f


def base_font() -> QFont:
    """The application font (what a widget without its own font uses).

    Panels size their special text from this, not from ``self.font()``: a
    widget learns of an application font change only when events are processed.
    """
    app = QApplication.instance()
    return QFont(app.font()) if app is not None else QFont()


def body_pt() -> int:
    """The application's body text size in points (presentation mode's, when it is on):
    the least any title, caption or label may be in presentation mode."""
    pt = base_font().pointSizeF()
    return max(6, round(pt if pt > 0 else 9.0))


def is_presentation(window: QWidget) -> bool:
    """Whether presentation mode is on for ``window``."""
    return getattr(window, _STATE, None) is not None


def _graphics_views(window: QWidget) -> list[pg.GraphicsView]:
    views = window.findChildren(pg.GraphicsView)
    if isinstance(window, pg.GraphicsView):
        views.append(window)
    return views


def _axis_state(ax: pg.AxisItem) -> dict[str, Any]:
    return {"tick": QFont(ax.style.get("tickFont") or QFont()), "has_tick": bool(
        ax.style.get("tickFont")), "label_style": dict(ax.labelStyle),
        "pen": pg.mkPen(ax.pen()), "width": ax.fixedWidth}


def _enlarge_scene(view: pg.GraphicsView, saved: dict[int, tuple]) -> None:
    tick = QFont()
    tick.setPointSize(TICK_PT)
    for item in view.scene().items():
        if id(item) in saved:
            continue
        if isinstance(item, pg.AxisItem):
            saved[id(item)] = (item, "axis", _axis_state(item))
            style = dict(item.labelStyle)
            style["font-size"] = f"{LABEL_PT}pt"
            pen = pg.mkPen(item.pen())
            pen.setWidthF(max(2.0, pen.widthF() * 2))
            item.setPen(pen)              # (this resets the label colour to the pen's)
            item.setStyle(tickFont=tick)
            if item.labelText or item.labelUnits:
                item.setLabel(item.labelText, item.labelUnits, item.labelUnitPrefix, **style)
            if item.orientation in ("left", "right") and item.fixedWidth is not None:
                item.setWidth(None)       # room for the larger ticks and label
        elif isinstance(item, pg.LabelItem) and item.text and not getattr(
                item.parentItem(), "bpviz_own_size", False):   # (a panel sized it)
            saved[id(item)] = (item, "label", (item.text, dict(item.opts)))
            size = item.opts.get("size")
            big = TITLE_PT if size is None or _pt(size) < TITLE_PT else _pt(size)
            item.setText(item.text, size=f"{big}pt")
        elif isinstance(item, (pg.PlotDataItem, pg.PlotCurveItem)) and not isinstance(
                item.parentItem(), pg.PlotDataItem) and not getattr(item, "bpviz_own_pen", False):
            # (a curve whose panel sets its presentation pen itself is not thickened twice)
            pen = item.opts.get("pen")
            if pen is None:
                continue
            old = pg.mkPen(pen)
            saved[id(item)] = (item, "pen", old)
            new = pg.mkPen(old)
            new.setWidthF(max(3.0, (old.widthF() or 1.0) * PEN_SCALE))
            item.setPen(new)


def _pt(size: Any) -> float:
    try:
        return float(str(size).replace("pt", "").replace("px", ""))
    except ValueError:
        return 0.0


def _restore(saved: dict[int, tuple]) -> None:
    for item, kind, old in saved.values():
        try:
            if kind == "axis":
                item.setPen(old["pen"])
                if item.orientation in ("left", "right"):
                    item.setWidth(old["width"])
                item.setStyle(tickFont=old["tick"] if old["has_tick"] else None)
                item.labelStyle = dict(old["label_style"])
                if item.labelText or item.labelUnits:
                    item.setLabel(item.labelText, item.labelUnits, item.labelUnitPrefix,
                                  **old["label_style"])
            elif kind == "label":             # the text may have changed meanwhile
                _, opts = old
                item.opts = dict(opts)
                item.setText(item.text, **{k: v for k, v in opts.items()
                                           if k in ("size", "color", "bold", "italic")})
            else:                              # only the width: the colour may have changed
                pen = pg.mkPen(item.opts.get("pen"))
                pen.setWidthF(old.widthF())
                item.setPen(pen)
        except RuntimeError:          # the item was deleted meanwhile
            continue


def _panels(window: QWidget) -> list[QWidget]:
    """``window`` and its descendants that have ``set_presentation``."""
    return [w for w in [window, *window.findChildren(QWidget)]
            if callable(getattr(type(w), "set_presentation", None))]


def present_new(window: QWidget, widget: QWidget) -> None:
    """``widget``, a panel built while ``window`` is in presentation mode (its dock was
    shown for the first time), gets what the others got when the mode was turned on;
    turning it off restores it with them."""
    state = getattr(window, _STATE, None)
    if state is None:
        return
    for w in _panels(widget):
        w.set_presentation(True)
    for view in _graphics_views(widget):
        _enlarge_scene(view, state["items"])


def apply_presentation(window: QWidget, on: bool, *, panels: bool = True) -> None:
    """Turn presentation mode on or off for ``window`` (idempotent).

    ``panels=False`` leaves the ``set_presentation`` calls to the caller (a main
    window that forwards them to its registered panels itself).
    """
    app = QApplication.instance()
    state = getattr(window, _STATE, None)
    if on and state is None:
        state = {"app_font": QFont(app.font()) if app else None,
                 "window_font": QFont(window.font()), "items": {}}
        setattr(window, _STATE, state)
        if app is not None:        # every widget without a font of its own follows
            app.setFont(scaled_font(app.font(), FONT_SCALE))
        else:
            window.setFont(scaled_font(window.font(), FONT_SCALE))
        set_body_floor(body_pt(), window)
        if panels:
            for w in _panels(window):
                w.set_presentation(True)
        for view in _graphics_views(window):   # after the panels restyled themselves
            _enlarge_scene(view, state["items"])
    elif not on and state is not None:
        _restore(state["items"])
        if app is not None and state["app_font"] is not None:
            app.setFont(state["app_font"])
        else:
            window.setFont(state["window_font"])
        set_body_floor(None, window)
        setattr(window, _STATE, None)
        if panels:
            for w in _panels(window):
                w.set_presentation(False)
