"""How the colour scale ``s`` of a heatmap (levels ``(-s, s)``) follows the data.

Scale modes (how ``s`` follows ``m_t = max |M|`` of frame t):

- ``"frame"``: ``s = m_t`` — every frame uses the full colour range.
- ``"locked"``: ``s`` is frozen at ``m_t`` of the first frame after locking
  (:meth:`.heatmap.Heatmap.relock` re-locks on the next frame); larger values saturate,
  so growth and decay over training become visible.
- ``"smooth"``: peak hold with exponential release,
  ``s_t = max(m_t, 0.9 s_{t-1} + 0.1 m_t)``: a new peak is shown at once (no
  saturation ever) while a shrinking matrix fades the scale down over ~10
  frames instead of flickering.

A matrix of zeros (or an invalid max) gets ``s = 1``.
"""

from __future__ import annotations

import math

SCALE_MODES = ("frame", "locked", "smooth")
SMOOTH_DECAY = 0.9


def next_scale(mode: str, m: float, prev: float | None, locked: float | None) -> float:
    """The level ``s`` for a frame whose ``max |M|`` is ``m`` (see the module notes)."""
    if mode == "locked":
        s = locked if locked is not None else m
    elif mode == "smooth" and prev is not None:
        s = max(m, SMOOTH_DECAY * prev + (1.0 - SMOOTH_DECAY) * m)
    else:
        s = m
    return s if (s > 0 and math.isfinite(s)) else 1.0


def format_value(v: float) -> str:
    """A number for a readout: 4 significant digits, a real minus sign, a bare exponent.

    ``format_value(-7.922e-05) == '−7.922e−5'``, ``format_value(2.44e6) == '2.44e6'``.
    """
    text = f"{v:.4g}"
    if "e" in text:
        mant, exp = text.split("e")
        text = f"{mant}e{int(exp)}"
    return text.replace("-", "−")
