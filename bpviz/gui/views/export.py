"""Export: any widget to PNG or SVG, any matrix to CSV, ``.npy`` or the clipboard.

The file functions raise ``OSError``/``ValueError`` with a readable message;
the ``*_dialog`` helpers ask for a path, call them, and report errors in a
message box instead of raising (they are what the context menus use).

Pictures are slide-ready: a PNG is drawn at a chosen scale (2× by default: the
texts drawn again at twice the pixels, not an enlarged screenshot), an SVG is
vector; both show what the panel shows, titles and numbered colour bars
included, but no hover readout, selection outline or highlight frame (every
widget inside that has ``set_export_mode(on)`` is asked to hide them for the
picture). Default file names are ASCII (:func:`ascii_stem`: ``dW²`` → ``dW2``,
``δ`` → ``delta``), e.g. ``dW2_layer2_step1500.png``. The dialogs start in the
folder used last (the QSettings key ``dialogs/folder`` the session dialogs use).

CSV files start with one comment line naming the matrix, its layer and step
when known, and its shape (``# dW² = δᵀa/K, layer 2, step 1500, shape 1×2 (rows ×
columns)``); then one matrix row per line, comma-separated, with 9 significant
digits, enough to load a float32 matrix back bit-for-bit (``np.loadtxt`` skips
the comment).
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, QRectF, QSettings, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QToolTip, QWidget

#: PNG scales offered by the export dialog, the first the default.
PNG_SCALES = (2, 1, 3, 4)
IMAGE_FILTERS = tuple(f"PNG image, {k}× (*.png)" for k in PNG_SCALES) + ("SVG drawing (*.svg)",)
IMAGE_FILTER = ";;".join(IMAGE_FILTERS)
MATRIX_FILTER = "CSV table (*.csv);;NumPy array (*.npy)"
DEFAULT_SCALE = PNG_SCALES[0]
#: Letters a default file name spells out in ASCII.
_ASCII = {"δ": "delta", "Δ": "Delta", "ε": "eps", "η": "eta", "σ": "sigma", "λ": "lambda",
          "Σ": "sum", "ᵀ": "T", "×": "x", "⊙": "o", "−": "-", "·": "_"}
_SCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉", "01234567890123456789")


#: The settings key of the folder every file dialog starts in (and remembers).
FOLDER_KEY = "dialogs/folder"


def _as_2d(M: np.ndarray) -> np.ndarray:
    M = np.asarray(M)
    if M.ndim == 1:
        return M.reshape(1, -1)
    if M.ndim != 2:
        raise ValueError(f"expected a matrix or a vector, got an array of shape {M.shape}")
    return M


def ascii_stem(text: str) -> str:
    """An ASCII file-name stem for a title or symbol: its symbol (the text before the
    first " = ", " — " or " ("), superscript and subscript digits as digits, Greek
    letters spelled out, anything else not a letter, digit, ``-`` or ``_`` as ``_``:
    ``ascii_stem("dW¹ = δᵀa/K — 2×2") == "dW1"``, ``ascii_stem("δ²") == "delta2"``."""
    for cut in (" = ", " — ", " ("):
        text = text.split(cut)[0]
    text = text.strip().translate(_SCRIPTS)
    out = []
    for ch in text:
        ch = _ASCII.get(ch, ch)
        if not ch.isascii():
            ch = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode() or "_"
        out.append(ch)
    keep = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_"
                   for c in "".join(out))
    while "__" in keep:
        keep = keep.replace("__", "_")
    return keep.strip("_")


def matrix_file_stem(name: str, layer: int | None = None, step: int | None = None) -> str:
    """``dW2_layer2_step1500``: the matrix's ASCII symbol, its layer (1-based) and the
    training step, each when known."""
    parts = [ascii_stem(name) or "matrix"]
    if layer is not None:
        parts.append(f"layer{int(layer)}")
    if step is not None:
        parts.append(f"step{int(step)}")
    return "_".join(parts)


def matrix_comment(name: str, shape: tuple[int, ...], layer: int | None = None,
                   step: int | None = None) -> str:
    """The first line of a matrix CSV, without ``#``: what it is, where, when, its shape."""
    rows, cols = (1, shape[0]) if len(shape) == 1 else shape[:2]
    parts = [name.strip() or "matrix"]
    if layer is not None:
        parts.append(f"layer {int(layer)}")
    if step is not None:
        parts.append(f"step {int(step)}")
    parts.append(f"shape {rows}×{cols} (rows × columns)")
    return ", ".join(parts)


