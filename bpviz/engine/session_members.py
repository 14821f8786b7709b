"""The two optional parts of a session file: the step history and an embedded data set.

Each part has its writer and its reader side by side (:mod:`.session` calls
them): ``history/...`` holds the scalars of the kept step records (bounded:
:data:`MAX_HISTORY_ROWS`, evenly thinned), ``data/...`` the rows of a user's
data file with its names and standardisation, so the session opens without it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from .archive import ArchiveReader, npy_bytes
from .datasets import Dataset
from .errors import BpvizError, SessionError
from .presets import EMBEDDED_PREFIX, RESOURCE_PREFIX, DataChoice
from .records import StepRecord

#: Most step records a session keeps (about 2.5 MB of history with 4 layers).
MAX_HISTORY_ROWS = 20_000
#: The float columns of ``history/values.npy`` (NaN where a record has no value).
HISTORY_COLUMNS = ("loss", "accuracy", "test_loss", "test_accuracy", "train_eval_loss",
                   "train_eval_accuracy", "penalty", "backprop_ms", "lr", "batch_size",
                   "method", "diverged")
_OPTIONAL = ("accuracy", "test_loss", "test_accuracy", "train_eval_loss", "train_eval_accuracy")

def whole(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _names(x: Any) -> bool:
    return isinstance(x, list) and len(x) <= 4096 and all(
        isinstance(s, str) and len(s) <= 256 for s in x)


def history_members(records: list[StepRecord], members: dict[str, bytes]
                     ) -> dict[str, Any] | None:
    """The scalars of ``records`` as ``history/...`` members; what session.json says."""
    records = [r for r in records if isinstance(r, StepRecord)]
    if not records:
        return None
    if len(records) > MAX_HISTORY_ROWS:  # evenly thinned, the first and last kept
        keep = np.unique(np.linspace(0, len(records) - 1, MAX_HISTORY_ROWS).round())
        records = [records[int(i)] for i in keep]
    methods = sorted({r.method for r in records})
    norms = sorted({k for r in records for k in r.grad_norms})
    steps = np.array([(r.step, r.epoch) for r in records], dtype=np.int64).reshape(-1, 2)
    values = np.full((len(records), len(HISTORY_COLUMNS)), np.nan)
    grad = np.full((len(records), len(norms)), np.nan)
    col = {k: j for j, k in enumerate(norms)}
    for i, r in enumerate(records):
        row = [r.loss, *(getattr(r, k) for k in _OPTIONAL), r.penalty, r.backprop_ms, r.lr,
               r.batch_size, methods.index(r.method), float(r.diverged)]
        values[i] = [np.nan if v is None else float(v) for v in row]
        for k, v in r.grad_norms.items():
            grad[i, col[k]] = v
    members["history/steps.npy"] = npy_bytes(steps)
    members["history/values.npy"] = npy_bytes(values)
    members["history/grad_norms.npy"] = npy_bytes(grad)
    return {"rows": len(records), "columns": list(HISTORY_COLUMNS), "methods": methods,
            "grad_norms": norms}


def read_history(ar: ArchiveReader, h: Any) -> tuple[StepRecord, ...]:
    """The step records of ``history/...`` (see :func:`history_members`)."""
    if not isinstance(h, dict):
        raise SessionError("the history in session.json must be an object")
    rows, methods, norms = h.get("rows"), h.get("methods"), h.get("grad_norms")
    if (h.get("columns") != list(HISTORY_COLUMNS) or not whole(rows)
            or not 0 <= rows <= MAX_HISTORY_ROWS or not _names(methods) or not _names(norms)):
        raise SessionError("the history in session.json is not one this bpviz writes")
    steps = ar.array("history/steps.npy", (rows, 2), kind="i")
    values = ar.array("history/values.npy", (rows, len(HISTORY_COLUMNS)))
    grad = ar.array("history/grad_norms.npy", (rows, len(norms)))
    if steps.min(initial=0) < 0 or np.isinf(values).any():
        raise SessionError("the history holds a negative step or an infinite value")
    code = values[:, HISTORY_COLUMNS.index("method")]
    if not np.all(np.isin(code, np.arange(len(methods)))):
        raise SessionError("the history names a backprop method it does not list")

    def opt(v: float) -> float | None:
        return None if math.isnan(v) else float(v)

    out = []
    for (st, ep), v, g in zip(steps.tolist(), values.tolist(), grad.tolist(), strict=True):
        loss, acc, tl, ta, el, ea, pen, ms, lr, k, m, div = v
        out.append(StepRecord(
            int(st), int(ep), float(loss), opt(acc), float(ms), methods[int(m)],
            int(k) if k == k else 0, float(lr), test_loss=opt(tl), test_accuracy=opt(ta),
            train_eval_loss=opt(el), train_eval_accuracy=opt(ea), diverged=bool(div == 1),
            grad_norms={n: x for n, x in zip(norms, g, strict=True) if x == x},
            penalty=0.0 if pen != pen else float(pen)))
    return tuple(out)


def embeds(choice: DataChoice) -> bool:
    """Whether a session embeds the rows of ``choice``: a user's data file (not one
    shipped with bpviz, which rebuilds like a seeded data set)."""
    return choice.is_file and not str(choice.csv_path).startswith(RESOURCE_PREFIX)


def embed(choice: DataChoice, ds: Dataset, members: dict[str, bytes]
           ) -> tuple[DataChoice, dict[str, Any]]:
    """Put the rows of ``ds`` into ``members`` (``data/...``); the choice without its
    path (``embedded:NAME``) and what session.json says about the data."""
    name = choice.file_name.removesuffix(" (embedded)") or ds.name
    arrays = {"X_train": ds.X_train, "y_train": ds.y_train, "X_test": ds.X_test,
              "y_test": ds.y_test, "x_mean": ds.x_mean, "x_std": ds.x_std}
    for key, a in arrays.items():
        if a is not None:
            members[f"data/{key}.npy"] = npy_bytes(np.asarray(a))
    info = {"name": ds.name, "n_classes": int(ds.n_classes),
            "class_names": list(ds.class_names), "feature_names": list(ds.feature_names),
            "image_shape": list(ds.image_shape) if ds.image_shape else None,
            "description": ds.description, "standardized": ds.x_mean is not None}
    return replace(choice, csv_path=EMBEDDED_PREFIX + name), info


def read_embedded(ar: ArchiveReader, info: Any) -> Dataset:
    """The data set a session embeds (``data/...``), checked like a data file."""
    if not isinstance(info, dict):
        raise SessionError("the embedded data in session.json must be an object")
    C, shape = info.get("n_classes"), info.get("image_shape")
    classes, features = info.get("class_names", []), info.get("feature_names", [])
    if not whole(C) or not 0 <= C <= 100_000 or not _names(classes) or not _names(features):
        raise SessionError("the embedded data's description in session.json is not valid")
    X = ar.array("data/X_train.npy", None)
    d = X.shape[1] if X.ndim == 2 else -1
    Xt = ar.array("data/X_test.npy", None)
    y_kind = "i" if C else "f"
    y, yt = ar.array("data/y_train.npy", None, y_kind), ar.array("data/y_test.npy", None, y_kind)
    ok = d > 0 and Xt.ndim == 2 and Xt.shape[1] == d and len(y) == len(X) and len(yt) == len(Xt)
    ok = ok and (y.ndim == yt.ndim == 1 if C else y.ndim == yt.ndim == 2
                 and y.shape[1] == yt.shape[1])
    if not ok:
        raise SessionError("the embedded data's arrays do not agree in shape")
    if C and (y.min(initial=0) < 0 or y.max(initial=0) >= C or yt.min(initial=0) < 0
              or yt.max(initial=0) >= C):
        raise SessionError(f"the embedded data holds labels outside 0..{C - 1}")
    if not all(np.all(np.isfinite(a)) for a in (X, Xt) + (() if C else (y, yt))):
        raise SessionError("the embedded data holds NaN or infinity")
    if (features and len(features) != d) or (classes and len(classes) != C):
        raise SessionError("the embedded data's names do not match its columns or classes")
    if shape is not None and not (isinstance(shape, list) and len(shape) == 2
                                  and all(whole(v) and v > 0 for v in shape)
                                  and shape[0] * shape[1] == d):
        raise SessionError("the embedded data's image shape does not match its columns")
    stats = [ar.array(f"data/{k}.npy", (d,)) if f"data/{k}.npy" in ar.infos else None
             for k in ("x_mean", "x_std")]
    if any(a is not None and not np.all(np.isfinite(a)) for a in stats):
        raise SessionError("the embedded data's standardisation holds NaN or infinity")
    name, desc = info.get("name", "data"), info.get("description", "")
    try:
        return Dataset(str(name), X, y.astype(np.int64) if C else y, Xt,
                       yt.astype(np.int64) if C else yt, int(C), tuple(classes),
                       tuple(features), tuple(shape) if shape else None, str(desc),
                       stats[0], stats[1])
    except BpvizError as exc:
        raise SessionError(f"the embedded data is not valid ({exc})") from None
