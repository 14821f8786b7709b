"""The network and its one backprop, in two forms: vectorized (batch) and loop.

Both compute exactly the quantities of the math contract (ARCHITECTURE.md)
for one mini-batch of K samples, one sample per row:

* forward   ``z^l = a^{l-1} W^lᵀ + b^l`` (K×m), ``a^l = f(z^l)``
* output    ``δ^L = a^L − y`` for the matched pairings, else ``(∂C/∂a) ⊙ f'(z^L)``
* backward  ``δ^{l-1} = (δ^l W^l) ⊙ f'(z^{l-1})``
* gradient  ``dW^l = (1/K) δ^lᵀ a^{l-1}`` (m×n), ``db^l = (1/K) Σ_k δ^l_k``

The *vectorized* path (:meth:`Network.phases`) does this with one matrix
product per arrow, as a generator that can stop after each quantity: run to
its end it is the training step, run one phase at a time it is the phase
stepper's lesson. The *loop* path does it one sample at a time, accumulating
outer products ``δ_kᵀ a_k`` (the Cross Validated question "vectorized version
of one of the backpropagation equations" and its answer). Tied layers add
their contributions into the shared parameter's gradient (notes on the math
of neural networks with reused weights).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .backend import Backend, get_backend
from .errors import BpvizError, SpecError
from .functions import activate, backprop_activation, output_delta, sample_losses, total_loss
from .optim import check_hyper
from .records import BackpropRecord, LayerRecord
from .spec import NetworkSpec

METHODS = ("vectorized", "loop")
DTYPES = ("float32", "float64")


@dataclass(slots=True)
class LayerResult:
    """One layer's matrices for one mini-batch, on the device (host copies:
    :class:`~bpviz.engine.records.LayerRecord`, same fields and shapes)."""

    a_prev: Any   # (K, n) a^{l-1}
    z: Any        # (K, m)
    a: Any        # (K, m)
    delta: Any    # (K, m) ∂C_k/∂z, no 1/K inside
    dW: Any       # (m, n) this use's gradient
    db: Any       # (m,)
    owner: int    # the layer whose W and b this layer uses


@dataclass(slots=True)
class BackpropResult:
    """One backprop on the device: the cost, every layer's :class:`LayerResult`, and
    ``grads`` (``"W{j}"``/``"b{j}"`` of each owning layer j: the sum over its uses)."""

    loss: float
    layers: list[LayerResult]
    grads: dict[str, Any]
    method: str

    @property
    def batch_size(self) -> int:
        return int(self.layers[0].a_prev.shape[0])

    @property
    def output(self) -> Any:
        """``a^L`` (K, m)."""
        return self.layers[-1].a


class Phase(NamedTuple):
    """What :meth:`Network.phases` just computed: ``kind`` (one of :data:`PHASE_KINDS`
    but "update"), engine ``layer`` (0-based) and the device ``value``; the "loss"
    phase's value is the per-sample costs ``C_k`` (K,) and ``cost`` the batch cost C."""

    kind: str
    layer: int
    value: Any
    cost: float | None = None


#: The kinds of phase of one mini-batch; "update" is the optimizer's step (the trainer's).
PHASE_KINDS = ("z", "a", "loss", "delta", "dW", "db", "update")


def phase_plan(spec: NetworkSpec) -> tuple[tuple[str, int], ...]:
    """The ``(kind, layer)`` of every phase of one mini-batch, in the order
    :meth:`Network.phases` computes them, then ``("update", -1)``: ``5L + 2`` phases."""
    L = len(spec.layers)
    plan: list[tuple[str, int]] = []
    for i in range(L):
        plan += [("z", i), ("a", i)]
    plan.append(("loss", L - 1))
    for i in range(L - 1, -1, -1):
        plan += [("delta", i), ("dW", i), ("db", i)]
    plan.append(("update", -1))
    return tuple(plan)


