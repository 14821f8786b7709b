"""The CSV reader's vectorised decimal parser: bit for bit ``np.float32(float(cell))``.

``_words`` parses plain cells (``-?digits(.digits)?``, at most 8 characters) 64
bits at a time; every other cell (exponents, ``+``, spaces, many digits) is left
to :func:`float` one by one, or the whole block to ``np.loadtxt``. Each value
must be the float32 nearest to the float64 that ``float`` gives (the same double
rounding as ``np.float32(float(cell))``), and every message of the slow path
must stay as it was.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from bpviz.engine import csv_decimals, csvdata
from bpviz.engine.csvdata import load_csv
from bpviz.engine.errors import DataError

_PLAIN = re.compile(r"-?(\d+\.?\d*|\.\d+)")


def _bits(x) -> np.ndarray:
    return np.asarray(x, np.float32).view(np.uint32)


def _want(cells: list[str]) -> np.ndarray:
    return np.array([np.float32(float(c)) for c in cells], np.float32)


def _token(rng: random.Random) -> str:
    """A random cell: mostly decimals of 1 to 12 characters, some with a sign, an
    exponent, spaces, or anything from an alphabet of number characters."""
    r = rng.random()
    if r < 0.1:
        return "".join(rng.choice("0123456789.-+eE :;<=>?/x") for _ in range(rng.randint(0, 9)))
    digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 11)))
    if rng.random() < 0.7:
        q = rng.randint(0, len(digits))
        digits = digits[:q] + "." + digits[q:]
    if rng.random() < 0.3:
        digits = "-" + digits
    if r > 0.9:
        digits += f"e{rng.randint(-45, 40)}"
    return digits


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_plain_cells_are_exact_and_only_they_are_taken():
    """Every cell that matches ``-?digits(.digits)?`` in at most 8 characters is
    taken and bit-exact; no other cell is taken (they go to float())."""
    rng = random.Random(13)
    ncols = 9
    cells = [_token(rng) for _ in range(ncols * 20_000)]
    cells = [c.replace(",", "") for c in cells]
    text = "".join(",".join(cells[i: i + ncols]) + "\n" for i in range(0, len(cells), ncols))
    V, ok, ends = csv_decimals._words(text.encode(), ncols)
    assert V.shape == (20_000, ncols) and ok.shape == ends.shape == (len(cells),)
    plain = np.array([len(c) <= 8 and _PLAIN.fullmatch(c) is not None for c in cells])
    assert np.array_equal(ok, plain)
    assert plain.sum() > len(cells) // 3 and (~plain).sum() > len(cells) // 10
    taken = [c for c, p in zip(cells, plain, strict=True) if p]
    assert np.array_equal(_bits(V.reshape(-1)[plain]), _bits(_want(taken)))


@pytest.mark.parametrize("cell", ["0", "-0", "-0.0", ".5", "5.", "-.5", "99999999", "0.000001",
                                  "-1234567", "1234.567", "0.3", "0.1", "16777217", "3.402823",
                                  "-.000001", "1.000001", "0.999999"])
def test_edge_cells(cell):
    """Signed zeros, a bare leading or trailing dot, 8 digits, halfway and
    double-rounding cases of float32."""
    V, ok, _ = csv_decimals._words(f"{cell},1\n".encode(), 2)
    assert ok[0]
    assert _bits(V[0, 0]) == _bits(np.float32(float(cell)))


@pytest.mark.parametrize("cell", ["", "-", ".", "-.", "--1", "1-", ".-5", "1.2.", "+1", " 1",
                                  "1 ", "1e5", "nan", "123456789", "1:5", "?", "12/3", "5>",
                                  "-12345678", "0x1", "1_0"])
def test_cells_that_are_not_plain(cell):
    _, ok, _ = csv_decimals._words(f"{cell},1\n".encode(), 2)
    assert not ok[0]


def _csv(tmp_path, cells: list[str], ncols: int, name: str = "d.csv"):
    rows = [cells[i: i + ncols] for i in range(0, len(cells), ncols)]
    head = ",".join(f"x{j}" for j in range(ncols)) + ",label\n"
    f = tmp_path / name
    f.write_text(head + "".join(",".join(r) + f",{k % 3}\n" for k, r in enumerate(rows)))
    return f


@pytest.mark.parametrize("odd_share", [0.03, 0.5])
def test_files_of_decimals_with_exponents_and_many_digits(tmp_path, monkeypatch, odd_share):
    """A few odd cells (float() one by one) or many (the block to np.loadtxt): the
    same bits either way, through small blocks and pieces."""
    monkeypatch.setattr(csvdata, "BLOCK_BYTES", 8000)
    monkeypatch.setattr(csv_decimals, "PIECE_BYTES", 2000)
    rng = random.Random(7)
    ncols, n = 20, 600
    cells = []
    for _ in range(ncols * n):
        if rng.random() < odd_share:
            c = rng.choice([f"{rng.uniform(-1e3, 1e3):.12g}", f"{rng.random():e}",
                            f"{rng.random():.9f}", f"+{rng.random():.3f}"])
        else:
            c = f"{rng.uniform(-9, 9):.{rng.randint(0, 5)}f}"
        cells.append(c)
    pieces = []
    real = csv_decimals._plain_cells

    def plain_cells(*args):
        V = real(*args)
        pieces.append(V is not None)
        return V

    monkeypatch.setattr(csv_decimals, "_plain_cells", plain_cells)
    ds = load_csv(_csv(tmp_path, cells, ncols), test_fraction=0)
    assert all(pieces) if odd_share < 0.05 else not any(pieces)
    want = _want(cells).reshape(n, ncols)
    got = ds.X_train
    order = np.lexsort(got.T[::-1])
    assert np.array_equal(_bits(got[order]), _bits(want[np.lexsort(want.T[::-1])]))


def test_decimal_blocks_go_through_the_vectorised_parser(tmp_path, monkeypatch):
    """Class names in a middle target column; the decimal parser takes every block
    (np.loadtxt float32 is never asked)."""
    monkeypatch.setattr(csvdata, "BLOCK_BYTES", 2000)
    rng = np.random.default_rng(3)
    X = np.round(rng.uniform(-5, 5, (500, 6)), 4)
    lines = ["a,b,c,kind,d,e,f"] + [
        ",".join([*(f"{v:g}" for v in r[:3]), ["cat", "dog"][i % 2], *(f"{v:g}" for v in r[3:])])
        for i, r in enumerate(X)]
    f = tmp_path / "mid.csv"
    f.write_text("\n".join(lines) + "\n")
    real = np.loadtxt
    dtypes = []

    def loadtxt(rows, dtype, **kw):
        dtypes.append(np.dtype(dtype).name)
        return real(rows, dtype=dtype, **kw)

    monkeypatch.setattr(csvdata.np, "loadtxt", loadtxt)
    ds = load_csv(f, target="kind", test_fraction=0)
    assert "float32" not in dtypes
    assert ds.class_names == ("cat", "dog") and ds.X_train.shape == (500, 6)
    want = X.astype(np.float32)
    assert np.array_equal(np.sort(ds.X_train, axis=0), np.sort(want, axis=0))


@pytest.mark.parametrize(("bad", "says"), [
    ("abc", "'abc' in column 'x3' is not a number"),
    ("nan", "'nan' in column 'x3' is not a finite number"),
    ("1e31", "column 'x3'"),
    ("", "column 'x3' is empty"),
])
def test_a_bad_cell_in_a_decimal_block_is_blamed_on_its_line(tmp_path, bad, says):
    cells = [f"{(i % 97) / 8:.3f}" for i in range(10 * 300)]
    cells[10 * 250 + 3] = bad
    with pytest.raises(DataError) as err:
        load_csv(_csv(tmp_path, cells, 10))
    assert "line 252" in str(err.value) and says in str(err.value)


def test_a_short_row_in_a_decimal_block_is_blamed_on_its_line(tmp_path):
    f = tmp_path / "short.csv"
    rows = [f"{i / 7:.4f},{i / 3:.4f},{i % 2}" for i in range(400)]
    rows[123] = "0.5,1"
    f.write_text("a,b,y\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match="line 125: 2 cells but the header has 3 columns"):
        load_csv(f)


def test_every_short_string_of_number_characters():
    """All strings of up to 6 characters over ``09.-/:`` (the bytes around the
    digits too): taken exactly when plain, and then exact."""
    import itertools

    cells = ["".join(t) for n in range(7) for t in itertools.product("09.-/:", repeat=n)]
    ncols = 8
    cells += ["0"] * (-len(cells) % ncols)
    text = "".join(",".join(cells[i: i + ncols]) + "\n" for i in range(0, len(cells), ncols))
    V, ok, _ = csv_decimals._words(text.encode(), ncols)
    plain = np.array([_PLAIN.fullmatch(c) is not None for c in cells])
    assert np.array_equal(ok, plain)
    taken = [c for c, p in zip(cells, plain, strict=True) if p]
    assert np.array_equal(_bits(V.reshape(-1)[plain]), _bits(_want(taken)))
