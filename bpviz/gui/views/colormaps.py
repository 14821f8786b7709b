"""Colours of the views: one diverging map for signed matrices, one palette for classes.

Signed matrices (a, δ, dW, W, db) use the 256-entry diverging map ``CET-D1``
(blue = negative, near-white = zero, red = positive) with symmetric levels
``(-s, s)``, so zero always sits at the centre of the table (entries 127/128)
and the sign reads at a glance. Classes use a categorical palette chosen to
stay distinct on a projector and for the common colour-vision deficiencies
(Okabe–Ito, then Tableau).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyqtgraph as pg

LUT_SIZE = 256

#: Class colours (RGB 0-255): blue, orange, green, vermillion, purple, sky, yellow,
#: pink, brown, grey; more classes cycle.
CLASS_COLORS: tuple[tuple[int, int, int], ...] = (
    (0, 114, 178),
    (230, 159, 0),
    (0, 158, 115),
    (213, 94, 0),
    (148, 103, 189),
    (86, 180, 233),
    (240, 228, 66),
    (204, 121, 167),
    (140, 86, 75),
    (127, 127, 127),
)

#: Line colours for per-layer curves (layer 1, 2, ...).
LINE_COLORS = CLASS_COLORS

#: Colour for "wrong" marks (mistakes in the digits grid) and highlights.
WRONG = (220, 20, 60)
HIGHLIGHT = (255, 140, 0)


def _fallback_diverging() -> np.ndarray:
    """A blue–white–red map built by hand, used if ``CET-D1`` is missing."""
    t = np.linspace(-1.0, 1.0, LUT_SIZE)
    blue, white, red = np.array([33, 81, 219]), np.array([240, 240, 240]), np.array([192, 2, 6])
    neg = white + (blue - white) * np.clip(-t, 0, 1)[:, None]
    pos = white + (red - white) * np.clip(t, 0, 1)[:, None]
    return np.where(t[:, None] < 0, neg, pos)


@lru_cache(maxsize=1)
def diverging_colormap() -> pg.ColorMap:
    """The diverging :class:`pyqtgraph.ColorMap` (``CET-D1`` if pyqtgraph has it)."""
    try:
        cm = pg.colormap.get("CET-D1")
    except Exception:  # pragma: no cover - pyqtgraph without the CET maps
        cm = None
    if cm is None:  # pragma: no cover
        rgb = _fallback_diverging()
        cm = pg.ColorMap(np.linspace(0.0, 1.0, LUT_SIZE), rgb.astype(np.ubyte), name="bpviz-div")
    return cm


@lru_cache(maxsize=1)
def diverging_lut() -> np.ndarray:
    """The ``(256, 3)`` uint8 lookup table; entry 0 is −s, entry 255 is +s."""
    lut = diverging_colormap().getLookupTable(0.0, 1.0, nPts=LUT_SIZE, alpha=False)
    lut = np.ascontiguousarray(lut, dtype=np.ubyte)
    lut.setflags(write=False)
    return lut


def class_color(c: int) -> tuple[int, int, int]:
    """RGB of class ``c`` (cycles after ten classes)."""
    return CLASS_COLORS[int(c) % len(CLASS_COLORS)]


def class_colors(n: int) -> np.ndarray:
    """``(n, 3)`` float array of the first ``n`` class colours in [0, 1]."""
    return np.array([class_color(c) for c in range(n)], dtype=np.float32) / 255.0


def signed_index(values: np.ndarray, s: float) -> np.ndarray:
    """LUT indices (uint8) of ``values`` for levels ``(-s, s)``, as pyqtgraph computes them.

    ``floor((v + s) · 256 / 2s)`` clipped to 0..255: ``-s`` -> 0, ``0`` -> 128 (the
    neutral centre), ``+s`` and above -> 255. ``values`` must be finite.
    """
    # s below 1e-30 would overflow half/s in float32 (inf·0 = NaN): such values are 0 here
    s = max(float(s), 1e-30) if s > 0 else 1.0
    v = np.asarray(values)
    if v.dtype != np.float64:
        v = v.astype(np.float32, copy=False)
    half = LUT_SIZE // 2
    idx = v * v.dtype.type(half / s) + v.dtype.type(half)
    return np.clip(idx, 0, LUT_SIZE - 1).astype(np.uint8)


@lru_cache(maxsize=1)
def _packed_rgba_lut() -> np.ndarray:
    """The LUT as ``(256,)`` uint32, each entry the 4 bytes R, G, B, 255 (one gather per cell)."""
    lut = diverging_lut()
    rgba = np.concatenate([lut, np.full((LUT_SIZE, 1), 255, np.uint8)], axis=1)
    packed = np.ascontiguousarray(rgba).view(np.uint32).ravel()
    packed.setflags(write=False)
    return packed


def map_signed(values: np.ndarray, s: float) -> np.ndarray:
    """RGBA uint8 colours (..., 4), opaque, of ``values`` on the diverging map, levels ``(-s, s)``.

    Four bytes per cell rather than three: Qt draws RGBA8888 images without
    converting them first (RGB888 costs a conversion on every paint, about 2× the
    drawing), and one 4-byte gather from a packed table is 4× faster than
    indexing the (256, 3) table.
    """
    idx = signed_index(values, s)
    return np.take(_packed_rgba_lut(), idx).view(np.uint8).reshape(*idx.shape, 4)