def finish(gen: Generator[Any, None, BackpropResult]) -> BackpropResult:
    """Run a :meth:`Network.phases` generator to its end and return its result."""
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value


class Layer:
    """A view of layer ``index`` of a :class:`Network`: its spec and parameters.

    ``W`` (m×n, out × in) and ``b`` (m,) are the network's arrays themselves
    (on the backend's device); a tied layer shows its owner's arrays.
    """

    def __init__(self, net: Network, index: int) -> None:
        self._net = net
        self.index = index
        self.spec = net.spec.layers[index]
        self.owner = net.spec.owner(index)

    @property
    def W(self) -> Any:
        return self._net.params[f"W{self.owner}"]

    @property
    def b(self) -> Any:
        return self._net.params[f"b{self.owner}"]

    @property
    def tied(self) -> bool:
        return self.owner != self.index

    def __repr__(self) -> str:
        m, n = self._net.spec.weight_shape(self.index)
        tie = f", tied to {self.owner}" if self.tied else ""
        return f"Layer({self.index}: {m}×{n} {self.spec.activation}{tie})"


def init_weights(spec: NetworkSpec, seed: int | None, dtype: Any) -> dict[str, np.ndarray]:
    """Fresh host parameters ``{"W0", "b0", ...}`` for every owning layer.

    Glorot: uniform ±√(6/(n+m)); He: normal·√(2/n); normal: normal·0.1;
    zeros: all zero (every neuron stays identical: a lesson in symmetry).
    Drawn in float64 and cast, so float32 and float64 nets start alike.
    """
    rng = np.random.default_rng(seed)
    params: dict[str, np.ndarray] = {}
    for i in range(len(spec.layers)):
        if spec.layers[i].tie_to is not None:
            continue
        m, n = spec.weight_shape(i)
        if spec.init == "glorot":
            lim = np.sqrt(6.0 / (n + m))
            W = rng.uniform(-lim, lim, size=(m, n))
        elif spec.init == "he":
            W = rng.standard_normal((m, n)) * np.sqrt(2.0 / n)
        elif spec.init == "normal":
            W = rng.standard_normal((m, n)) * 0.1
        else:
            W = np.zeros((m, n))
        params[f"W{i}"] = np.ascontiguousarray(W, dtype=dtype)
        params[f"b{i}"] = np.zeros(m, dtype=dtype)
    return params


