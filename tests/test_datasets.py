"""Tests of bpviz.engine.datasets: generators, digits, CSV loading."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpviz.engine.datasets import (
    DATASETS,
    REGRESSION,
    SYNTHETIC_2D,
    Dataset,
    describe_datasets,
    load_csv,
    make_dataset,
)
from bpviz.engine.errors import DataError
from bpviz.engine.loaders import MAX_DATA_BYTES
from bpviz.resources import resources_dir

CLASSIFICATION = tuple(n for n in DATASETS if n not in REGRESSION)


def _all(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([ds.X_train, ds.X_test]), np.concatenate([ds.y_train, ds.y_test])


def _same(a: Dataset, b: Dataset) -> bool:
    return all(
        np.array_equal(getattr(a, f), getattr(b, f))
        for f in ("X_train", "y_train", "X_test", "y_test")
    )


# ------------------------------------------------------------------ registry


def test_registry() -> None:
    assert DATASETS == (
        "circle",
        "xor",
        "gauss",
        "spiral",
        "moons",
        "blobs",
        "plane",
        "reg_gauss",
        "digits",
    )
    assert REGRESSION == ("plane", "reg_gauss")
    assert set(SYNTHETIC_2D) == set(DATASETS) - {"digits"}
    info = describe_datasets()
    assert [d["name"] for d in info] == list(DATASETS)
    for d in info:
        assert set(d) == {"name", "task", "description"} and d["description"]
        assert d["task"] == ("regression" if d["name"] in REGRESSION else "classification")


def test_engine_imports_no_qt() -> None:
    code = (
        "import sys, bpviz.engine.datasets\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'shiboken6')]\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ generators


@pytest.mark.parametrize("name", DATASETS)
def test_shapes_dtypes_labels(name: str) -> None:
    ds = make_dataset(name, seed=1)
    X, y = _all(ds)
    assert isinstance(ds, Dataset) and ds.name == name
    for a in (ds.X_train, ds.X_test, ds.y_train, ds.y_test):
        assert a.flags.c_contiguous
    assert ds.X_train.dtype == np.float64 and ds.X_test.dtype == np.float64
    d = 64 if name == "digits" else 2
    assert ds.n_features == d and X.shape[1] == d and len(ds.feature_names) == d
    assert np.all(np.isfinite(X))
    assert len(X) == {"digits": 1797, "plane": 1200, "reg_gauss": 1200}.get(name, 500)
    assert len(ds.X_test) == round(0.2 * len(X))
    if name in REGRESSION:
        assert ds.task == "regression" and ds.n_classes == 0 and ds.class_names == ()
        assert ds.y_train.dtype == np.float64 and ds.y_train.shape == (len(ds.X_train), 1)
        assert ds.y_test.shape == (len(ds.X_test), 1) and ds.n_targets == 1
        assert np.all(np.abs(y) <= 1.5)
    else:
        C = {"digits": 10, "blobs": 3}.get(name, 2)
        assert ds.task == "classification" and ds.n_classes == C and ds.n_targets == 1
        assert ds.y_train.dtype == np.int64 and ds.y_train.ndim == 1
        assert ds.class_names == tuple(str(k) for k in range(C))
        assert set(np.unique(y)) == set(range(C))
    if name != "digits":
        assert ds.image_shape is None and np.abs(X).max() < 2.0


@pytest.mark.parametrize("name", DATASETS)
def test_reproducible(name: str) -> None:
    kw = {"n_samples": 200, "noise": 0.3}
    a, b = make_dataset(name, seed=7, **kw), make_dataset(name, seed=7, **kw)
    assert _same(a, b)
    assert a.X_train.tobytes() == b.X_train.tobytes()
    assert not _same(a, make_dataset(name, seed=8, **kw))


@pytest.mark.parametrize("tf,n_test", [(0.0, 0), (0.2, 20), (0.5, 50), (0.9, 90)])
@pytest.mark.parametrize("name", ["circle", "plane", "digits"])
def test_split_sizes(name: str, tf: float, n_test: int) -> None:
    ds = make_dataset(name, n_samples=100, test_fraction=tf)
    assert ds.X_test.shape == (n_test, ds.n_features)
    assert len(ds.y_test) == n_test and len(ds.X_train) == 100 - n_test
    # The split is a permutation: no row is lost or repeated.
    whole = make_dataset(name, n_samples=100, test_fraction=0.0)
    X, _ = _all(ds)
    key = np.lexsort(X.T)
    assert np.array_equal(X[key], whole.X_train[np.lexsort(whole.X_train.T)])


def test_tiny_split_keeps_a_train_row() -> None:
    ds = make_dataset("xor", n_samples=4, test_fraction=0.9)
    assert len(ds.X_train) >= 1 and len(ds.X_train) + len(ds.X_test) == 4


@pytest.mark.parametrize("name", SYNTHETIC_2D)
def test_noise_changes_data(name: str) -> None:
    clean = make_dataset(name, noise=0.0, seed=3)
    noisy = make_dataset(name, noise=0.5, seed=3)
    assert not _same(clean, noisy)


def test_clean_generators_follow_their_rule() -> None:
    X, y = _all(make_dataset("circle", noise=0))
    assert np.array_equal(y, (np.hypot(X[:, 0], X[:, 1]) < 2.5 / 6).astype(np.int64))
    X, y = _all(make_dataset("xor", noise=0))
    assert np.array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(np.int64))
    assert np.abs(X).min() >= 0.3 / 6 - 1e-12
    X, y = _all(make_dataset("plane", noise=0))
    np.testing.assert_allclose(y[:, 0], (X[:, 0] + X[:, 1]) * 0.6, atol=1e-12)
    X, y = _all(make_dataset("reg_gauss", noise=0))
    assert y.max() > 0.8 and y.min() < -0.8
    X, y = _all(make_dataset("gauss", noise=0))
    assert X[y == 1].mean() > 0.2 and X[y == 0].mean() < -0.2
    X, y = _all(make_dataset("moons", noise=0))  # on the two unit half circles
    P = X * 6 / 4 + [0.5, 0.25]
    np.testing.assert_allclose(np.hypot(*P[y == 0].T), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.hypot(P[y == 1, 0] - 1, P[y == 1, 1] - 0.5), 1.0, atol=1e-12)
    X, y = _all(make_dataset("spiral", noise=0))
    assert np.hypot(*X.T).max() <= 5 / 6 + 1e-12


@pytest.mark.parametrize("C", [2, 5, 10])
def test_blobs_classes(C: int) -> None:
    ds = make_dataset("blobs", n_classes=C, n_samples=400)
    X, y = _all(ds)
    assert ds.n_classes == C and len(ds.class_names) == C
    assert np.array_equal(np.bincount(y, minlength=C) >= 400 // C, np.ones(C, bool))
    means = np.array([X[y == k].mean(axis=0) for k in range(C)])
    # Class means are distinct points on a circle of radius 3.5/6.
    np.testing.assert_allclose(np.hypot(*means.T), 3.5 / 6, atol=0.1)


BAD_ARGS = [
    ({"name": "spirals"}, "unknown data set 'spirals'; choose one of circle, xor"),
    ({"name": 3}, "unknown data set"),
    ({"n_samples": 3}, "n_samples 3 is out of range; use an integer 4 to 1000000"),
    ({"n_samples": 1_000_001}, "out of range"),
    ({"n_samples": 100.0}, "not a whole number"),
    ({"n_samples": True}, "not a whole number"),
    ({"n_samples": "100"}, "not a whole number"),
    ({"noise": -0.1}, "noise -0.1 is out of range; use 0"),
    ({"noise": 1.5}, "out of range"),
    ({"noise": float("nan")}, "out of range"),
    ({"noise": float("inf")}, "out of range"),
    ({"noise": "0.1"}, "not a number"),
    ({"noise": None}, "not a number"),
    ({"test_fraction": 0.95}, "test_fraction 0.95 is out of range; use 0 to 0.9"),
    ({"test_fraction": -0.1}, "out of range"),
    ({"test_fraction": float("nan")}, "out of range"),
    ({"test_fraction": "0.2"}, "not a number"),
    ({"n_classes": 1}, "n_classes 1 is out of range; use an integer 2 to 10"),
    ({"n_classes": 11}, "out of range"),
    ({"n_classes": 2.5}, "not a whole number"),
    ({"seed": -1}, "seed -1 is out of range"),
    ({"seed": 1.5}, "not a whole number"),
    ({"name": "blobs", "n_classes": 10, "n_samples": 5}, "less than n_classes"),
]


@pytest.mark.parametrize("kwargs,match", BAD_ARGS)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    kwargs = {"name": "circle", **kwargs}
    with pytest.raises(DataError, match=match.replace("(", r"\(")) as info:
        make_dataset(kwargs.pop("name"), **kwargs)
    assert "\n" not in str(info.value) and ";" in str(info.value)  # what; how to fix


def test_numpy_scalars_are_accepted() -> None:
    ds = make_dataset(
        "blobs",
        n_samples=np.int64(40),
        noise=np.float32(0.1),
        test_fraction=np.float64(0.25),
        seed=np.uint8(2),
        n_classes=np.int32(4),
    )
    assert ds.n_classes == 4 and len(ds.X_test) == 10


# ------------------------------------------------------------------ digits


def test_digits() -> None:
    ds = make_dataset("digits", noise=0.7)  # noise is ignored
    X, y = _all(ds)
    assert X.shape == (1797, 64) and ds.image_shape == (8, 8)
    assert ds.n_classes == 10 and set(np.unique(y)) == set(range(10))
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.array_equal(X * 16, np.round(X * 16))  # pixel counts 0..16
    assert _same(ds, make_dataset("digits"))
    assert len(_all(make_dataset("digits", n_samples=100))[0]) == 100
    assert len(_all(make_dataset("digits", n_samples=5000))[0]) == 1797


def test_digits_file_loads_without_pickle() -> None:
    path = resources_dir() / "datasets" / "digits.npz"
    assert (resources_dir() / "datasets" / "README.md").is_file()
    with np.load(path, allow_pickle=False) as z:
        assert set(z.files) == {"X", "y"}
        assert z["X"].dtype == np.uint8 and z["X"].shape == (1797, 64) and z["X"].max() == 16
        assert np.array_equal(
            np.bincount(z["y"]), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
        )


# ------------------------------------------------------------------ Dataset


def test_dataset_properties_and_shape_check() -> None:
    X, lab, reg = np.zeros((4, 3)), np.zeros(4, np.int64), np.zeros((4, 2))
    ds = Dataset("r", X, reg, X[:0], reg[:0], n_classes=0)
    assert (ds.task, ds.n_features, ds.n_targets) == ("regression", 3, 2)
    ds = Dataset("c", X, lab, X[:1], lab[:1], n_classes=2)
    assert (ds.task, ds.n_targets) == ("classification", 1)
    with pytest.raises(DataError, match="inconsistent shapes"):
        Dataset("bad", X, lab[:3], X[:0], lab[:0], n_classes=2)
    with pytest.raises(DataError, match="inconsistent shapes"):
        Dataset("bad", X, lab, X[:0], lab[:0], n_classes=0)


# ------------------------------------------------------------------ CSV


def _write(tmp_path, data: str | bytes, name: str = "data.csv"):
    p = tmp_path / name
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


def test_csv_numeric_regression(tmp_path) -> None:
    rows = "\n".join(f"{i},{i * 0.5},{i * 0.25 + 0.1}" for i in range(40))
    ds = load_csv(_write(tmp_path, "a,b,y\n" + rows + "\n"), test_fraction=0.25, seed=3)
    assert ds.task == "regression" and ds.n_classes == 0 and ds.name == "data"
    assert ds.feature_names == ("a", "b") and ds.X_train.shape == (30, 2)
    assert ds.y_train.shape == (30, 1) and ds.y_test.shape == (10, 1)
    X, y = _all(ds)
    np.testing.assert_allclose(y[:, 0], X[:, 0] * 0.25 + 0.1)
    assert np.array_equal(np.sort(X[:, 0]), np.arange(40.0))
    assert "40 rows" in ds.description and "regression" in ds.description


def test_csv_integer_classes(tmp_path) -> None:
    rows = "\n".join(f"{i},{[-1, 1, 10][i % 3]}" for i in range(30))
    ds = load_csv(_write(tmp_path, "x,label\n" + rows), test_fraction=0.0)
    assert ds.task == "classification" and ds.class_names == ("-1", "1", "10")
    assert ds.X_test.shape == (0, 1) and ds.y_train.dtype == np.int64
    assert np.array_equal(ds.y_train, [0, 1, 2] * 10) or set(ds.y_train) == {0, 1, 2}
    X, y = ds.X_train[:, 0].astype(int), ds.y_train
    assert np.array_equal(y, X % 3)  # -1 -> 0, 1 -> 1, 10 -> 2


def test_csv_many_integers_are_regression(tmp_path) -> None:
    rows = "\n".join(f"{i},{i}" for i in range(25))
    assert load_csv(_write(tmp_path, "x,y\n" + rows)).task == "regression"


def test_csv_string_labels_named_target_bom_crlf(tmp_path) -> None:
    lines = ["species,len,width"] + [
        f'{["setosa", "virginica", "Alpha"][i % 3]},{i}.5,"{i * 2}"' for i in range(12)
    ]
    text = "\ufeff" + "\r\n".join(lines) + "\r\n\r\n\n  \n"
    ds = load_csv(_write(tmp_path, text, "iris.csv"), target="species", test_fraction=0.0)
    assert ds.name == "iris" and ds.feature_names == ("len", "width")
    assert ds.class_names == ("Alpha", "setosa", "virginica")  # sorted strings
    X, y = ds.X_train, ds.y_train
    assert X.shape == (12, 2) and np.array_equal(X[:, 1], X[:, 0] * 2 - 1)
    idx = (X[:, 0] - 0.5).astype(int) % 3  # 0 setosa, 1 virginica, 2 Alpha
    assert np.array_equal(y, np.array([1, 2, 0])[idx])


def test_csv_reproducible_split(tmp_path) -> None:
    p = _write(tmp_path, "x,y\n" + "\n".join(f"{i},{i % 2}" for i in range(50)))
    assert _same(load_csv(p, seed=1), load_csv(p, seed=1))
    assert not _same(load_csv(p, seed=1), load_csv(p, seed=2))


BROKEN_CSV = [
    ("", "is empty"),
    ("\n\n  \n", "is empty"),
    ("a,b,y\n", "no data rows"),
    ("a,b,y\n\n\n", "no data rows"),
    ("a,b,y\n1,2,0\n1,2\n", "line 3: 2 cells but the header has 3 columns"),
    ("a,b,y\n1,2,0,4\n", "4 cells but the header has 3"),
    (
        "x1,x2,y\n1,2,0\n1,2,1\n1,2,0\n1,2,1\n1,2,0\n1,abc,1\n",
        "line 7: 'abc' in column 'x2' is not a number",
    ),
    ("a,b,y\n1,,0\n", "column 'b' is empty"),
    ("a,b,y\n1,nan,0\n", "'nan' in column 'b' is not a finite number"),
    ("a,b,y\n1,inf,0\n", "not a finite number"),
    ("a,b,y\n1,1e999,0\n", "not a finite number"),
    ("a,b,y\n1,2,0\n3,4,nan\n", "target 'nan' in column 'y' is not a finite"),
    ("a,b,y\n1,2,\n", "target column 'y' is empty"),
    ("y\n1\n2\n", "only one column"),
    ("a;b;y\n1;2;0\n", "separated by ';'"),
    ("a,b,y\n1,2,cat\n3,4,cat\n", "only one class ('cat')"),
    ("a,b,y\n1,2,5\n3,4,5\n", "only one class ('5')"),
    ("1,2,3\n4,5,6\n", "looks like data; add a header row"),
    ("a,,y\n1,2,3\n", "column 2 has no name"),
    ("a,a,y\n1,2,3\n", "'a' appears twice"),
    ('a,b,y\n1,"2,0\n', "check the quotes"),
    ('a,b,y\n1,"2"x,0\n', "check the quotes"),
    (b"a,b,y\n1,2,0\n1,\xff,1\n", "line 3: byte 0xff is not UTF-8"),
    ("a,b,y\n1,\x00,0\n", "not a number"),
]


@pytest.mark.parametrize("text,match", BROKEN_CSV)
def test_broken_csv(tmp_path, text: str | bytes, match: str) -> None:
    with pytest.raises(DataError, match=match.replace("(", r"\(").replace(")", r"\)")) as info:
        load_csv(_write(tmp_path, text))
    msg = str(info.value)
    assert "\n" not in msg and ";" in msg and len(msg) < 300
    if isinstance(text, str) and "\n1" in text:
        assert "data.csv" in msg


def test_unknown_target_lists_columns(tmp_path) -> None:
    p = _write(tmp_path, "a,b,y\n1,2,0\n3,4,1\n")
    with pytest.raises(DataError, match="no column 'label'; choose one of: a, b, y"):
        load_csv(p, target="label")
    with pytest.raises(DataError, match="not a column name"):
        load_csv(p, target=2)
    with pytest.raises(DataError, match="test_fraction"):
        load_csv(p, test_fraction=1.0)
    with pytest.raises(DataError, match="seed"):
        load_csv(p, seed=-3)


def test_csv_file_problems(tmp_path, monkeypatch) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_csv(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="is a folder"):
        load_csv(tmp_path)
    with pytest.raises(DataError, match="not a file path"):
        load_csv(42)
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:  # sparse: costs no disk space
        f.truncate(MAX_DATA_BYTES + 1)
    assert MAX_DATA_BYTES >= 2**30  # MNIST-sized files are admitted
    with pytest.raises(DataError, match="over the limit of 2,048 MB; set BPVIZ_MAX_DATA_MB"):
        load_csv(big)
    small = _write(tmp_path, "a,y\n" + "1,0\n2,1\n" * 400_000)
    monkeypatch.setenv("BPVIZ_MAX_DATA_MB", "1")
    with pytest.raises(DataError, match="over the limit of 1 MB"):
        load_csv(small)
    monkeypatch.setenv("BPVIZ_MAX_DATA_MB", "lots")
    with pytest.raises(DataError, match="BPVIZ_MAX_DATA_MB='lots' is not a size"):
        load_csv(small)


def _load_or_data_error(path) -> None:
    try:
        ds = load_csv(path)
    except DataError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(ds, Dataset) and ds.X_train.dtype == np.float32
    assert np.all(np.isfinite(ds.X_train)) and len(ds.X_train) >= 1


_CSV_ALPHABET = st.sampled_from(list("0123456789.,-+e\n\r\"' ;\tabnNfi\x00\ufeffé"))
_NUMBER = st.one_of(
    st.integers(-3, 3).map(str), st.floats(width=32, allow_nan=False, allow_infinity=False).map(str)
)
_CELL = st.one_of(
    _NUMBER,
    st.sampled_from(["", " ", "a", "b", "nan", "-inf", '"', '"1"', '"1,2"', "1e999", "\ufeff"]),
    st.text(_CSV_ALPHABET, max_size=4),
)
_GOOD_ROW = st.lists(_NUMBER, min_size=3, max_size=3).map(",".join)
_ODD_ROW = st.lists(_CELL, min_size=1, max_size=4).map(",".join)
# CSV-like text: a header (usually valid), well-formed rows, then maybe an odd row.
_CSV_TEXT = st.tuples(
    st.sampled_from(["a,b,y\n", "\ufeffa,b,y\r\n", "a,b,y\n", "a,b,y\n", "x,1,\n", "1,2,3\n", ""]),
    st.lists(_GOOD_ROW, max_size=10),
    st.lists(_ODD_ROW, max_size=1),
    st.sampled_from(["\n", "\r\n", "\r"]),
).map(lambda t: t[0] + t[3].join(t[1] + t[2]))
_PROPS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_PROPS
@given(
    text=st.one_of(
        _CSV_TEXT, _CSV_TEXT, st.text(_CSV_ALPHABET, max_size=200), st.text(max_size=200)
    )
)
def test_property_arbitrary_text(tmp_path, text: str) -> None:
    _load_or_data_error(_write(tmp_path, text.encode("utf-8", "surrogatepass")))


@_PROPS
@given(data=st.binary(max_size=300), head=st.sampled_from([b"", b"a,b,y\n", b"a,b,y\n1,2,0\n"]))
def test_property_arbitrary_bytes(tmp_path, head: bytes, data: bytes) -> None:
    _load_or_data_error(_write(tmp_path, head + data))
