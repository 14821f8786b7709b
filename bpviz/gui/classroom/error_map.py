"""The error map of the gradient check: log₁₀ relative error of W, with b beside it.

A sequential colour map over ``log₁₀`` errors from -12 to 0: white and pale
blue below the tolerance (1e-6, the middle of the bar: backprop agrees), then
yellow, orange and dark red (wrong). Entries that were not checked (large
layers are sampled) are grey. The image is RGBA, coloured here, so the grey
needs no NaN in the image.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

LOG_MIN, LOG_MAX = -12.0, 0.0
UNCHECKED_RGBA = (150, 150, 150, 255)
#: Sequential map over log₁₀ error -12..0: white and pale blue while backprop agrees
#: (below the tolerance 1e-6, the middle), then yellow, orange and dark red: wrong.
COLOR_STOPS = ((0.0, (255, 255, 255)), (0.5, (205, 225, 240)), (0.62, (250, 220, 120)),
               (0.8, (240, 130, 40)), (1.0, (160, 15, 20)))
UNCHECKED_RGBA = (150, 150, 150, 255)

def error_colormap() -> pg.ColorMap:
    """The colours of :data:`COLOR_STOPS` (0 = 1e-12, 0.5 = the tolerance, 1 = 1)."""
    pos = np.array([p for p, _ in COLOR_STOPS])
    rgb = np.array([c for _, c in COLOR_STOPS], dtype=np.ubyte)
    return pg.ColorMap(pos, rgb, name="bpviz-gradcheck")


def log_error(rel: np.ndarray) -> np.ndarray:
    """``log₁₀`` of relative errors, clipped to [-12, 0] (exact agreement -> -12)."""
    rel = np.asarray(rel, dtype=np.float64)
    return np.clip(np.log10(np.maximum(rel, 10.0 ** LOG_MIN)), LOG_MIN, LOG_MAX)


class ErrorMap(pg.GraphicsLayoutWidget):
    """``log₁₀`` relative error of W (rows i, columns j) with b as an extra column.

    Unchecked entries (large layers are sampled) are grey. ``matrix()`` returns the
    ``log₁₀`` error of W as displayed.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.plot = self.addPlot(row=0, col=0)
        self.plot.invertY(True)
        self.plot.setAspectLocked(False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.image_w = pg.ImageItem(axisOrder="row-major")
        self.image_b = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image_w)
        self.plot.addItem(self.image_b)
        self.cmap = error_colormap()
        self.bar = pg.ColorBarItem(values=(LOG_MIN, LOG_MAX), colorMap=self.cmap,
                                   interactive=False, pen="k", width=22, colorMapMenu=False)
        self.bar.axis.setLabel("log₁₀ relative error", color="#000")
        self.addItem(self.bar, row=0, col=1)
        for ax in ("left", "bottom"):
            self.plot.getAxis(ax).setPen("k")
            self.plot.getAxis(ax).setTextPen("k")
        self.bar.axis.setTextPen("k")
        self.bar.axis.setTickSpacing(2, 1)
        self._W = np.zeros((0, 0))

    def rgba(self, logerr: np.ndarray, checked: np.ndarray) -> np.ndarray:
        t = (logerr - LOG_MIN) / (LOG_MAX - LOG_MIN)
        out = self.cmap.map(t.reshape(-1), mode="byte").reshape(*t.shape, 4)
        out[~checked] = UNCHECKED_RGBA
        return np.ascontiguousarray(out)

    def set_data(self, logW: np.ndarray, okW: np.ndarray, logb: np.ndarray,
                 okb: np.ndarray, transposed: bool, title: str,
                 labels: tuple[str, str] = ("neuron i", "input j")) -> None:
        """Show W's errors (m×n, or n×m when ``transposed``) and b's (m).

        ``labels`` are the (row, column) names of W as displayed.
        """
        self._W = logW.T if transposed else logW
        okW = okW.T if transposed else okW
        rows, cols = self._W.shape
        self.image_w.setImage(self.rgba(self._W, okW), autoLevels=False, levels=(0, 255))
        self.image_w.setRect(0, 0, cols, rows)
        bimg = self.rgba(logb, okb)
        if transposed:                           # b under W, as a row (1×m)
            self.image_b.setImage(bimg[None, :, :], autoLevels=False, levels=(0, 255))
            self.image_b.setRect(0, rows + 0.3, cols, 1)
        else:                                     # b right of W, as a column (m×1)
            self.image_b.setImage(bimg[:, None, :], autoLevels=False, levels=(0, 255))
            self.image_b.setRect(cols + 0.3, 0, 1, rows)
        self.plot.setTitle(title, color="k")
        self._set_ticks(rows, cols, transposed, labels)
        self.plot.setXRange(0, cols + (0 if transposed else 1.3), padding=0.02)
        self.plot.setYRange(0, rows + (1.3 if transposed else 0), padding=0.02)

    def _set_ticks(self, rows: int, cols: int, transposed: bool,
                   labels: tuple[str, str]) -> None:
        def ticks(n: int, extra: str | None) -> list:
            step = max(1, int(np.ceil(n / 12)))
            t = [(k + 0.5, str(k + 1)) for k in range(0, n, step)]
            if extra:
                t.append((n + 0.8, extra))
            return [t]
        self.plot.getAxis("bottom").setTicks(ticks(cols, None if transposed else "b"))
        self.plot.getAxis("left").setTicks(ticks(rows, "b" if transposed else None))
        rl, cl = labels
        self.plot.setLabel("left", rl + " (row)")
        self.plot.setLabel("bottom", cl + " (column)")

    def matrix(self) -> np.ndarray:
        return self._W
