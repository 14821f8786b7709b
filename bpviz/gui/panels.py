"""The registry of dock panels: one :class:`PanelInfo` per dock of the main window.

The main window makes one QDockWidget per entry (``objectName = name``, which
QSettings uses to restore the layout) and lists it in the View menu. A panel is
built as ``factory(ctx)`` with a :class:`~bpviz.gui.contract.PanelContext`,
connects to the signals it needs itself, and is a
:class:`~bpviz.gui.contract.Panel` (``show_snapshot``, ``clear``,
``set_presentation``) for the window.

Factories import their module lazily, so building the registry costs nothing
and a panel's dependencies load only when it is built. The window builds the
panels of the default layout at start-up and every other one when its dock is
first shown, or when code first asks for it (:class:`PanelSet`): the window's
first frame does not wait for eight panels nobody sees yet. To add a panel,
append ONE entry to :data:`PANELS`.
"""

from __future__ import annotations

from collections.abc import Callable, ItemsView, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from .contract import PanelContext

LEFT = Qt.DockWidgetArea.LeftDockWidgetArea
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
TOP = Qt.DockWidgetArea.TopDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea


@dataclass(frozen=True)
class PanelInfo:
    """One dock panel.

    Attributes
    ----------
    name : dock objectName and the ``--view`` name.
    title : dock title (also the View menu entry).
    factory : ``factory(ctx) -> QWidget``; imports its module lazily.
    area : the dock area of the default layout.
    visible_by_default : shown in the default layout.
    tab_with : name of a dock to share a tab group with in the default layout.
    """

    name: str
    title: str
    factory: Callable[[PanelContext], QWidget]
    area: Qt.DockWidgetArea = RIGHT
    visible_by_default: bool = True
    tab_with: str | None = None


def _lazy(module: str, cls: str) -> Callable[[Any], Any]:
    def make(ctx: Any) -> Any:
        import importlib

        return getattr(importlib.import_module(module, __package__), cls)(ctx)

    make.__qualname__ = f"make_{cls}"
    make.target = (module, cls)  # type: ignore[attr-defined]  # what it builds, for tests
    return make


PANELS: list[PanelInfo] = [
    PanelInfo("network", "Network", _lazy(".layer_editor", "LayerEditor"), LEFT),
    PanelInfo("settings", "Data and training", _lazy(".settings_panel", "SettingsPanel"), LEFT),
    PanelInfo("matrices", "Matrices", _lazy(".views.matrices", "MatrixPanel"), TOP),
    PanelInfo("data", "Data", _lazy(".views.data_view", "DataView"), RIGHT),
    PanelInfo("loss", "Loss", _lazy(".views.loss_plot", "LossPlot"), RIGHT),
    PanelInfo("compare", "Loop vs vectorized", _lazy(".views.compare", "ComparePanel"),
              BOTTOM),
    PanelInfo("health", "Gradient health", _lazy(".views.health", "GradientHealthPlot"),
              BOTTOM, tab_with="compare"),
    PanelInfo("outer-product", "Outer products",
              _lazy(".classroom.outer_product", "OuterProductView"), TOP, False, "matrices"),
    PanelInfo("equations", "Equations", _lazy(".classroom.equations", "EquationsView"), BOTTOM,
              False, "health"),
    PanelInfo("timing", "Timing lab", _lazy(".timing_lab", "TimingLab"), BOTTOM, False,
              "compare"),
    PanelInfo("gradcheck", "Gradient check",
              _lazy(".classroom.gradcheck_view", "GradCheckView"), TOP, False, "matrices"),
    PanelInfo("tied", "Tied weights", _lazy(".classroom.tied_view", "TiedView"), TOP, False,
              "matrices"),
    PanelInfo("graph", "Network graph", _lazy(".views.graph", "NetworkGraph"), TOP, False,
              "matrices"),
    PanelInfo("weight-images", "Weights as images",
              _lazy(".views.input_images", "WeightImages"), TOP, False, "matrices"),
    PanelInfo("explain", "Explain this number",
              _lazy(".classroom.explain_view", "ExplainView"), RIGHT, False, "loss"),
    PanelInfo("lesson", "Lesson", _lazy(".classroom.lesson", "LessonPanel"), RIGHT, True,
              "loss"),
]


def panel(name: str) -> PanelInfo | None:
    """The registered panel called ``name``, or None."""
    return next((p for p in PANELS if p.name == name), None)


def panel_names() -> list[str]:
    return [p.name for p in PANELS]


def panel_class(info: PanelInfo) -> type:
    """The widget class ``info.factory`` builds (imports its module)."""
    import importlib

    module, cls = info.factory.target  # type: ignore[attr-defined]
    return getattr(importlib.import_module(module, __package__), cls)


class PanelSet(Mapping[str, Any]):
    """The window's panels by registered name, each built on first use.

    ``panels[name]`` builds the panel with ``build(name)`` the first time (its dock
    is shown, or code asks for it) and returns the same one after; iterating gives
    every registered name (so ``values()`` builds them all). :meth:`built` gives
    only those built so far: what the window draws into, clears, saves and shuts
    down (a panel not yet built has nothing to draw, clear, save or stop, and it
    reads the controller's state when it is built). A panel that draws the
    records it missed while hidden (``draws_history``) must be one of the default
    layout's, which are built at start-up (tests/test_gui_core.py checks this)."""

    def __init__(self, build: Callable[[str], Any]) -> None:
        self._build = build
        self._made: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        made = self._made.get(name)
        if made is None:
            if panel(name) is None:
                raise KeyError(name)
            made = self._made[name] = self._build(name)
        return made

    def __iter__(self) -> Iterator[str]:
        return iter(panel_names())

    def __len__(self) -> int:
        return len(PANELS)

    def is_built(self, name: str) -> bool:
        return name in self._made

    def built(self) -> ItemsView[str, Any]:
        """``(name, panel)`` of the panels built so far (a live view: no copy per frame)."""
        return self._made.items()
