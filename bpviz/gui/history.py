"""Training history: the published steps kept for the timeline, bounded in bytes.

The worker adds every snapshot it publishes (:meth:`History.add`, on the worker
thread, at publish time); the window's timeline (:mod:`bpviz.gui.timeline`) reads
it on the GUI thread and shows a kept step through the same ``show_snapshot`` path
as a live one (:func:`recorded_snapshot`). Only *published* steps are kept (at
most ~30 a second, the ones whose matrices were copied for the views): the steps
trained between two frames never had their matrices copied and are not here.

What an entry keeps is the published :class:`~bpviz.gui.snapshot.Snapshot` itself
(no extra copy): the :class:`~bpviz.engine.records.StepRecord` with its backprop
record, weights, loss, accuracy and the batch's sample indices, the decision
boundary and neuron maps of 2-D data, the test-set output; not its ``history``
(the curves have those records) nor its ``pooled`` matrices (made again for the
window's size when shown).

Memory is a hard bound in bytes (:attr:`History.max_bytes`, default
:data:`DEFAULT_BUDGET`), counted with NumPy's ``nbytes`` of every buffer an entry
keeps alive plus a fixed allowance per entry for its Python objects:

1. thinning by age: every published step of the newest :data:`RECENT`, then every
   10th of those up to 10·RECENT published steps back, every 100th up to 100·RECENT,
   and so on (nested, so a step once dropped is never needed again);
2. past the budget, the oldest entries are stored at display precision (float16,
   values clipped to ±65504; :attr:`Entry.exact` False says so), then entries are
   dropped where the kept steps lie densest relative to their age (the newest is
   kept, the old ones stay spread over the run). A single step larger than the
   budget is not kept at all (:attr:`History.too_big`).

Thread-safe: one lock guards the list; entries are immutable.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

import numpy as np

from ..engine.checkpoints import densest
from .snapshot import Snapshot

#: Default budget of the history, in bytes.
DEFAULT_BUDGET = 256 << 20
#: Every published step of this many newest ones is kept.
RECENT = 500
#: Bytes counted per entry for its Python objects (records, dicts, array headers).
ENTRY_OVERHEAD = 4096
#: ``Snapshot.extra`` key of a snapshot made from the history (:func:`recorded_snapshot`).
RECORDED = "recorded"
#: The largest magnitude float16 holds.
_F16_MAX = 65504.0


def is_recorded(snap: Any) -> bool:
    """Whether ``snap`` is a recorded step shown again (not a newly trained one): the
    curves must neither re-append nor take its earlier step number for a reset."""
    return bool(getattr(snap, "extra", None) and snap.extra.get(RECORDED))


@dataclass(frozen=True)
class Entry:
    """One kept step.

    Attributes
    ----------
    seq : how many steps were added before this one (its publication number).
    snap : the published snapshot, ``history`` and ``pooled`` emptied.
    nbytes : bytes it keeps alive (see :func:`snapshot_nbytes`).
    exact : False once stored at display precision (float16).
    """

    seq: int
    snap: Snapshot
    nbytes: int
    exact: bool = True

    @property
    def step(self) -> int:
        return int(self.snap.step.step)


def _arrays(obj: Any, out: list[np.ndarray], depth: int = 0) -> None:
    """Every ndarray reachable from ``obj`` (dataclasses, dicts, tuples, lists)."""
    if isinstance(obj, np.ndarray):
        out.append(obj)
    elif depth > 6 or obj is None or isinstance(obj, (str, bytes, int, float, bool)):
        return
    elif isinstance(obj, dict):
        for v in obj.values():
            _arrays(v, out, depth + 1)
    elif isinstance(obj, (tuple, list)):
        for v in obj:
            _arrays(v, out, depth + 1)
    elif is_dataclass(obj) and not isinstance(obj, type):
        for f in fields(obj):
            _arrays(getattr(obj, f.name), out, depth + 1)


def _root(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s buffer (a view keeps its whole base alive)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def snapshot_nbytes(snap: Snapshot) -> int:
    """Bytes ``snap`` keeps alive: the ``nbytes`` of each distinct buffer its arrays
    use (the owner of a view counted whole, a shared array once), plus
    :data:`ENTRY_OVERHEAD`."""
    arrays: list[np.ndarray] = []
    _arrays(snap, arrays)
    roots = {id(r): r for r in map(_root, arrays)}
    return ENTRY_OVERHEAD + sum(int(r.nbytes) for r in roots.values())


def _map_arrays(obj: Any, fn: Any, memo: dict[int, Any], depth: int = 0) -> Any:
    """``obj`` with every ndarray ``a`` replaced by ``fn(a)`` (a shared array once)."""
    if isinstance(obj, np.ndarray):
        if id(obj) not in memo:
            memo[id(obj)] = fn(obj)
        return memo[id(obj)]
    if depth > 6 or obj is None or isinstance(obj, (str, bytes, int, float, bool)):
        return obj
    if isinstance(obj, dict):
        return {k: _map_arrays(v, fn, memo, depth + 1) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return tuple(_map_arrays(v, fn, memo, depth + 1) for v in obj)
    if isinstance(obj, list):
        return [_map_arrays(v, fn, memo, depth + 1) for v in obj]
    if is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: _map_arrays(getattr(obj, f.name), fn, memo, depth + 1)
                   for f in fields(obj) if f.init}
        return replace(obj, **changes)
    return obj


def _to_f16(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind != "f" or a.dtype.itemsize <= 2:
        return a
    return np.clip(a, -_F16_MAX, _F16_MAX).astype(np.float16)


def _to_f32(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float32) if a.dtype == np.float16 else a


def _own(a: np.ndarray) -> np.ndarray:
    """``a`` itself, or a compact copy if it is a view of a larger buffer."""
    return a if a.base is None or a.nbytes >= _root(a).nbytes else a.copy()


def stride(age: int, recent: int = RECENT) -> int:
    """Keep one published step in ``stride(age)`` among those ``age`` steps back:
    1 for the newest ``recent``, then 10, 100, ... for each next decade of age."""
    s = 1
    bound = recent
    while age >= bound:
        s *= 10
        bound *= 10
    return s


class History:
    """The published steps, oldest first, bounded to ``max_bytes``.

    Parameters
    ----------
    max_bytes : the budget in bytes (a hard bound on :attr:`nbytes`).
    recent : every published step of the newest ``recent`` ones is kept.
    """

    def __init__(self, max_bytes: int = DEFAULT_BUDGET, recent: int = RECENT) -> None:
        self._lock = threading.Lock()
        self._entries: list[Entry] = []
        self._seq = 0
        self.recent = int(recent)
        self.max_bytes = int(max_bytes)
        #: Bytes held now (≤ ``max_bytes`` after every call).
        self.nbytes = 0
        #: True when the newest published step alone was larger than the budget.
        self.too_big = False
        self._steps_key: tuple[int, int, int] | None = None   # steps() is cached per key
        self._steps: list[int] = []

    # ------------------------------------------------------------ worker side
    def add(self, snap: Snapshot) -> None:
        """Keep the published ``snap`` (a step with matrices; others are ignored).

        A step number not above the newest kept one starts the timeline again from
        there (a reset, a preview of edited weights): the entries from that step on
        are dropped first.
        """
        if snap.step.backprop is None or self.max_bytes <= 0:
            return
        kept = replace(snap, history=(), pooled={}, extra=dict(snap.extra),
                       step=_map_arrays(snap.step, _own, {}))
        entry = Entry(0, kept, snapshot_nbytes(kept))
        with self._lock:
            step = entry.step
            while self._entries and self._entries[-1].step >= step:
                self.nbytes -= self._entries.pop().nbytes
            entry = replace(entry, seq=self._seq)
            self._seq += 1
            self._entries.append(entry)
            self.nbytes += entry.nbytes
            self._thin_by_age()
            self._fit()

    def clear(self) -> None:
        """Forget every step (a new network, data set or run)."""
        with self._lock:
            self._entries = []
            self.nbytes = 0
            self.too_big = False

    def set_budget(self, max_bytes: int) -> None:
        """A new budget in bytes; past it entries are made smaller or dropped at once."""
        with self._lock:
            self.max_bytes = max(0, int(max_bytes))
            self._fit()

    # ------------------------------------------------------------ GUI side
    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def version(self) -> tuple[int, int, int]:
        """A token that changes whenever the kept entries change (cheap: every frame)."""
        with self._lock:
            return self._version()

    def _version(self) -> tuple[int, int, int]:
        return self._seq, len(self._entries), self._entries[0].seq if self._entries else -1

    def steps(self) -> list[int]:
        """The kept step numbers, ascending (a copy, made again only when the entries
        changed)."""
        with self._lock:
            key = self._version()
            if self._steps_key != key:
                self._steps_key, self._steps = key, [e.step for e in self._entries]
            return list(self._steps)

    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries)

    def get(self, step: int) -> Entry | None:
        """The entry of ``step``, or the nearest kept one before it (the oldest if none);
        None when the history is empty."""
        with self._lock:
            if not self._entries:
                return None
            keys = [e.step for e in self._entries]
            i = bisect.bisect_right(keys, int(step)) - 1
            return self._entries[max(i, 0)]

    # ------------------------------------------------------------ internals
    def _thin_by_age(self) -> None:
        """Drop the entries that just aged into a sparser decade (one per decade)."""
        newest = self._seq - 1
        seqs = None
        bound = self.recent
        while bound <= newest:
            s = newest - bound           # this one's age just reached ``bound``
            if s % stride(bound, self.recent):
                if seqs is None:
                    seqs = [e.seq for e in self._entries]
                i = bisect.bisect_left(seqs, s)
                if i < len(seqs) and seqs[i] == s:
                    self.nbytes -= self._entries.pop(i).nbytes
                    seqs.pop(i)
            bound *= 10

    def _fit(self) -> None:
        """Bring :attr:`nbytes` within :attr:`max_bytes`: display precision for the
        oldest, then drop the densest relative to age (see the module)."""
        E = self._entries
        if self.max_bytes <= 0:   # history off
            E.clear()
            self.nbytes = 0
            return
        while self.nbytes > self.max_bytes and E:
            n = len(E)
            i = next((j for j in range(n - 1) if E[j].exact), None)
            if i is None and n == 1 and E[0].exact:
                i = 0
            if i is not None:
                self._downcast(i)
                continue
            if n > 2:
                drop = densest([e.step for e in E])
            else:
                drop = 0
                self.too_big = n == 1
            self.nbytes -= E.pop(drop).nbytes
        if E and self.too_big and E[-1].nbytes <= self.max_bytes:
            self.too_big = False

    def _downcast(self, i: int) -> None:
        e = self._entries[i]
        snap = _map_arrays(e.snap, _to_f16, {})   # arrays only: loss etc. stay exact
        small = replace(e, snap=snap, nbytes=snapshot_nbytes(snap), exact=False)
        self.nbytes += small.nbytes - e.nbytes
        self._entries[i] = small


def recorded_snapshot(entry: Entry, pooled: dict | None = None,
                      extra: dict[str, Any] | None = None) -> Snapshot:
    """The snapshot that shows ``entry`` through the views' ``show_snapshot``: its
    arrays as float32 (an entry at display precision widened back), ``history``
    empty (the curves already have its records), ``extra[RECORDED]`` True (the
    curves draw a cursor, see :func:`is_recorded`), ``steps_per_s`` 0, ``pooled``
    the pooled matrices for the window's size (made by the caller)."""
    snap = entry.snap if entry.exact else _map_arrays(entry.snap, _to_f32, {})
    more = {**snap.extra, RECORDED: True, "steps_per_s": 0.0, "exact": entry.exact}
    more.update(extra or {})
    return replace(snap, history=(), pooled=dict(pooled or {}), extra=more)
