"""Array backends: NumPy always, CuPy when a CUDA GPU really works.

The engine is written once against an array module ``xp`` (the array-module
pattern); :func:`get_backend` picks it. ``import cupy`` and device detection
sit in ``try/except Exception`` so a broken CUDA install falls back to NumPy
with a message instead of a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import BackendError

BACKENDS = ("numpy", "cupy", "auto")


@dataclass(frozen=True)
class Backend:
    """A resolved backend: its name, its array module and why it was chosen."""

    name: str
    xp: Any
    message: str = ""

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        return self.xp.asarray(a, dtype=dtype)

    def to_host(self, a: Any) -> np.ndarray:
        """A host NumPy array (a copy for CuPy; the array itself for NumPy)."""
        if self.name == "cupy":
            return self.xp.asnumpy(a)
        return np.asarray(a)

    def synchronize(self) -> None:
        if self.name == "cupy":
            self.xp.cuda.Device().synchronize()

    def timer(self) -> float:
        """Seconds on a monotonic clock, after the device has finished its work."""
        self.synchronize()
        return time.perf_counter()


@functools.lru_cache(maxsize=1)
def cupy_status() -> tuple[Any, str]:
    """``(cupy module or None, reason)``: whether CuPy imports and a GPU computes."""
    try:
        import cupy  # type: ignore[import-not-found]
    except Exception as exc:  # ImportError, or a broken CUDA library
        return None, f"CuPy is not installed ({type(exc).__name__}); pip install 'bpviz[gpu]'"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
        if n < 1:
            return None, "CuPy found no CUDA device"
        x = cupy.arange(4, dtype=cupy.float32)
        float((x @ x).get())  # compiles and runs a kernel: the GPU really works
        name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
        if isinstance(name, bytes):
            name = name.decode()
        return cupy, f"CuPy on {name}"
    except Exception as exc:
        detail = str(exc).splitlines()[0] if str(exc) else repr(exc)
        return None, f"CuPy cannot use the GPU: {detail}"


def gpu_available() -> bool:
    return cupy_status()[0] is not None


def get_backend(name: str | Backend = "numpy") -> Backend:
    """Resolve ``"numpy"``, ``"cupy"`` or ``"auto"`` to a :class:`Backend`.

    ``"cupy"`` raises :class:`BackendError` when no GPU works; ``"auto"`` falls
    back to NumPy and says why in :attr:`Backend.message`.
    """
    if isinstance(name, Backend):
        return name
    key = str(name).strip().lower()
    if key not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; use one of {', '.join(BACKENDS)}")
    if key == "numpy":
        return Backend("numpy", np, "NumPy on the CPU")
    cp, why = cupy_status()
    if cp is not None:
        return Backend("cupy", cp, why)
    if key == "cupy":
        raise BackendError(f"backend 'cupy' is not available: {why}; use --backend numpy")
    return Backend("numpy", np, f"NumPy on the CPU ({why})")


@contextlib.contextmanager
def blas_threads(n: int | None = 1) -> Iterator[None]:
    """Limit BLAS to ``n`` threads inside the block (no-op for ``None``).

    On a 2-core machine two BLAS threads made a 784-128-10 step 2–6× slower
    and erratic (measured on a 2-core machine), so training uses one.
    """
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield
