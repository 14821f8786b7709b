"""Export: any widget to PNG or SVG, any matrix to CSV, ``.npy`` or the clipboard.

The file functions raise ``OSError``/``ValueError`` with a readable message;
the ``*_dialog`` helpers ask for a path, call them, and report errors in a
message box instead of raising (they are what the context menus use).

CSV files hold one matrix row per line, comma-separated, with 9 significant
digits, enough to load a float32 matrix back bit-for-bit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QGuiApplication, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

IMAGE_FILTER = "PNG image (*.png);;SVG drawing (*.svg)"
MATRIX_FILTER = "CSV table (*.csv);;NumPy array (*.npy)"


def _as_2d(M: np.ndarray) -> np.ndarray:
    M = np.asarray(M)
    if M.ndim == 1:
        return M.reshape(1, -1)
    if M.ndim != 2:
        raise ValueError(f"expected a matrix or a vector, got an array of shape {M.shape}")
    return M


def save_matrix(M: np.ndarray, path: str | Path) -> Path:
    """Write ``M`` to ``path``: ``.npy`` (exact, dtype kept) or ``.csv`` (text).

    A vector is written as one row. Returns the path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        np.save(path, np.asarray(M))
    elif suffix in (".csv", ".txt", ".tsv"):
        delim = "\t" if suffix == ".tsv" else ","
        np.savetxt(path, _as_2d(M), delimiter=delim, fmt="%.9g")
    else:
        raise ValueError(f"cannot save a matrix as {suffix or 'a file without extension'!r}; "
                         "use .csv or .npy")
    return path


def load_matrix(path: str | Path) -> np.ndarray:
    """Read back what :func:`save_matrix` wrote (CSV as a 2-D float array)."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        return np.load(path)
    delim = "\t" if path.suffix.lower() == ".tsv" else ","
    return np.loadtxt(path, delimiter=delim, ndmin=2)


def matrix_to_text(M: np.ndarray, sep: str = "\t") -> str:
    """Rows on lines, values separated by ``sep`` (tab: pastes into a spreadsheet)."""
    return "\n".join(sep.join(f"{v:.9g}" for v in row) for row in _as_2d(M)) + "\n"


def copy_matrix(M: np.ndarray) -> str:
    """Put ``M`` on the clipboard as tab-separated text; returns the text."""
    text = matrix_to_text(M)
    QGuiApplication.clipboard().setText(text)
    return text


def _render(widget: QWidget, painter: QPainter) -> None:
    """Paint ``widget`` (and its children) at the painter's origin.

    ``QWidget.render`` called unbound: a pyqtgraph ``GraphicsView`` (``PlotWidget``,
    ``GraphicsLayoutWidget``, ...) is a ``QGraphicsView``, whose own ``render``
    draws the *scene* and takes no target offset. Painting the widget instead
    runs its paint event, which pyqtgraph prepares itself (``prepareForPaint``).
    """
    QWidget.render(widget, painter, QPoint(0, 0))


def export_widget(widget: QWidget, path: str | Path) -> Path:
    """Save what ``widget`` shows to ``path`` (``.png`` or ``.svg``).

    Works for any widget, a pyqtgraph ``GraphicsView`` itself included.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    size = widget.size()
    if size.width() <= 0 or size.height() <= 0:
        raise ValueError(f"cannot export an empty widget ({size.width()}×{size.height()} px)")
    if suffix == ".png":
        pix = widget.grab()  # QWidget.grab: fine for a GraphicsView too
        if pix.isNull() or not pix.save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
    elif suffix == ".svg":
        # QSvgGenerator + QWidget.render works for every widget, pyqtgraph or not
        # (pyqtgraph's own SVGExporter trips over Qt 6 path data).
        gen = QSvgGenerator()
        gen.setFileName(str(path))
        gen.setSize(QSize(size.width(), size.height()))
        gen.setViewBox(QRectF(0, 0, size.width(), size.height()))
        gen.setTitle(widget.windowTitle() or "bpviz")
        painter = QPainter(gen)
        try:
            _render(widget, painter)
        finally:
            painter.end()
        if not path.exists() or path.stat().st_size == 0:
            raise OSError(f"could not write {path}")
    else:
        raise ValueError(f"cannot export a picture as {suffix or 'a file without extension'!r}; "
                         "use .png or .svg")
    return path


def _safe_name(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return keep.strip("_") or "bpviz"


def export_widget_dialog(widget: QWidget, parent: QWidget | None = None,
                         name: str = "bpviz") -> Path | None:
    """Ask for a PNG/SVG path and export ``widget``; errors go to a message box."""
    path, _ = QFileDialog.getSaveFileName(parent or widget, "Export picture",
                                          _safe_name(name) + ".png", IMAGE_FILTER)
    if not path:
        return None
    try:
        return export_widget(widget, path)
    except (OSError, ValueError) as exc:
        QMessageBox.warning(parent or widget, "Export failed", str(exc))
        return None


def save_matrix_dialog(M: np.ndarray, parent: QWidget | None = None,
                       name: str = "matrix") -> Path | None:
    """Ask for a CSV/.npy path and save ``M``; errors go to a message box."""
    path, _ = QFileDialog.getSaveFileName(parent, "Save matrix", _safe_name(name) + ".csv",
                                          MATRIX_FILTER)
    if not path:
        return None
    try:
        return save_matrix(M, path)
    except (OSError, ValueError) as exc:
        QMessageBox.warning(parent, "Save failed", str(exc))
        return None


def panel_menu(widget: QWidget, name: str,
               matrices: Callable[[], dict[str, np.ndarray]] | None = None) -> QMenu:
    """Right-click menu of a panel: export it as a picture; save/copy its data arrays."""
    menu = QMenu(widget)
    menu.addAction("Export panel as picture (PNG/SVG)…",
                   lambda: export_widget_dialog(widget, widget, name))
    mats = matrices() if matrices is not None else {}
    if mats:
        menu.addSeparator()
    for key, M in mats.items():
        sub = menu.addMenu(key)
        sub.addAction("Save (CSV/.npy)…", lambda M=M, key=key: save_matrix_dialog(M, widget, key))
        sub.addAction("Copy to clipboard", lambda M=M: copy_matrix(M))
    return menu


def install_panel_menu(widget: QWidget, name: str,
                       matrices: Callable[[], dict[str, np.ndarray]] | None = None,
                       targets: tuple[QWidget, ...] = ()) -> None:
    """Give ``widget`` (and child ``targets``, e.g. its plots) the :func:`panel_menu`."""
    for t in (widget, *targets):
        t.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        t.customContextMenuRequested.connect(
            lambda pos, t=t: panel_menu(widget, name, matrices).exec(t.mapToGlobal(pos)))
