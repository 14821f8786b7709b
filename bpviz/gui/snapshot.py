"""What the training worker publishes to the views: one immutable snapshot.

The worker (on its QThread) builds it from the engine's records at most ~30
times a second; the GUI thread takes the latest one. Everything here is host
NumPy data; no view ever sees the network object.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..engine.records import StepRecord
from ..engine.timing import Comparison


@dataclass(frozen=True)
class Snapshot:
    """The latest state of training.

    Attributes
    ----------
    step : the latest step record; ``step.backprop`` and ``step.weights`` are set.
    history : step records since the previous snapshot (for the loss curve and
        gradient-health plots), oldest first; may be empty.
    boundary : for 2-D data, the network's output on a G×G grid over the data
        (G, G, outputs), row = y, column = x, with ``boundary_extent``
        (xmin, xmax, ymin, ymax); None otherwise.
    test_output : the network's output on the whole test set (N_test, outputs)
        (for the digits grid and test predictions); None if not computed.
    comparison : the latest loop-vs-vectorized measurement on one mini-batch,
        or None.
    neuron_maps : for 2-D data, every neuron's activation over a coarse g×g grid
        of the same extent as ``boundary``: one array (g, g, m_l) per layer
        (``a^l`` of engine layer l at each grid point), row = y ascending,
        column = x; None otherwise (the network graph draws them).
    """

    step: StepRecord
    history: tuple[StepRecord, ...] = ()
    boundary: np.ndarray | None = None
    boundary_extent: tuple[float, float, float, float] | None = None
    test_output: np.ndarray | None = None
    comparison: Comparison | None = None
    extra: dict = field(default_factory=dict)
    neuron_maps: tuple[np.ndarray, ...] | None = None