class Network:
    """A multilayer perceptron with weights, on NumPy or CuPy.

    Parameters
    ----------
    spec : the architecture; validated here (raises :class:`SpecError`).
    seed : seed of the weight initialisation.
    dtype : ``"float32"`` (training) or ``"float64"`` (gradient checks).
    backend : ``"numpy"``, ``"cupy"`` or ``"auto"`` (see :func:`get_backend`).
    """

    def __init__(
        self,
        spec: NetworkSpec,
        seed: int | None = 0,
        dtype: str | np.dtype = "float32",
        backend: str | Backend = "numpy",
    ) -> None:
        if not isinstance(spec, NetworkSpec):
            raise SpecError(f"Network needs a NetworkSpec, got {type(spec).__name__}")
        self.spec = spec.validate()
        try:
            self.dtype = np.dtype(dtype)
        except TypeError:
            self.dtype = None
        if self.dtype is None or self.dtype.name not in DTYPES:
            raise BpvizError(f"dtype must be float32 or float64, got {dtype!r}")
        self.backend = get_backend(backend)
        self.xp = self.backend.xp
        self.seed = seed
        self.params: dict[str, Any] = {}
        #: How many times a parameter was set outside training (set_parameter), so a
        #: caller can tell that the weights changed without comparing them.
        self.edits = 0
        self.set_weights(init_weights(spec, seed, self.dtype))
        self.layers = tuple(Layer(self, i) for i in range(len(spec.layers)))
        self._weights_of_samples: dict[int, Any] = {}   # K -> (K,) the 1/K (or 1) of each
        # the hot loop reads plain tuples: (W key, b key, activation, owner)
        self._plan = tuple(
            (f"W{ly.owner}", f"b{ly.owner}", ly.spec.activation, ly.owner) for ly in self.layers
        )

    # ------------------------------------------------------------ parameters
    def get_weights(self) -> dict[str, np.ndarray]:
        """Host copies of every parameter, ``{"W0": (m, n), "b0": (m,), ...}``."""
        return {k: np.array(self.backend.to_host(v), copy=True) for k, v in self.params.items()}

    def set_weights(self, weights: dict[str, Any]) -> None:
        """Replace parameters (copied, cast to this dtype); shapes must match the spec."""
        expected = {}
        for i in range(len(self.spec.layers)):
            if self.spec.layers[i].tie_to is None:
                m, n = self.spec.weight_shape(i)
                expected[f"W{i}"], expected[f"b{i}"] = (m, n), (m,)
        if set(weights) != set(expected):
            raise BpvizError(f"weights must have keys {sorted(expected)}, got {sorted(weights)}")
        new = {}
        for k, shape in expected.items():
            v = np.asarray(weights[k]) if not hasattr(weights[k], "__cuda_array_interface__") \
                else weights[k]
            if tuple(v.shape) != shape:
                raise BpvizError(f"{k} has shape {tuple(v.shape)}, the network needs {shape}")
            new[k] = self.xp.array(v, dtype=self.dtype, order="C", copy=True)
        self.params = new

    def set_parameter(self, key: str, index: int | tuple[int, ...], value: Any) -> float:
        """Set one entry of one parameter, in place; returns the value it replaces.

        Parameters
        ----------
        key : ``"W{l}"`` (m×n, out × in) or ``"b{l}"`` (m,) of an owning layer ``l``
            (a tied layer uses its owner's key: one edit changes every use).
        index : ``(i, j)`` for W (row i = neuron i, column j = input j), ``i`` or
            ``(i,)`` for b; 0-based, no negative indices.
        value : a finite real number that this network's dtype can hold (a
            numeric string such as ``"0.5"`` is read as a number).

        Returns
        -------
        float
            The old entry as a Python float: exact (float32 widens to float64
            without rounding), so ``set_parameter(key, index, old)`` restores the
            parameter bitwise.

        Raises
        ------
        BpvizError
            An unknown key, an index out of range, or a value that is not a
            finite number in range; nothing is changed then.
        """
        if key not in self.params:
            raise BpvizError(f"no parameter {key!r}; this network has {', '.join(self.params)}")
        arr = self.params[key]
        idx = (index,) if isinstance(index, (int, np.integer)) else tuple(index)
        if len(idx) != arr.ndim or any(
                isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < n
                for k, n in zip(idx, arr.shape, strict=True)):
            raise BpvizError(f"index {index!r} is not an entry of {key} (shape "
                             f"{'×'.join(map(str, arr.shape))}, 0-based)")
        name = f"{key}[{', '.join(str(int(k)) for k in idx)}]"
        if isinstance(value, bool) or not isinstance(value, (str, int, float, np.number)) \
                or isinstance(value, np.complexfloating):
            raise BpvizError(f"{name} must be a number, got {value!r}")
        big = float(np.finfo(self.dtype).max)
        v = check_hyper(name, value, low=-big, high=big)
        idx = tuple(int(k) for k in idx)
        old = float(arr[idx])
        arr[idx] = v
        self.edits += 1
        return old

    @property
    def n_layers(self) -> int:
        return len(self.spec.layers)

    # ------------------------------------------------------------ data in
    def prepare(self, X: Any, Y: Any) -> tuple[Any, Any]:
        """Check and convert a batch to device arrays of this dtype.

        ``Y`` may be one-hot or targets (K, m), or integer labels (K,), which
        become one-hot (or a (K, 1) column of 0/1 for a one-output network).
        """
        X = self.xp.asarray(X, dtype=self.dtype)
        if X.ndim != 2 or X.shape[1] != self.spec.inputs:
            raise BpvizError(f"X must have shape (K, {self.spec.inputs}), got {tuple(X.shape)}")
        if X.shape[0] < 1:
            raise BpvizError("the mini-batch is empty: K must be at least 1")
        return X, self.encode_targets(Y, X.shape[0])

    def encode_targets(self, Y: Any, K: int) -> Any:
        """Targets ``Y`` as a (K, m) device array of this dtype.

        ``Y`` is (K, m) targets or one-hot rows, used as they are; (K,) floats
        for a one-output network, as a column; or (K,) integer or boolean class
        labels: one-hot rows for m outputs (labels 0..m−1), a (K, 1) column of
        0/1 for one output (labels 0 or 1 only: ±1 labels must be mapped to
        0/1 first). Anything else raises :class:`BpvizError`.
        """
        m = self.spec.outputs
        xp = self.xp
        Y = xp.asarray(Y)
        if Y.ndim == 1:
            if Y.dtype.kind in "iub":
                labels = Y.astype(np.int64)
                lo, hi = (int(labels.min()), int(labels.max())) if labels.size else (0, 0)
                bad = lo < 0 or hi >= max(m, 2)
                if bad and m == 1:
                    raise BpvizError(
                        f"class labels for a one-output network must be 0 or 1, got labels "
                        f"in {lo}..{hi}; map ±1 labels to 0/1 "
                        "(e.g. (y + 1) // 2), or give regression targets as floats")
                if bad:
                    raise BpvizError(f"class labels must lie in 0..{m - 1} for {m} outputs")
                if m == 1:
                    Y = labels.astype(self.dtype)[:, None]
                else:
                    onehot = xp.zeros((labels.shape[0], m), dtype=self.dtype)
                    onehot[xp.arange(labels.shape[0]), labels] = 1
                    Y = onehot
            elif m == 1:
                Y = Y[:, None]
        Y = Y.astype(self.dtype, copy=False)
        if Y.shape != (K, m):
            raise BpvizError(f"Y must have shape ({K}, {m}) or ({K},) labels, got {tuple(Y.shape)}")
        return Y

    # ------------------------------------------------------------ forward
    def forward(self, X: Any) -> Any:
        """The output ``a^L`` (K×m) for a batch, on the device."""
        xp, P = self.xp, self.params
        a = xp.asarray(X, dtype=self.dtype)
        for wk, bk, act, _ in self._plan:
            z = a @ P[wk].T
            z += P[bk]
            a = activate(act, z, xp)
        return a

    def forward_cost(self, X: Any, Y: Any) -> tuple[float, Any]:
        """The cost C and the output ``a^L`` (K×m) of a prepared batch (see :meth:`prepare`)."""
        xp, P = self.xp, self.params
        a = X
        z = X
        for wk, bk, act, _ in self._plan:
            z = a @ P[wk].T
            z += P[bk]
            a = activate(act, z, xp)
        return self._cost(z, a, Y), a

    def loss(self, X: Any, Y: Any) -> float:
        """The cost C of a batch (mean or sum over samples, as the spec says)."""
        return self.forward_cost(*self.prepare(X, Y))[0]

    def _cost(self, z: Any, a: Any, Y: Any) -> float:
        C = total_loss(self.spec.loss, z, a, Y, self.xp)
        return C / Y.shape[0] if self.spec.reduction == "mean" else C

    # ------------------------------------------------------------ backprop
    def backprop(self, X: Any, Y: Any, method: str = "vectorized") -> BackpropRecord:
        """Gradients of the cost on one mini-batch, with every matrix; W unchanged.

        ``method="vectorized"`` uses matrix products over the whole batch;
        ``method="loop"`` goes one sample at a time. Both give the same record
        to rounding error. Host copies; :meth:`gradients` is the same on the device.
        """
        X, Y = self.prepare(X, Y)
        return self.record(self.gradients(X, Y, method))

    def gradients(self, X: Any, Y: Any, method: str = "vectorized",
                  drop_fprime: bool = False) -> BackpropResult:
        """Backprop of a prepared batch (see :meth:`prepare`), arrays left on the device.

        ``drop_fprime=True`` leaves ``f'(z)`` out of the backward pass: a deliberate
        bug that the gradient check shows failing (vectorized only).
        """
        if method == "vectorized":
            return finish(self.phases(X, Y, trace=False, drop_fprime=drop_fprime))
        if method == "loop":
            if drop_fprime:
                raise BpvizError("drop_fprime is only offered by the vectorized method")
            return self._loop(X, Y)
        raise BpvizError(f"unknown method {method!r}; use 'vectorized' or 'loop'")

    def record(self, result: BackpropResult) -> BackpropRecord:
        """Host copy of a device result as a :class:`BackpropRecord`."""
        h = self.backend.to_host
        recs = tuple(
            LayerRecord(h(r.a_prev), h(r.z), h(r.a), h(r.delta), h(r.dW), h(r.db), r.owner)
            for r in result.layers
        )
        return BackpropRecord(result.loss, recs, {k: h(v) for k, v in result.grads.items()},
                              result.method, result.batch_size)

    def phases(self, X: Any, Y: Any, trace: bool = True, drop_fprime: bool = False
               ) -> Generator[Phase, None, BackpropResult]:
        """The vectorized backprop of a prepared batch, one phase at a time.

        Yields a :class:`Phase` after each quantity is computed (with ``trace``;
        without it nothing is yielded and the generator simply returns), in the
        order of :func:`phase_plan`: ``z`` and ``a`` of each layer forward, the
        per-sample costs ``C_k``, then from the last layer back ``δ``, ``dW``, ``db``.
        Returns the :class:`BackpropResult` (``StopIteration.value``; see
        :func:`finish`). This *is* the vectorized path: :meth:`gradients` runs it
        with ``trace=False``, the phase stepper with ``trace=True``.
        """
        xp, P, plan, spec = self.xp, self.params, self._plan, self.spec
        acts, zs = [X], []
        a = X
        for l, (wk, bk, act, _) in enumerate(plan):
            z = a @ P[wk].T                        # (K, n)(n, m)
            z += P[bk]
            zs.append(z)
            if trace:
                yield Phase("z", l, z)
            a = activate(act, z, xp)
            acts.append(a)
            if trace:
                yield Phase("a", l, a)
        K, L = X.shape[0], len(plan)
        scale = 1.0 / K if spec.reduction == "mean" else 1.0
        loss = self._cost(zs[-1], acts[-1], Y)
        if trace:                                  # the costs C_k that the loss sums
            yield Phase("loss", L - 1, sample_losses(spec.loss, zs[-1], acts[-1], Y, xp), loss)
        # each sample's weight in the cost; db = wᵀδ as one matrix-vector product
        # (NumPy sums along an axis several times slower); made once per batch size
        w = self._weights_of_samples.get(K)
        if w is None:
            w = self._weights_of_samples[K] = xp.full(K, scale, dtype=self.dtype)
        delta = output_delta(spec.loss, plan[-1][2], zs[-1], acts[-1], Y, xp)
        layers: list[Any] = [None] * L
        grads: dict[str, Any] = {}
        for l in range(L - 1, -1, -1):
            wk, bk, _, owner = plan[l]
            if trace:
                yield Phase("delta", l, delta)
            a_prev = acts[l]
            # dW = δᵀa (m, K)(K, n): one product instead of K outer products, written
            # in W's own (C) layout. (aᵀδ)ᵀ, Fortran-ordered, is a little faster to
            # compute, but the update W -= η·dW then walks one of the two with a stride:
            # 0.69 ms against 0.06 ms for 512×784, and a whole training step of
            # 784-512-512-10 (K = 32) took 2.07 ms against 1.19 ms (engine_vs_torch.py
            # --update; benchmarks/README.md)
            dW = delta.T @ a_prev
            if scale != 1.0:
                dW *= scale
            if trace:
                yield Phase("dW", l, dW)
            db = w @ delta                        # (K,)(K, m): wᵀδ, the weighted column sums
            if trace:
                yield Phase("db", l, db)
            layers[l] = LayerResult(a_prev, zs[l], acts[l + 1], delta, dW, db, owner)
            if wk in grads:                        # tied: sum the contributions of each use
                grads[wk] = grads[wk] + dW
                grads[bk] = grads[bk] + db
            else:
                grads[wk], grads[bk] = dW, db
            if l > 0:
                g = delta @ P[wk]                  # (K, m)(m, n) = ∂C_k/∂a^{l-1}
                delta = g if drop_fprime else backprop_activation(
                    plan[l - 1][2], g, zs[l - 1], acts[l], xp)
        return BackpropResult(loss, layers, grads, "vectorized")

    def _loop(self, X: Any, Y: Any) -> BackpropResult:
        """The same gradient, one sample at a time: ``dW = (1/K) Σ_k outer(δ_k, a_k)``."""
        xp, P, plan, spec = self.xp, self.params, self._plan, self.spec
        K, L = X.shape[0], len(plan)
        sizes = [spec.inputs] + [ly.units for ly in spec.layers]
        Z = [xp.empty((K, sizes[l + 1]), self.dtype) for l in range(L)]
        A = [X] + [xp.empty((K, sizes[l + 1]), self.dtype) for l in range(L)]
        D = [xp.empty((K, sizes[l + 1]), self.dtype) for l in range(L)]
        dW = [xp.zeros(spec.weight_shape(l), self.dtype) for l in range(L)]
        db = [xp.zeros(sizes[l + 1], self.dtype) for l in range(L)]
        total = 0.0
        for k in range(K):
            a = X[k]                                # (n,)
            for l, (wk, bk, act, _) in enumerate(plan):
                z = P[wk] @ a + P[bk]               # (m, n)(n,) + (m,)
                a = activate(act, z, xp)
                Z[l][k], A[l + 1][k] = z, a
            total += total_loss(spec.loss, z, a, Y[k], xp)
            delta = output_delta(spec.loss, plan[-1][2], z, a, Y[k], xp)
            for l in range(L - 1, -1, -1):
                D[l][k] = delta
                dW[l] += xp.outer(delta, A[l][k])   # δ_kᵀ a_k: one outer product per sample
                db[l] += delta
                if l > 0:
                    delta = backprop_activation(plan[l - 1][2], delta @ P[plan[l][0]],
                                                Z[l - 1][k], A[l][k], xp)
        scale = 1.0 / K if spec.reduction == "mean" else 1.0
        layers, grads = [], {}
        for l, (wk, bk, _, owner) in enumerate(plan):
            if scale != 1.0:
                dW[l] *= scale
                db[l] *= scale
            layers.append(LayerResult(A[l], Z[l], A[l + 1], D[l], dW[l], db[l], owner))
            grads[wk] = grads[wk] + dW[l] if wk in grads else dW[l]
            grads[bk] = grads[bk] + db[l] if bk in grads else db[l]
        return BackpropResult(total * scale, layers, grads, "loop")

    # ------------------------------------------------------------ helpers
    def iter_param_keys(self) -> Iterator[str]:
        return iter(self.params)

    def copy(self) -> Network:
        """An independent network with the same spec, dtype, backend and weights."""
        other = Network(self.spec, self.seed, self.dtype, self.backend)
        other.set_weights(self.params)
        return other


def predict_labels(output: Any) -> Any:
    """Class per row: argmax, or ``a > 0.5`` for a single output (the one accuracy
    rule; NumPy or CuPy in, the same kind out)."""
    if output.shape[1] == 1:
        return (output[:, 0] > 0.5).astype(np.int64)
    return output.argmax(axis=1)
