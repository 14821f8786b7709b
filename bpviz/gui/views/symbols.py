"""Titles and axis labels of the matrices, in either notation.

Layer numbering: the engine counts layers from 0 (``spec.layers[i]``,
``rec.layers[i]``, ``weights["W{i}"]``); the screen counts them from 1 like
the seeds, so engine layer ``i`` is displayed as ``l = i + 1`` and its input is
``a^{l-1} = a^i`` (``a⁰ = X``).

Notation ``"out_in"`` (default, seeds 000–002): ``W`` is out×in (m×n) and
``dW = δᵀa`` (m×n). Notation ``"in_out"`` (seed 004): ``W`` is in×out (n×m) and
``dW = aᵀδ`` (n×m); the views show the transposes. ``a``, ``z`` and ``δ`` are
K×n / K×m in both.
"""

from __future__ import annotations

import numpy as np

KINDS = ("a", "delta", "z", "dW", "W", "db")
KIND_NAMES = {"a": "a", "delta": "δ", "z": "z", "dW": "dW", "W": "W", "db": "db"}
NOTATIONS = ("out_in", "in_out")

_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")

SAMPLE = "sample k"
NEURON = "neuron i"
INPUT = "input j"


def sup(n: int) -> str:
    """``sup(12) == '¹²'``."""
    return str(n).translate(_SUP)


def symbol(kind: str, layer: int, notation: str = "out_in", reduction: str = "mean",
           owner: int | None = None) -> str:
    """The on-screen name of ``kind`` for engine layer ``layer`` (0-based).

    >>> symbol("delta", 1)
    'δ²'
    >>> symbol("a", 0)
    'a⁰ = X'
    >>> symbol("dW", 0, "in_out")
    'dW¹ = aᵀδ/K'
    """
    l = layer + 1
    if kind == "a":
        return "a⁰ = X" if layer == 0 else f"a{sup(layer)}"
    if kind == "delta":
        return f"δ{sup(l)}"
    if kind == "z":
        return f"z{sup(l)}"
    if kind == "dW":
        prod = "aᵀδ" if notation == "in_out" else "δᵀa"
        return f"dW{sup(l)} = {prod}" + ("/K" if reduction == "mean" else "")
    if kind == "W":
        if owner is not None and owner != layer:
            return f"W{sup(l)} = W{sup(owner + 1)} (tied)"
        return f"W{sup(l)} ({'in×out' if notation == 'in_out' else 'out×in'})"
    if kind == "db":
        return f"db{sup(l)}"
    raise ValueError(f"unknown matrix kind {kind!r}; use one of {', '.join(KINDS)}")


def axis_labels(kind: str, notation: str = "out_in") -> tuple[str, str]:
    """``(row_label, col_label)`` of a matrix kind."""
    if kind == "a":
        return SAMPLE, INPUT
    if kind in ("delta", "z"):
        return SAMPLE, NEURON
    if kind in ("dW", "W"):
        return (INPUT, NEURON) if notation == "in_out" else (NEURON, INPUT)
    if kind == "db":
        return "", NEURON
    raise ValueError(f"unknown matrix kind {kind!r}")


def shape_text(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        shape = (1, shape[0])
    return f"{shape[0]}×{shape[1]}"


def title(kind: str, layer: int, shape: tuple[int, ...], notation: str = "out_in",
          reduction: str = "mean", owner: int | None = None) -> str:
    """E.g. ``'δ² — 32×8'``; ``shape`` is the shape as displayed."""
    return f"{symbol(kind, layer, notation, reduction, owner)} — {shape_text(shape)}"


def spec_shape(spec, kind: str, layer: int, K: int, notation: str = "out_in") -> tuple[int, int]:
    """The displayed shape of ``kind`` for engine layer ``layer`` of ``spec``."""
    m, n = spec.weight_shape(layer)
    if kind == "a":
        return (K, n)
    if kind in ("delta", "z"):
        return (K, m)
    if kind in ("dW", "W"):
        return (n, m) if notation == "in_out" else (m, n)
    if kind == "db":
        return (1, m)
    raise ValueError(f"unknown matrix kind {kind!r}")


def record_matrix(step, kind: str, layer: int, notation: str = "out_in") -> np.ndarray | None:
    """The matrix ``kind`` of engine layer ``layer`` from a StepRecord, as displayed.

    ``dW`` is this use's gradient (for a tied layer, its own contribution);
    ``W`` is the weight the layer uses (its owner's). In ``"in_out"`` notation
    ``W`` and ``dW`` come back transposed. None if the record has no matrices.
    """
    bp = step.backprop
    if bp is None or layer >= len(bp.layers):
        return None
    ly = bp.layers[layer]
    if kind == "a":
        return ly.a_prev
    if kind == "delta":
        return ly.delta
    if kind == "z":
        return ly.z
    if kind == "db":
        return ly.db
    if kind == "dW":
        M = ly.dW
    elif kind == "W":
        if not step.weights or f"W{ly.owner}" not in step.weights:
            return None
        M = step.weights[f"W{ly.owner}"]
    else:
        raise ValueError(f"unknown matrix kind {kind!r}")
    return M.T if notation == "in_out" else M
