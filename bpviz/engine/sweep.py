"""The timing lab's sweep: loop against vectorized backprop over many batch sizes.

For every point (a batch size K, or a hidden-layer width at a fixed K) and
every backend that works, :func:`sweep` times both backprop methods on the
*same* mini-batch with :func:`~bpviz.engine.timing.compare_methods` (warm-up,
interleaved repeats, min and median) and records ``max |dW_loop − dW_vec|``:
the proof that both compute the same thing.

The vectorized form wins because ``dW = (1/K) δᵀa`` is one matrix product
where the loop does K outer products and K trips through the interpreter.

Qt-free: the GUI runs :func:`sweep` on its own thread and passes a
``threading.Event`` to cancel it; the command line shows ``progress`` as a bar.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from . import backend as _backend
from .errors import BackendError, BpvizError
from .network import DTYPES, Network
from .spec import MAX_UNITS, LayerSpec, NetworkSpec
from .timing import compare_methods

MODES = ("batch", "width")
MAX_BATCH = 1024
DEFAULT_WIDTHS = (8, 16, 32, 64, 128, 256, 512, 1024)
DEFAULT_WIDTH_BATCH = 64
BACKEND_NAMES = ("numpy", "cupy")


@dataclass(frozen=True)
class TimingRow:
    """One point of a sweep on one backend; times in milliseconds.

    ``loop_ms``/``vectorized_ms`` are the minimum over the repeats (the least
    disturbed run), ``*_median_ms`` the median; ``speedup = loop_ms /
    vectorized_ms``; ``max_abs_diff = max |dW_loop − dW_vec|`` over all layers.
    ``width`` is the hidden width in width mode, None in batch mode.
    """

    backend: str
    batch: int
    width: int | None
    loop_ms: float
    loop_median_ms: float
    vectorized_ms: float
    vectorized_median_ms: float
    speedup: float | None
    max_abs_diff: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


CSV_FIELDS = tuple(f.name for f in fields(TimingRow))


@dataclass
class SweepResult:
    """What a sweep measured.

    Attributes
    ----------
    rows : one :class:`TimingRow` per completed (point, backend), in run order.
    skipped : backend name -> the one-line reason it was not (or no longer) used.
    cancelled : True if the sweep was stopped before its last point.
    meta : how it was measured: network, mode, dtype, repeats, BLAS threads, ...
    """

    rows: list[TimingRow] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    cancelled: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return str(self.meta.get("mode", "batch"))

    def backends(self) -> list[str]:
        """Backends with at least one row, in first-seen order."""
        return list(dict.fromkeys(r.backend for r in self.rows))

    def series(self, backend: str) -> list[TimingRow]:
        """The rows of one backend, ordered by the swept variable."""
        return sorted((r for r in self.rows if r.backend == backend), key=self.x_of)

    def x_of(self, row: TimingRow) -> int:
        """The swept variable of a row: K in batch mode, the width in width mode."""
        return int(row.width) if self.mode == "width" and row.width is not None else row.batch

    @property
    def max_abs_diff(self) -> float:
        return max((r.max_abs_diff for r in self.rows), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": [r.to_dict() for r in self.rows],
            "skipped": dict(self.skipped),
            "cancelled": self.cancelled,
            "network": self.meta.get("network", ""),
            "mode": self.mode,
            "meta": dict(self.meta),
        }

    def to_json(self, indent: int | None = None) -> str:
        """One JSON object: ``{"rows": [...], "skipped": {...}, "network": ..., ...}``."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_csv(self) -> str:
        """The rows as CSV text with a header line (:data:`CSV_FIELDS`)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(CSV_FIELDS)
        for r in self.rows:
            w.writerow(["" if v is None else v for v in (getattr(r, f) for f in CSV_FIELDS)])
        return buf.getvalue()

    def crossover(self, fast: str = "cupy", slow: str = "numpy",
                  method: str = "vectorized") -> int | None:
        """The smallest swept value from which ``fast`` beats ``slow`` at every larger point.

        Compares ``{method}_ms`` of the two backends at the values both measured;
        None if ``fast`` never stays ahead (or either backend has no rows).
        """
        a = {self.x_of(r): getattr(r, f"{method}_ms") for r in self.series(fast)}
        b = {self.x_of(r): getattr(r, f"{method}_ms") for r in self.series(slow)}
        xs = sorted(set(a) & set(b))
        out = None
        for x in reversed(xs):
            if a[x] >= b[x]:
                break
            out = x
        return out

    def headline_row(self, near: int = 256) -> TimingRow | None:
        """The row a summary quotes: first backend, swept value closest to ``near``."""
        names = self.backends()
        if not names:
            return None
        series = self.series(names[0])
        return min(series, key=lambda r: (abs(math.log(self.x_of(r) / near)), -self.x_of(r)))

    def headline(self, near: int = 256) -> str:
        """E.g. ``at K=256 on numpy the vectorized form is 74× faster; dW agrees to 3e-08``."""
        row = self.headline_row(near)
        if row is None:
            return "no points measured"
        where = (f"width {row.width} (K={row.batch})" if self.mode == "width"
                 else f"K={row.batch}")
        return (f"at {where} on {row.backend} the vectorized form is "
                f"{format_speedup(row.speedup)} faster than the loop; over {len(self.rows)} "
                f"points dW agrees to {self.max_abs_diff:.1g}")


def format_speedup(s: float | None) -> str:
    if s is None:
        return "∞×"
    return f"{s:.0f}×" if s >= 10 else f"{s:.1f}×"


# ---------------------------------------------------------------- inputs
def parse_int_list(text: str | Iterable[Any], what: str = "batches") -> tuple[int, ...]:
    """``"1,2,4"`` (or a sequence) -> ``(1, 2, 4)``; every value a whole number >= 1."""
    items = text.replace(" ", "").split(",") if isinstance(text, str) else list(text)
    out = []
    for item in items:
        if isinstance(item, str):
            if not item.strip().isdigit():
                raise BpvizError(f"{what}: {item!r} is not a whole number >= 1; give a comma "
                                 "list like 1,2,4,8")
            item = int(item)
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)) or item < 1:
            raise BpvizError(f"{what}: {item!r} is not a whole number >= 1; give a comma "
                             "list like 1,2,4,8")
        out.append(int(item))
    if not out:
        raise BpvizError(f"{what}: the list is empty; give a comma list like 1,2,4,8")
    return tuple(sorted(set(out)))


def default_batches(n_train: int, cap: int = MAX_BATCH) -> tuple[int, ...]:
    """1, 2, 4, ... up to ``cap`` or the training-set size (included if smaller)."""
    top = max(1, min(int(cap), int(n_train)))
    out = [1 << i for i in range(top.bit_length()) if 1 << i <= top]
    if out[-1] != top and top < cap:
        out.append(top)
    return tuple(out)


def _train_arrays(data: Any) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(data, "X_train"):
        X, Y = data.X_train, data.y_train
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        X, Y = data
    else:
        raise BpvizError("sweep needs a data set (with X_train, y_train) or an (X, Y) pair")
    X, Y = np.asarray(X), np.asarray(Y)
    if X.ndim != 2 or len(X) < 1 or len(Y) != len(X):
        raise BpvizError(f"sweep needs X (N, d) and Y with N rows; got X {X.shape}, Y {Y.shape}")
    return X, Y


def widen(spec: NetworkSpec, width: int) -> NetworkSpec:
    """``spec`` with every hidden layer ``width`` units wide (ties kept if they still fit)."""
    if not isinstance(width, (int, np.integer)) or not 1 <= width <= MAX_UNITS:
        raise BpvizError(f"width must be a whole number from 1 to {MAX_UNITS}, got {width!r}")
    if len(spec.layers) < 2:
        raise BpvizError("width mode needs a hidden layer and this network has none; "
                         "add one or use batch mode")
    *hidden, out = spec.layers
    for keep_ties in (True, False):
        layers = [LayerSpec(int(width), ly.activation, ly.tie_to if keep_ties else None)
                  for ly in hidden]
        layers.append(LayerSpec(out.units, out.activation, out.tie_to if keep_ties else None))
        new = NetworkSpec(spec.inputs, tuple(layers), spec.loss, spec.reduction, spec.init)
        if not new.problems():
            return new
    return new.validate()


def _resolve_backends(names: Sequence[str]) -> tuple[list[Any], dict[str, str]]:
    live, skipped = [], {}
    for name in dict.fromkeys(str(n).strip().lower() for n in names):
        if name not in BACKEND_NAMES:
            raise BpvizError(f"unknown backend {name!r}; use numpy and/or cupy")
        if name == "cupy":
            cp, why = _backend.cupy_status()
            if cp is None:
                skipped[name] = why
                continue
        try:
            live.append(_backend.get_backend(name))
        except BackendError as exc:
            skipped[name] = str(exc)
    return live, skipped


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


# ---------------------------------------------------------------- the sweep
def sweep(
    spec: NetworkSpec,
    weights: dict[str, Any] | None,
    data: Any,
    *,
    batches: Iterable[int] | str | None = None,
    backends: Sequence[str] = ("numpy", "cupy"),
    repeats: int = 5,
    warmup: int = 1,
    mode: str = "batch",
    widths: Iterable[int] | str | None = None,
    batch: int | None = None,
    dtype: str = "float32",
    seed: int = 0,
    blas: int | None = 1,
    progress: Callable[[int, int], None] | None = None,
    on_row: Callable[[TimingRow], None] | None = None,
    cancel: threading.Event | None = None,
) -> SweepResult:
    """Time loop and vectorized backprop over batch sizes (or widths) and backends.

    Parameters
    ----------
    spec, weights : the network; ``weights`` (``{"W0": (m, n), "b0": (m,), ...}``)
        are used in batch mode, fresh ones drawn with ``seed`` if None and
        always in width mode (every hidden layer set to each width).
    data : a data set (``X_train``, ``y_train``) or an ``(X, Y)`` pair.
    batches : batch sizes K (batch mode); default 1, 2, 4, ... up to 1024 or
        the training-set size. Mini-batch K is the first K rows of one fixed
        shuffle, the same for both methods and every backend.
    backends : ``"numpy"`` and/or ``"cupy"``; one that does not work goes to
        ``skipped`` with its reason.
    repeats, warmup : timed (interleaved) and untimed calls of each method per point.
    mode : ``"batch"`` (sweep K) or ``"width"`` (sweep ``widths`` at K = ``batch``,
        default 64 or the training-set size).
    blas : BLAS threads for NumPy during the sweep (None: leave as is).
    progress : called ``progress(done, total)`` at the start and after every point.
    on_row : called with each new row as soon as it is measured.
    cancel : checked between points and between repeats; the point in progress
        is dropped and the result has ``cancelled=True``.
    """
    if not isinstance(spec, NetworkSpec):
        raise BpvizError(f"sweep needs a NetworkSpec, got {type(spec).__name__}")
    spec.validate()
    if mode not in MODES:
        raise BpvizError(f"unknown mode {mode!r}; use 'batch' or 'width'")
    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise BpvizError(f"repeats must be a whole number >= 1, got {repeats!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, (int, np.integer)) or warmup < 0:
        raise BpvizError(f"warmup must be a whole number >= 0, got {warmup!r}")
    if str(dtype) not in DTYPES:
        raise BpvizError(f"dtype must be float32 or float64, got {dtype!r}")
    X, Y = _train_arrays(data)
    if X.shape[1] != spec.inputs:
        raise BpvizError(f"the data has {X.shape[1]} features but the network takes "
                         f"{spec.inputs} inputs")
    n = len(X)
    perm = np.random.default_rng(seed).permutation(n)
    if mode == "batch":
        ks = default_batches(n) if batches is None else parse_int_list(batches, "batches")
        points: list[tuple[int, int | None]] = [(k, None) for k in ks]
    else:
        k = min(DEFAULT_WIDTH_BATCH, n) if batch is None else parse_int_list([batch], "batch")[0]
        ws = DEFAULT_WIDTHS if widths is None else parse_int_list(widths, "widths")
        points = [(k, w) for w in ws]
        for w in ws:
            widen(spec, w)  # fail early, before any timing
    too_big = [k for k, _ in points if k > n]
    if too_big:
        raise BpvizError(f"batch size {too_big[0]} is larger than the training set ({n} rows); "
                         f"use batch sizes up to {n}")
    live, skipped = _resolve_backends(backends)
    result = SweepResult(skipped=skipped, meta={
        "network": spec.describe(), "mode": mode, "dtype": str(dtype), "repeats": int(repeats),
        "warmup": int(warmup), "blas_threads": blas, "n_train": n, "seed": seed,
        "batch": points[0][0] if mode == "width" else None,
        "backends": {be.name: be.message for be in live},
        "timer": "time.perf_counter after a device synchronize; min and median of "
                 "interleaved repeats",
        "numpy": np.__version__, "cpu_count": os.cpu_count(), "platform": platform.platform(),
    })
    total = len(points) * len(live)
    done = 0
    if progress is not None:
        progress(done, total)
    nets: dict[tuple[str, int | None], Network] = {}
    with _backend.blas_threads(blas):
        for k, w in points:
            if mode == "width":
                nets.clear()  # one width's networks at a time
            for be in list(live):
                if cancel is not None and cancel.is_set():
                    result.cancelled = True
                    return result
                try:
                    key = (be.name, w)
                    if key not in nets:
                        nets[key] = _make_net(spec, weights, w, dtype, seed, be)
                    idx = perm[:k]
                    cmp = compare_methods(nets[key], X[idx], Y[idx], repeats=int(repeats),
                                          warmup=int(warmup), cancel=cancel)
                except BpvizError:
                    raise
                except Exception as exc:
                    if be.name == "numpy":
                        raise
                    # a GPU that fails mid-sweep (out of memory, driver): drop it, go on
                    skipped[be.name] = f"failed at K={k}" + (f", width {w}" if w else "") \
                        + f": {_first_line(exc)}"
                    live.remove(be)
                    total -= len(points) - points.index((k, w))
                    continue
                if cancel is not None and cancel.is_set():
                    result.cancelled = True
                    return result
                speed = cmp.speedup
                row = TimingRow(be.name, k, w, cmp.loop_ms, cmp.loop_median_ms,
                                cmp.vectorized_ms, cmp.vectorized_median_ms,
                                speed if math.isfinite(speed) else None, cmp.max_abs_diff)
                result.rows.append(row)
                if on_row is not None:
                    on_row(row)
                done += 1
                if progress is not None:
                    progress(done, total)
    return result


def _make_net(spec: NetworkSpec, weights: dict[str, Any] | None, width: int | None,
              dtype: str, seed: int, be: Any) -> Network:
    if width is not None:
        return Network(widen(spec, width), seed=seed, dtype=dtype, backend=be)
    net = Network(spec, seed=seed, dtype=dtype, backend=be)
    if weights is not None:
        net.set_weights(weights)
    return net


def sweep_worker(kwargs: dict[str, Any], queue: Any, cancel: Any) -> None:
    """Entry point of a child process that runs :func:`sweep` for the GUI.

    Sends ``("progress", done, total)``, ``("row", TimingRow)`` and finally
    ``("done", SweepResult)`` or ``("error", message)`` on ``queue``; ``cancel``
    is a ``multiprocessing.Event``. A separate process keeps the GUI thread's
    Python work (the GIL) out of the timings.
    """
    try:
        res = sweep(**kwargs, progress=lambda d, t: queue.put(("progress", d, t)),
                    on_row=lambda r: queue.put(("row", r)), cancel=cancel)
    except BpvizError as exc:
        queue.put(("error", str(exc)))
    except Exception as exc:
        queue.put(("error", f"the sweep failed: {_first_line(exc)}"))
    else:
        queue.put(("done", res))
