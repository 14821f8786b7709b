"""bpviz engine: batched and per-sample backprop in NumPy/CuPy, with no Qt.

>>> from bpviz.engine import LayerSpec, NetworkSpec, Network
>>> spec = NetworkSpec(2, [LayerSpec(8, "tanh"), LayerSpec(3, "softmax")], loss="cross_entropy")
>>> net = Network(spec, seed=0, dtype="float64")
"""

from __future__ import annotations

from .backend import Backend, blas_threads, get_backend, gpu_available
from .datasets import DATASETS, Dataset, describe_datasets, load_csv, make_dataset
from .errors import BackendError, BpvizError, DataError, SessionError, SpecError
from .fitting import Fitted, default_spec, fit_to_data, output_units
from .network import Network, predict_labels
from .records import BackpropRecord, LayerRecord, StepRecord
from .spec import LayerSpec, NetworkSpec, Problem

__all__ = [
    "Backend",
    "BackendError",
    "BackpropRecord",
    "DATASETS",
    "Dataset",
    "BpvizError",
    "DataError",
    "Fitted",
    "LayerRecord",
    "LayerSpec",
    "Network",
    "NetworkSpec",
    "Problem",
    "SessionError",
    "SpecError",
    "StepRecord",
    "blas_threads",
    "default_spec",
    "describe_datasets",
    "fit_to_data",
    "load_csv",
    "make_dataset",
    "get_backend",
    "gpu_available",
    "output_units",
    "predict_labels",
]
