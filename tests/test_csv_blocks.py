"""The CSV block parser's fast path: the narrowest integer type, one array sized from the file.

Files of many small blocks (``BLOCK_BYTES`` patched) whose later blocks do not
fit what the first ones chose: whole numbers past int16, past int32, a decimal
far down, and rows much longer than the first block's (the array's size guess
too short). Every value must come back exactly as NumPy's float32 parser reads
it, row for row.
"""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import csvdata
from bpviz.engine.csvdata import load_csv


def _load_rows(path, n_features: int) -> np.ndarray:
    """All rows of the data set (train only: test_fraction 0), in file order by the
    row number kept in feature 0."""
    ds = load_csv(path, test_fraction=0)
    X = ds.X_train
    assert X.dtype == np.float32 and X.flags.c_contiguous and X.shape[1] == n_features
    return X[np.argsort(X[:, 0], kind="stable")]


def _expected(text: str) -> np.ndarray:
    return np.loadtxt(text.splitlines()[1:], delimiter=",", dtype=np.float32)[:, :-1]


@pytest.mark.parametrize("late", ["40000", "-70000", "3000000000", "12345678901234567890",
                                  "2.5", "1e3"])
def test_a_late_block_that_does_not_fit_the_first_blocks_type(tmp_path, monkeypatch, late):
    monkeypatch.setattr(csvdata, "BLOCK_BYTES", 200)
    rows = [f"{i},{i % 7},{i % 3}" for i in range(400)]
    rows[300] = f"300,{late},0"      # far past the first blocks, inside a block
    text = "row,v,label\n" + "\n".join(rows) + "\n"
    f = tmp_path / "late.csv"
    f.write_text(text)
    X = _load_rows(f, 2)
    want = _expected(text)
    assert np.array_equal(X, want)
    assert X[300, 1] == np.float32(float(late))


def test_rows_shorter_than_the_first_blocks_grow_the_array(tmp_path, monkeypatch):
    """The first block's long rows make the size guess far too small: the array
    grows, and no row is lost or repeated."""
    monkeypatch.setattr(csvdata, "BLOCK_BYTES", 300)
    long = [f"{i},{123456.25 + i},{-98765.5 * i},{i % 2}" for i in range(50)]
    short = [f"{i},0,0,{i % 2}" for i in range(50, 1000)]
    text = "row,a,b,label\n" + "\n".join(long + short) + "\n"
    f = tmp_path / "grow.csv"
    f.write_text(text)
    sizes = []
    real_add = csvdata._Rows.add

    def add(self, X, nbytes):
        real_add(self, X, nbytes)
        sizes.append(len(self.buf))

    monkeypatch.setattr(csvdata._Rows, "add", add)
    X = _load_rows(f, 3)
    assert len(set(sizes)) > 1 and sizes[0] < 1000     # it did grow
    assert len(X) == 1000
    assert np.array_equal(X, _expected(text))


def test_each_block_tries_only_the_types_that_can_still_fit(tmp_path, monkeypatch):
    """After a block past int16, no block tries int16 again; after a decimal, no
    block tries a whole-number type at all (each failed try parses part of a block)."""
    monkeypatch.setattr(csvdata, "BLOCK_BYTES", 200)
    rows = [f"{i},{i % 7},{i % 3}" for i in range(600)]
    rows[200] = "200,40000,0"
    rows[400] = "400,0.5,0"
    text = "row,v,label\n" + "\n".join(rows) + "\n"
    f = tmp_path / "types.csv"
    f.write_text(text)
    tried: list[tuple[str, int]] = []        # (dtype, first row number of the block)
    real = np.loadtxt

    def loadtxt(rows, dtype, **kw):
        tried.append((np.dtype(dtype).name, int(rows[0].split(",")[0])))
        return real(rows, dtype=dtype, **kw)

    real_decimals = csvdata.decimals

    def decimals(text, *args):
        X = real_decimals(text, *args)
        tried.append(("decimals" if X is not None else "no decimals",
                      int(text.lstrip().split(",")[0])))
        return X

    monkeypatch.setattr(csvdata.np, "loadtxt", loadtxt)
    monkeypatch.setattr(csvdata, "decimals", decimals)
    X = _load_rows(f, 2)
    monkeypatch.undo()
    assert np.array_equal(X, _expected(text))
    first16 = [r for t, r in tried if t == "int16"]
    assert first16 and max(first16) <= 200               # int16 until the block of 40000
    ints = [r for t, r in tried if t.startswith("int")]
    assert ints and max(ints) <= 400                     # none after the block of 0.5
    assert any(t == "decimals" and r > 400 for t, r in tried)   # the decimal parser then
    assert not any(t == "float32" and r > 400 for t, r in tried)


def test_the_array_is_sized_once_for_an_even_file(tmp_path, monkeypatch):
    """An even file: the first block's guess holds every row (no growth), and the
    guess is not far above the rows there are."""
    monkeypatch.setattr(csvdata, "BLOCK_BYTES", 1000)
    text = "row,a,label\n" + "".join(f"{i:04d},{i % 100:02d},{i % 2}\n" for i in range(3000))
    f = tmp_path / "even.csv"
    f.write_text(text)
    sizes = []
    real_add = csvdata._Rows.add

    def add(self, X, nbytes):
        real_add(self, X, nbytes)
        sizes.append(len(self.buf))

    monkeypatch.setattr(csvdata._Rows, "add", add)
    X = _load_rows(f, 2)
    assert np.array_equal(X, _expected(text))
    assert len(set(sizes)) == 1 and 3000 <= sizes[0] <= 3000 * 1.2
