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

import numpy as np

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


# ---------------------------------------------------------------- numbers in cells
#: The scale range ``0.1 <= s < 100`` is read without a power of ten ("0.24", "6.4", "18").
PLAIN_RANGE = (0.1, 100.0)
_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def shared_exponent(s: float) -> int:
    """The power of ten ``e`` that every number of a heatmap with scale ``s`` shares.

    0 for ``0.1 <= s < 100`` (and for a zero or non-finite ``s``); otherwise
    ``floor(log10 s)``, so that ``s / 10^e`` lies in [1, 10):
    ``shared_exponent(6.4e-5) == -5``, ``shared_exponent(0.24) == 0``.
    """
    s = abs(float(s))
    if not (s > 0 and math.isfinite(s)):
        return 0
    e = _exponent(s, 3)
    return 0 if PLAIN_RANGE[0] <= 10.0 ** e and e < 2 else e


#: A power of ten in use is kept while ``s`` in its units stays within this range, a
#: little wider than the [1, 10) that shared_exponent picks ("0.95", "11": still two
#: digits): a scale that wanders around 0.1 does not flip the title's "× 10⁻²" on and
#: off from one frame to the next. No power is kept within PLAIN_RANGE, as picked.
STEADY_RANGE = (0.9, 12.0)


def steady_exponent(s: float, current: int | None) -> int:
    """:func:`shared_exponent` of ``s``, unless the power ``current`` still suits it
    (:data:`STEADY_RANGE`)."""
    if current is not None:
        m = abs(float(s)) / 10.0 ** current
        lo, hi = STEADY_RANGE if current != 0 else PLAIN_RANGE
        if lo <= m < hi:
            return current
    return shared_exponent(s)


def leading_exponent(s: float) -> int:
    """The power of ten that puts ``s`` (to 2 digits) in [1, 10): the shortest numbers
    (``leading_exponent(0.65) == -1``: "6.5"), for cells too narrow for "0.65"."""
    s = abs(float(s))
    return _exponent(s, 2) if s > 0 and math.isfinite(s) else 0


def _exponent(x: float, digits: int) -> int:
    """The decimal exponent of ``x > 0`` rounded to ``digits`` significant digits
    (``9.9999e-13`` to 3 digits is ``1.00e-12``: -12, where ``floor(log10)`` says -13)."""
    return int(f"{x:.{digits - 1}e}".split("e")[1])


def power_text(e: int) -> str:
    """``"× 10⁻³"`` for ``e = -3``; ``""`` for 0 (no power of ten to show)."""
    return "" if e == 0 else "× 10" + str(int(e)).translate(_SUP)


def number_decimals(s: float, e: int, digits: int) -> int:
    """Decimals that give the largest number ``s / 10^e`` ``digits`` significant digits."""
    m = abs(float(s)) / 10.0 ** e
    if not (m > 0 and math.isfinite(m)):
        return 0
    return max(0, digits - 1 - _exponent(m, digits))


def format_numbers(values: np.ndarray, e: int, decimals: int) -> list[list[str]]:
    """Each entry of a matrix ``values`` (rows, cols) as ``value / 10^e`` with ``decimals``
    decimals and a real minus sign; what rounds to zero reads ``"0"`` (never ``"−0.00"``).

    Non-finite entries read ``"0"``, as the heatmap draws them.
    """
    A = np.asarray(values, dtype=np.float64) / 10.0 ** e
    A = np.where(np.isfinite(A), np.round(A, decimals), 0.0)
    return [["0" if v == 0 else f"{v:.{decimals}f}".replace("-", "−") for v in row]
            for row in A.tolist()]


def scaled_level(s: float, e: int, decimals: int) -> str:
    """A colour-bar end in the heatmap's shared units: ``scaled_level(6.42e-5, -5, 1)`` is
    ``"6.4"`` (the title carries ``× 10⁻⁵``); no trailing zeros (``"3"``, not ``"3.0"``)."""
    text = f"{abs(float(s)) / 10.0 ** e:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
