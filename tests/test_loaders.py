"""Tests of the data file readers: CSV at scale, .npz, IDX (gzipped or not), limits."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from bpviz.cli import main
from bpviz.engine import csvdata
from bpviz.engine.csvdata import load_csv
from bpviz.engine.errors import DataError
from bpviz.engine.loaders import ImportCancelled, file_kind, load_idx, load_npz
from bpviz.engine.presets import DataChoice


def _idx(a: np.ndarray, code: int = 0x08) -> bytes:
    return bytes([0, 0, code, a.ndim]) + np.array(a.shape, ">u4").tobytes() + a.tobytes()


def _mnist_pair(folder: Path, n: int = 60, gz: bool = True, seed: int = 0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (n, 4, 3), dtype=np.uint8)
    lab = rng.integers(0, 10, n).astype(np.uint8)
    lab[:10] = np.arange(10)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    write = (lambda p, b: gzip.open(p, "wb").write(b)) if gz else (lambda p, b: p.write_bytes(b))
    write(folder / f"train-images-idx3-ubyte{suffix}", _idx(img))
    write(folder / f"train-labels-idx1-ubyte{suffix}", _idx(lab))
    return folder / f"train-images-idx3-ubyte{suffix}", img, lab


def _rows_by_feature(ds) -> dict:
    X = np.concatenate([ds.X_train, ds.X_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    return {tuple(r): int(v) for r, v in zip(X.tolist(), y.tolist(), strict=True)}


# ------------------------------------------------------------------ IDX


@pytest.mark.parametrize("gz", [True, False])
def test_idx_pair_gz_and_plain(tmp_path, gz) -> None:
    path, img, lab = _mnist_pair(tmp_path / "mnist", gz=gz)
    assert file_kind(path) == "idx"
    ds = load_idx(path, test_fraction=0.25, seed=1)
    assert ds.image_shape == (4, 3) and ds.n_features == 12 and ds.n_classes == 10
    assert ds.X_train.dtype == np.float32 and len(ds.X_train) == 45 and len(ds.X_test) == 15
    got = _rows_by_feature(ds)
    want = {tuple((r.reshape(-1) / np.float32(255)).astype(np.float32).tolist()): int(v)
            for r, v in zip(img, lab, strict=True)}
    assert got == want
    assert ds.class_names == tuple(str(k) for k in range(10))


def test_idx_fashion_names_and_data_choice(tmp_path) -> None:
    path, _, _ = _mnist_pair(tmp_path / "fashion-mnist")
    d = DataChoice("idx", csv_path=str(path))
    assert not d.standardizes
    ds = d.load()
    assert ds.class_names[0] == "T-shirt/top" and ds.X_train.max() <= 1.0
    assert DataChoice.from_dict(d.to_dict()) == d


def test_idx_hostile_files(tmp_path) -> None:
    path, img, lab = _mnist_pair(tmp_path / "a", gz=False)
    path.write_bytes(_idx(img) + b"extra")
    with pytest.raises(DataError, match="bytes after the"):
        load_idx(path)
    path.write_bytes(_idx(img)[:-5])
    with pytest.raises(DataError, match="ends early"):
        load_idx(path)
    huge = bytes([0, 0, 8, 3]) + np.array([60000, 5000, 5000], ">u4").tobytes() + b"\0" * 64
    path.write_bytes(huge)  # declares 1.5 TB: refused before reading
    with pytest.raises(DataError, match="declares .* over the limit"):
        load_idx(path)
    path.write_bytes(b"PK\3\4 not idx at all")
    with pytest.raises(DataError, match="not an IDX file"):
        load_idx(path)
    lonely = tmp_path / "b" / "t10k-images-idx3-ubyte"
    lonely.parent.mkdir()
    lonely.write_bytes(_idx(img))
    with pytest.raises(DataError, match="no labels file t10k-labels-idx1-ubyte"):
        load_idx(lonely)
    path.write_bytes(_idx(img))
    (path.parent / "train-labels-idx1-ubyte").write_bytes(_idx(lab[:-1]))
    with pytest.raises(DataError, match="same N"):
        load_idx(path)


# ------------------------------------------------------------------ npz


def test_npz_classes_images_regression(tmp_path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    f = tmp_path / "a.npz"
    np.savez(f, X=X, y=np.array(["cat", "dog"] * 25))
    ds = load_npz(f, test_fraction=0.2)
    assert file_kind(f) == "npz" and ds.class_names == ("cat", "dog") and ds.n_features == 3
    assert ds.X_train.dtype == np.float32 and len(ds.X_test) == 10
    np.savez(f, X=rng.integers(0, 9, (20, 2, 2)), y=np.arange(20) % 3)
    ds = load_npz(f)
    assert ds.image_shape == (2, 2) and ds.n_classes == 3
    np.savez(f, X=X, y=X[:, :2] * 3.5)
    ds = DataChoice("npz", csv_path=str(f)).load()  # standardised like a CSV
    assert ds.task == "regression" and ds.n_targets == 2
    assert np.allclose(ds.X_train.mean(axis=0), 0, atol=1e-5)


@pytest.mark.parametrize("arrays,match", [
    ({"X": np.zeros((3, 2))}, "no array 'y'"),
    ({"X": np.zeros((3, 2)), "y": np.zeros(4)}, "y has shape"),
    ({"X": np.zeros(3), "y": np.zeros(3)}, "X has shape"),
    ({"X": np.full((3, 2), np.nan), "y": np.arange(3)}, "column 'x1' of X holds NaN"),
    ({"X": np.array([[1.0, 1e35]] * 3), "y": np.arange(3)}, "column 'x2' has values up to"),
    ({"X": np.zeros((25, 1)), "y": np.arange(25) * 1e30}, "too large to learn"),
    ({"X": np.zeros((5000, 1)), "y": np.arange(5000)}, "has 5,000 classes"),
])
def test_npz_refused(tmp_path, arrays, match) -> None:
    f = tmp_path / "bad.npz"
    np.savez(f, **arrays)
    with pytest.raises(DataError, match=match):
        load_npz(f)


def test_npz_not_a_zip_and_pickles(tmp_path) -> None:
    f = tmp_path / "bad.npz"
    f.write_bytes(b"hello")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_npz(f)
    np.savez(f, X=np.zeros((2, 2)), y=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DataError, match="not a readable .npz"):
        load_npz(f)


# ------------------------------------------------------------------ CSV at scale


def test_csv_blocks_agree_with_cell_by_cell(tmp_path, monkeypatch) -> None:
    """Many blocks, a quoted cell in a late block (spanning a block end), CRLF:
    the fast and the csv-module paths give the same rows."""
    monkeypatch.setattr(csvdata, "BLOCK_BYTES", 256)
    rng = np.random.default_rng(3)
    rows = [f"{a:.5g},{b},{c}" for a, b, c in zip(rng.normal(size=300),
                                                    rng.integers(-9, 9, 300), "xyz" * 100,
                                                    strict=True)]
    plain = "p,q,label\r\n" + "\r\n".join(rows) + "\r\n"
    quoted = "p,q,label\n" + "\n".join(rows[:250]) + '\n"1.5","2\n",x\n' + \
        "\n".join(rows[250:]) + "\n"
    a = load_csv(tmp_path.joinpath("a.csv").write_text(plain) and tmp_path / "a.csv",
                 test_fraction=0)
    assert len(a.X_train) == 300 and a.class_names == ("x", "y", "z")
    b = load_csv(tmp_path.joinpath("b.csv").write_text(quoted) and tmp_path / "b.csv",
                 test_fraction=0)  # "2\n" is the number 2, its record two lines long
    assert len(b.X_train) == 301
    tmp_path.joinpath("c.csv").write_text(quoted.replace('"2\n"', '"2\nq"') + "1,2,x\n1,2\n")
    with pytest.raises(DataError, match=r"line 253: '2\\nq' in column 'q' is not a number"):
        load_csv(tmp_path / "c.csv")
    tmp_path.joinpath("c.csv").write_text(quoted + "1,2,x\n1,2\n")
    with pytest.raises(DataError, match="line 305: 2 cells"):
        load_csv(tmp_path / "c.csv")
    assert _rows_by_feature(a).items() <= _rows_by_feature(b).items()


def test_csv_late_errors_name_their_line(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(csvdata, "BLOCK_BYTES", 64)
    body = "".join(f"{i},{i % 2}\n" for i in range(500))
    for bad, match in (("7,\n", "line 402: the target column 'y' is empty"),
                       ("x,1\n", "line 402: 'x' in column 'a' is not a number"),
                       ("1,2,3\n", "line 402: 3 cells"),
                       ("1,nan\n", "line 402: target 'nan'"),
                       ("1e308,1\n", "line 402: column 'a' has values up to 1e\\+308, too "
                                     "large to standardise")):
        lines = body.splitlines(keepends=True)
        lines[400] = bad
        f = tmp_path / "late.csv"
        f.write_text("a,y\n" + "".join(lines))
        with pytest.raises(DataError, match=match):
            load_csv(f)


def test_csv_float32_and_whole_numbers(tmp_path) -> None:
    f = tmp_path / "px.csv"
    f.write_text("a,b,label\n" + "".join(f"{i},{255 - i},{i % 3}\n" for i in range(256)))
    ds = load_csv(f, test_fraction=0)
    assert ds.X_train.dtype == np.float32 and ds.X_train.flags.c_contiguous
    assert np.array_equal(np.sort(ds.X_train[:, 0]), np.arange(256, dtype=np.float32))
    assert np.array_equal(ds.y_train, ds.X_train[:, 0].astype(int) % 3)


def test_csv_contents_refused_in_words(tmp_path) -> None:
    f = tmp_path / "c.csv"
    f.write_text("x1,x2,x3,y\n" + "".join(f"{i},1,{1e308 if i == 5 else i},{i % 2}\n"
                                          for i in range(20)))
    with pytest.raises(DataError, match="column 'x3' has values up to 1e\\+308, too large "
                                        "to standardise"):
        load_csv(f)
    f.write_text("x,y\n" + "".join(f"{i},{i * 1e29 + 0.5}\n" for i in range(30)))
    with pytest.raises(DataError, match="target 'y' has values up to .*too large to learn"):
        load_csv(f)
    f.write_text("x,y\n" + "".join(f"{i},c{i}\n" for i in range(10_000)))
    with pytest.raises(DataError, match=r"the target 'y' has 10,000 classes \(at most 4,096\)"):
        load_csv(f)


def test_progress_and_cancel(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(csvdata, "BLOCK_BYTES", 100)
    f = tmp_path / "p.csv"
    f.write_text("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(300)))
    seen: list[float] = []
    load_csv(f, progress=lambda x: seen.append(x) or True)
    assert seen[0] == 0 and seen[-1] == 1 and seen == sorted(seen) and len(seen) > 5
    calls: list[float] = []
    with pytest.raises(ImportCancelled, match="cancelled"):
        load_csv(f, progress=lambda x: calls.append(x) or len(calls) < 3)
    assert len(calls) == 3


def test_size_limit_is_a_setting(tmp_path, monkeypatch) -> None:
    path, _, _ = _mnist_pair(tmp_path / "m", gz=False, n=3000)
    monkeypatch.setenv("BPVIZ_MAX_DATA_MB", "0.01")
    with pytest.raises(DataError, match="over the limit of 0 MB|BPVIZ_MAX_DATA_MB"):
        load_idx(path)


# ------------------------------------------------------------------ command line


def test_cli_trains_on_npz_and_idx(tmp_path, capsys) -> None:
    path, _, _ = _mnist_pair(tmp_path / "mnist", n=80)
    assert main(["train", "--data", str(path), "--steps", "3", "--batch", "8"]) == 0
    f = tmp_path / "d.npz"
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    np.savez(f, X=X, y=(X[:, 0] > 0).astype(int))
    assert main(["train", "--data", str(f), "--steps", "3", "--batch", "8"]) == 0
    assert main(["train", "--data", str(tmp_path / "no.npz"), "--steps", "3"]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "Traceback" not in err
    assert main(["train", "--data", str(f), "--target", "y"]) == 2
    assert "--target names a column of a CSV file" in capsys.readouterr().err


def test_help_names_the_limit(capsys) -> None:
    assert main(["train", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "BPVIZ_MAX_DATA_MB" in out and ".npz" in out and "idx3-ubyte" in out
