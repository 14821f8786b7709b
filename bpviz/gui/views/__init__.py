"""The live views of bpviz.

Every panel is ``Panel(ctx, parent=None)`` with a
:class:`~bpviz.gui.contract.PanelContext`; it connects to the signals it needs
itself and is a :class:`~bpviz.gui.contract.Panel` for the main window
(``show_snapshot``, ``clear``, ``set_presentation``). :class:`Heatmap` is the
building block of the matrices panel.
Attributes load lazily so importing this package costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Heatmap": ".heatmap",
    "MatrixPanel": ".matrices",
    "LossPlot": ".loss_plot",
    "DataView": ".data_view",
    "GradientHealthPlot": ".health",
    "ComparePanel": ".compare",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
