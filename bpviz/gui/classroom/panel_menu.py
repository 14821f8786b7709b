"""The right-click menu of the classroom panels: export the panel, save or copy its matrices.

A panel mixes in :class:`ExportMenuMixin` and lists what can be saved in
``export_matrices() -> {name: array}``; the file work is
:mod:`bpviz.gui.views.export` (gui-plots). Heatmaps inside a panel keep their
own menu (their own matrix); this one covers the rest of the panel.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QMenu, QWidget

from ..views import export


class ExportMenuMixin:
    """Adds ``panel_menu()`` and a right-click handler to a QWidget subclass."""

    #: File name stem of the exported picture.
    export_name = "bpviz-panel"

    def export_matrices(self) -> dict[str, np.ndarray]:  # pragma: no cover - overridden
        return {}

    def panel_menu(self) -> QMenu:
        """Export picture (PNG/SVG), and for each matrix: save (CSV/.npy) and copy."""
        w: QWidget = self  # type: ignore[assignment]
        menu = QMenu(w)
        menu.addAction("Export panel as picture (PNG/SVG)…",
                       lambda: export.export_widget_dialog(w, w, self.export_name))
        mats = self.export_matrices()
        if mats:
            menu.addSeparator()
        for name, M in mats.items():
            sub = menu.addMenu(name)
            sub.addAction("Save (CSV/.npy)…",
                          lambda M=M, name=name: export.save_matrix_dialog(M, w, name))
            sub.addAction("Copy to clipboard", lambda M=M: export.copy_matrix(M))
        return menu

    def contextMenuEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.panel_menu().exec(event.globalPos())

    def attach_menu(self, child: QWidget) -> None:
        """Give ``child`` (e.g. a pyqtgraph view that eats right-clicks) this menu."""
        from PySide6.QtCore import Qt

        child.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        child.customContextMenuRequested.connect(
            lambda pos, c=child: self.panel_menu().exec(c.mapToGlobal(QPoint(pos))))