def save_matrix(M: np.ndarray, path: str | Path, comment: str | None = None) -> Path:
    """Write ``M`` to ``path``: ``.npy`` (exact, dtype kept) or ``.csv`` (text).

    A vector is written as one row. A CSV starts with ``# comment`` (default: the
    shape, :func:`matrix_comment`). Returns the path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        np.save(path, np.asarray(M))
    elif suffix in (".csv", ".txt", ".tsv"):
        delim = "\t" if suffix == ".tsv" else ","
        A = _as_2d(M)
        head = " ".join((comment or matrix_comment("matrix", A.shape)).splitlines())
        np.savetxt(path, A, delimiter=delim, fmt="%.9g", header=head, comments="# ",
                   encoding="utf-8")
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
    return np.loadtxt(path, delimiter=delim, ndmin=2, encoding="utf-8")


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


@contextmanager
def export_mode(widget: QWidget) -> Iterator[None]:
    """While drawing a picture: every widget in ``widget`` (itself included) that has
    ``set_export_mode`` hides its hover readout, selection and highlight frames."""
    targets = [w for w in (widget, *widget.findChildren(QWidget))
               if callable(getattr(w, "set_export_mode", None))]
    QToolTip.hideText()
    for w in targets:
        w.set_export_mode(True)
    try:
        yield
    finally:
        for w in targets:
            w.set_export_mode(False)


def export_widget(widget: QWidget, path: str | Path, scale: float = DEFAULT_SCALE) -> Path:
    """Save what ``widget`` shows to ``path`` (``.png`` or ``.svg``), for a slide.

    A PNG is drawn at ``scale`` times the widget's size (2× by default; texts and
    lines drawn at that resolution); hover readouts and highlight frames are left
    out (:func:`export_mode`). Works for any widget, a pyqtgraph ``GraphicsView``
    itself included.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    size = widget.size()
    if size.width() <= 0 or size.height() <= 0:
        raise ValueError(f"cannot export an empty widget ({size.width()}×{size.height()} px)")
    if not (0 < float(scale) <= 8):
        raise ValueError(f"a picture's scale must lie in (0, 8], got {scale}")
    if suffix == ".png":
        w, h = round(size.width() * scale), round(size.height() * scale)
        img = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
        img.setDevicePixelRatio(w / size.width())
        img.fill(QColor("white"))
        painter = QPainter(img)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        try:
            with export_mode(widget):
                _render(widget, painter)
        finally:
            painter.end()
        img.setDevicePixelRatio(1.0)
        if img.isNull() or not img.save(str(path), "PNG"):
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
            with export_mode(widget):
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
    """An ASCII file name stem (:func:`ascii_stem` of a whole name, not just its symbol)."""
    return ascii_stem(name.replace(" = ", "_").replace(" — ", "_")) or "bpviz"


def _settings(settings: Any | None) -> Any:
    return settings if settings is not None else QSettings("bpviz", "bpviz")


def dialog_start(stem: str, suffix: str, settings: Any | None = None) -> str:
    """The path a save dialog proposes: ``stem + suffix`` in the folder used last
    (QSettings ``dialogs/folder``), else in the home folder."""
    folder = str(_settings(settings).value(FOLDER_KEY, "") or "")
    if not (folder and os.path.isdir(folder)):
        folder = os.path.expanduser("~")
    return os.path.join(folder, stem + suffix)


def remember_folder(path: str | Path, settings: Any | None = None) -> None:
    """The next dialog starts in ``path``'s folder."""
    if path:
        _settings(settings).setValue(FOLDER_KEY, str(Path(path).resolve().parent))


def scale_of_filter(selected: str) -> float:
    """The PNG scale a filter of :data:`IMAGE_FILTERS` names (the default for others)."""
    for k in PNG_SCALES:
        if selected.startswith(f"PNG image, {k}×"):
            return float(k)
    return float(DEFAULT_SCALE)


def ask_save_path(parent: QWidget | None, title: str, start: str, filt: str) -> tuple[str, str]:
    """The file dialog (tests replace this): ``(path, selected filter)``."""
    return QFileDialog.getSaveFileName(parent, title, start, filt)


def export_widget_dialog(widget: QWidget, parent: QWidget | None = None,
                         name: str = "bpviz", settings: Any | None = None) -> Path | None:
    """Ask for a PNG (1×–4×, 2× proposed) or SVG path and export ``widget``; errors go to a
    message box. ``name`` is made an ASCII file name."""
    path, selected = ask_save_path(parent or widget, "Export picture",
                                   dialog_start(_safe_name(name), ".png", settings),
                                   IMAGE_FILTER)
    if not path:
        return None
    remember_folder(path, settings)
    if not Path(path).suffix:
        path += ".svg" if selected.startswith("SVG") else ".png"
    try:
        return export_widget(widget, path, scale_of_filter(selected))
    except (OSError, ValueError) as exc:
        QMessageBox.warning(parent or widget, "Export failed", str(exc))
        return None


def save_matrix_dialog(M: np.ndarray, parent: QWidget | None = None,
                       name: str = "matrix", comment: str | None = None,
                       settings: Any | None = None) -> Path | None:
    """Ask for a CSV/.npy path and save ``M`` (a CSV with ``comment`` first, default the
    name and shape); errors go to a message box. ``name`` is made an ASCII file name."""
    path, _ = ask_save_path(parent, "Save matrix",
                            dialog_start(_safe_name(name), ".csv", settings), MATRIX_FILTER)
    if not path:
        return None
    remember_folder(path, settings)
    if comment is None:
        comment = matrix_comment(name, _as_2d(M).shape)
    try:
        return save_matrix(M, path, comment)
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
