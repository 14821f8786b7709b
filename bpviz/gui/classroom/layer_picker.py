"""The "Layer" combo box of the classroom panels: one item per engine layer, data = its index."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QComboBox


class LayerPicker(QComboBox):
    """A combo box of layers; item data is the engine layer index ``i`` (shown as ``i + 1``)."""

    def fill(self, spec: Any, label: Callable[[int, int, int], str | None],
             fallback_last: bool = True) -> None:
        """Refill from ``spec`` without emitting: ``label(i, m, n)`` names layer i (its W is
        m×n), None leaves it out. The chosen layer is kept if still there, else the last
        item (``fallback_last``) or the first."""
        keep = self.currentData()
        self.blockSignals(True)
        self.clear()
        for i in range(len(spec.layers)):
            text = label(i, *spec.weight_shape(i))
            if text is not None:
                self.addItem(text, i)
        pos = self.findData(keep) if keep is not None else -1
        self.setCurrentIndex(pos if pos >= 0 else (self.count() - 1 if fallback_last else 0))
        self.blockSignals(False)

    def layer(self) -> int | None:
        """The chosen engine layer index (None while empty)."""
        i = self.currentData()
        return None if i is None else int(i)

    def set_layer(self, i: int) -> None:
        """Choose layer ``i`` if it is listed (emits ``currentIndexChanged``)."""
        idx = self.findData(int(i))
        if idx >= 0:
            self.setCurrentIndex(idx)
