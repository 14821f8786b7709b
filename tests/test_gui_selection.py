"""One selection model links every view: a W cell and its arrow, a neuron and its rows and
columns, a sample and its point, a click and its explanation (both notations).

The window tests use the real Controller and MainWindow (offscreen) on the circle preset:
2 inputs → 8 tanh → 1 sigmoid, so W¹ is 8×2 and a transpose cannot go unnoticed.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QToolTip  # noqa: E402

from bpviz.gui import notation as nt  # noqa: E402
from bpviz.gui.classroom.explain_view import num  # noqa: E402
from bpviz.gui.controller import Controller  # noqa: E402
from bpviz.gui.main_window import MainWindow  # noqa: E402
from bpviz.gui.selection import (  # noqa: E402
    NO_MARKS,
    Marks,
    Selected,
    Selection,
    SelectionModel,
    marks,
)
from bpviz.gui.views.heatmap import Heatmap  # noqa: E402

T = 20_000  # ms: generous limit for conditions on a loaded machine
NOTATIONS = ("out_in", "in_out")


# ------------------------------------------------------------ the model, without a window
def test_a_cell_round_trips_in_engine_orientation():
    for kind, cell in (("W", (5, 1)), ("dW", (0, 1)), ("z", (3, 7)), ("delta", (2, 4)),
                       ("a", (9, 1)), ("db", (0, 6))):
        sel = Selected.cell(kind, 0, *cell)
        assert sel.engine_cell() == cell, kind
    s = Selected.cell("delta", 1, 3, 0)
    assert (s.k, s.i, s.j) == (3, 0, -1) and s.neuron() == (1, 0) and s.edge() is None
    a = Selected.cell("a", 1, 4, 6)                  # column 6 of a¹: neuron 6 of layer 0
    assert a.neuron() == (0, 6) and a.sample() == 4
    assert Selected.cell("W", 2, 1, 0).edge() == (2, 1, 0)
    assert Selected("neuron", -1, i=1).neuron() == (-1, 1)   # an input x₂
    with pytest.raises(ValueError):
        Selected("edge")


def test_marks_follow_the_rules_and_transpose_for_display():
    n = 3
    m = marks(Selected("dW", 1, i=4, j=2), n)
    assert m[("W", 1)].cell == m[("dW", 1)].cell == (4, 2)
    assert m[("delta", 1)].col == 4 and m[("a", 1)].col == 2   # dW = (1/K) Σ δ_ki a_kj
    assert m[("W", 1)].display("W", "in_out").cell == (2, 4)
    assert m[("delta", 1)].display("delta", "in_out") == m[("delta", 1)]
    m = marks(Selected("neuron", 1, i=5), n)
    assert m[("W", 1)].row == m[("dW", 1)].row == 5           # arrows in
    assert m[("W", 2)].col == m[("dW", 2)].col == 5           # arrows out
    assert m[("z", 1)].col == m[("delta", 1)].col == m[("a", 2)].col == 5
    assert m[("db", 1)].cell == (0, 5) and ("a", 1) not in m
    assert m[("W", 1)].display("W", "in_out") == Marks(None, -1, 5)
    m = marks(Selected("neuron", -1, i=1), n)                  # input x₂
    assert m == {("a", 0): Marks(col=1), ("W", 0): Marks(col=1), ("dW", 0): Marks(col=1)}
    m = marks(Selected("sample", k=3), n)
    assert set(m) == {(k, i) for k in ("a", "z", "delta") for i in range(n)}
    assert all(v.row == 3 and v.cell is None for v in m.values())
    assert marks(None, n) == {} and marks(Selected("W", 7, i=0, j=0), n) == {}
    assert NO_MARKS.display("W", "in_out") == NO_MARKS


def test_hover_wins_over_the_sticky_selection(qtbot):
    model = SelectionModel()
    a, b = Selected("W", 0, i=1, j=0), Selected("sample", k=2)
    assert model.select(a) and not model.select(a)
    assert model.hover(b) and model.current() == b
    assert model.hover(None) and model.current() == a
    sel = Selection()
    got = []
    sel.hovered.connect(lambda v: got.append(("h", v)))
    sel.selected.connect(lambda v: got.append(("s", v)))
    sel.hover(b)
    sel.hover(b)                                     # the same: no second signal
    sel.select(a)
    sel.clear()
    assert got == [("h", b), ("s", a), ("h", None), ("s", None)]


# ------------------------------------------------------------ the heatmap API
def test_heatmap_cell_signals_click_and_outlines(qtbot):
    hm = Heatmap()
    qtbot.addWidget(hm)
    hm.resize(400, 300)
    hm.show()
    hm.raise_()                # over any window an earlier test left: it gets the mouse
    qtbot.waitExposed(hm)
    hm.set_matrix(np.arange(12.0).reshape(3, 4) - 5, "M — 3×4", "neuron i", "input j")
    vp = hm.graphics_view().viewport()
    with qtbot.waitSignal(hm.cellHovered) as sig:     # the mouse's path: hover_cell
        hm.hover_cell(2, 1)
    assert sig.args == [2, 1]
    QToolTip.hideText()        # the hover's tooltip window would take the clicks offscreen
    with qtbot.waitSignal(hm.cellClicked) as sig:
        QTest.mouseClick(vp, Qt.MouseButton.LeftButton, pos=hm.cell_center(1, 3).toPoint())
    assert sig.args == [1, 3]
    clicks = []
    hm.cellClicked.connect(lambda r, c: clicks.append((r, c)))
    hm.set_view_window(0, 2, 0, 2)                   # zoomed: a drag pans, it is no click
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, pos=hm.cell_center(1, 1).toPoint())
    QTest.mouseMove(vp, hm.cell_center(0, 0).toPoint())
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=hm.cell_center(0, 0).toPoint())
    assert clicks == []
    hm.reset_zoom()
    with qtbot.waitSignal(hm.cellHovered) as sig:
        hm.hover_cell(-1, -1)
    assert sig.args == [-1, -1]

    hm.highlight_cell(1, 2)
    hm.highlight_column(3)
    hm.highlight_rows([0])
    cv = hm.graphics_view()
    items = cv.selection_items()
    assert len(items) == 3                           # the cell (two lines) and the column
    c = hm.cell_center(1, 2)
    assert items[0].rect().center().x() == pytest.approx(c.x())
    assert items[0].rect().center().y() == pytest.approx(c.y())
    assert {type(it).__module__ for it in cv.scene().items()} == {"PySide6.QtWidgets"}
    for name in ("paint", "paintEvent", "drawBackground", "drawForeground", "drawItems"):
        assert all(name not in vars(cls) for cls in type(cv).__mro__
                   if not cls.__module__.startswith(("PySide6", "shiboken6"))), name
    hm.set_view_window(0, 1, 0, 4)                   # row 1 is outside the window: hidden
    assert len(cv.selection_items()) == 1
    hm.reset_zoom()
    hm.set_matrix(np.ones((3, 4)))                   # kept across frames
    assert hm.highlighted_cell() == (1, 2) and len(cv.selection_items()) == 3
    hm.highlight_cell(-1, -1)
    hm.highlight_column(-1)
    assert cv.selection_items() == []


# ------------------------------------------------------------ the window
@pytest.fixture
def window(qtbot, tmp_path):
    ctx = Controller("circle")
    s = QSettings(str(tmp_path / "bpviz.ini"), QSettings.Format.IniFormat)
    win = MainWindow(ctx, settings=s, restore_layout=False, save_layout=False)
    win.errors = []
    win.error_dialog = lambda title, text: win.errors.append(text)
    qtbot.addWidget(win)
    win.resize(1500, 1000)
    win.show()
    qtbot.waitExposed(win)
    mp = win.panels["matrices"]
    mp.set_layer(-1)
    mp.set_kinds(nt.KINDS)
    for _ in range(2):
        win.actions_.step.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot is not None and win.last_snapshot.step.step == 2,
                    timeout=T)
    yield ctx, win
    win.close()
    ctx.shutdown()


def show(qtbot, win, name):
    win.raise_view(name)
    qtbot.waitUntil(lambda: win.panels[name].isVisible(), timeout=T)
    qtbot.waitUntil(lambda: getattr(win.panels[name], "_snap", None) is not None, timeout=T)
    return win.panels[name]


def display(kind, r, c, notation):
    return (c, r) if nt.transposed(kind, notation) else (r, c)


@pytest.mark.parametrize("notation", NOTATIONS)
def test_a_W_cell_lights_its_arrow_and_the_arrow_its_cells(qtbot, window, notation):
    ctx, win = window
    ctx.set_notation(notation)
    mp, g = win.panels["matrices"], win.panels["graph"]
    i, j = 6, 1                                      # W¹[6, 1]: input 2 → neuron 7
    r, c = display("W", i, j, notation)
    assert mp.heatmap("W", 0).matrix().shape == ((8, 2) if notation == "out_in" else (2, 8))
    mp.heatmap("W", 0).hover_cell(r, c)
    assert ctx.selection.current() == Selected("W", 0, i=i, j=j, source="matrices")
    assert g.graphics_view()._hov["edge"] == (0, i, j)
    assert mp.heatmap("dW", 0).highlighted_cell() == (r, c)
    assert mp.heatmap("W", 1).highlighted_cell() == (-1, -1)
    mp.heatmap("W", 0).hover_cell(-1, -1)
    assert g.graphics_view()._hov["edge"] is None
    assert mp.heatmap("dW", 0).highlighted_cell() == (-1, -1)

    # and back: the real mouse on the arrow in the graph
    show(qtbot, win, "graph")
    cv = g.graphics_view()
    pos = next(p.toPoint() for t in np.linspace(0.2, 0.8, 13)
               if cv.hit(p := g.edge_point(0, i, j, t)) == ("edge", 0, i, j))
    with qtbot.waitSignal(g.edgeHovered) as sig:
        QTest.mouseMove(cv.viewport(), pos)
    assert sig.args == [0, i, j]
    for kind in ("W", "dW"):
        assert mp.heatmap(kind, 0).highlighted_cell() == (r, c), kind
    assert mp.heatmap("a", 0).highlighted_column() == -1   # a W cell reads no columns
    QTest.mouseClick(cv.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert ctx.selection.selected_value() == Selected("W", 0, i=i, j=j, source="graph")
    QTest.mouseMove(cv.viewport(), cv.viewport().rect().bottomLeft())
    qtbot.waitUntil(lambda: ctx.selection.hovered_value() is None, timeout=T)
    assert mp.heatmap("W", 0).highlighted_cell() == (r, c)          # the click stays
    assert cv.selected()["edge"] == (0, i, j)


@pytest.mark.parametrize("notation", NOTATIONS)
def test_a_neuron_lights_its_rows_columns_and_bias(qtbot, window, notation):
    ctx, win = window
    ctx.set_notation(notation)
    mp = win.panels["matrices"]
    g = show(qtbot, win, "graph")
    cv = g.graphics_view()
    QTest.mouseClick(cv.viewport(), Qt.MouseButton.LeftButton,
                     pos=g.node_point(0, 3).toPoint())            # neuron 4 of layer 1
    assert ctx.selection.selected_value() == Selected("neuron", 0, i=3, k=0, source="graph")
    assert cv.selected()["node"] == (1, 3)
    inout = notation == "in_out"
    for kind in ("W", "dW"):                          # row i: its arrows in (in×out: column)
        hm = mp.heatmap(kind, 0)
        assert (hm.highlighted_rows(), hm.highlighted_column()) == \
            (([], 3) if inout else ([3], -1)), kind
        hm = mp.heatmap(kind, 1)                      # and out, into the output neuron
        assert (hm.highlighted_rows(), hm.highlighted_column()) == \
            (([3], -1) if inout else ([], 3)), kind
    for kind, layer in (("z", 0), ("delta", 0), ("a", 1)):
        hm = mp.heatmap(kind, layer)
        assert hm.highlighted_column() == 3, kind
        assert hm.highlighted_rows() == [0], kind     # the sample its fill shows: k = 1
    assert mp.heatmap("db", 0).highlighted_cell() == (0, 3)
    assert mp.heatmap("a", 0).highlighted_column() == -1
    # an input x₂: column 2 of a⁰ = X and of W¹ (row 2 in in×out)
    QTest.mouseClick(cv.viewport(), Qt.MouseButton.LeftButton,
                     pos=g.node_point(-1, 1).toPoint())
    assert mp.heatmap("a", 0).highlighted_column() == 1
    hm = mp.heatmap("W", 0)
    assert (hm.highlighted_rows(), hm.highlighted_column()) == (([1], -1) if inout else ([], 1))


def test_a_sample_lights_its_rows_its_point_and_the_graph(qtbot, window):
    ctx, win = window
    mp, g, dv = win.panels["matrices"], win.panels["graph"], win.panels["data"]
    k = 5
    bi = mp._batch_index
    assert bi is not None and len(bi) > k
    with qtbot.waitSignal(ctx.selection.hovered):
        mp.heatmap("delta", 1).hover_cell(k, 0)
    for layer in range(2):
        for kind in ("a", "z", "delta"):
            assert mp.heatmap(kind, layer).highlighted_rows() == [k], (kind, layer)
        assert mp.heatmap("W", layer).highlighted_rows() == []
    assert mp.heatmap("delta", 1).highlighted_cell() == (k, 0)
    assert dv.highlighted() == int(bi[k])
    ring = dv._ring.getData()
    np.testing.assert_allclose([ring[0][0], ring[1][0]], ctx.dataset.X_train[int(bi[k])])
    assert g.selected_sample() == k                   # the nodes show sample k meanwhile
    assert g.graphics_view()._hov["node"] == (2, 0)   # δ²'s column 1: output neuron 1
    mp.heatmap("delta", 1).hover_cell(-1, -1)
    assert dv.highlighted() == -1 and g.selected_sample() == 0
    assert mp.heatmap("a", 0).highlighted_rows() == []


@pytest.mark.parametrize("notation", NOTATIONS)
def test_clicking_a_dW_cell_explains_exactly_that_cell(qtbot, window, notation):
    ctx, win = window
    ctx.set_notation(notation)
    mp = win.panels["matrices"]
    ev = show(qtbot, win, "explain")
    assert mp.isVisible()
    hm = mp.heatmap("dW", 0)
    i, j = 5, 0
    r, c = display("dW", i, j, notation)
    QTest.mouseClick(hm.graphics_view().viewport(), Qt.MouseButton.LeftButton,
                     pos=hm.cell_center(r, c).toPoint())
    assert ctx.selection.selected_value() == Selected("dW", 0, i=i, j=j, source="matrices")
    assert ev.selection() == ("dW", 0, i, j)
    ev.flush()
    step = ev._snap.step
    v = float(step.backprop.layers[0].dW[i, j])
    assert ev.last is not None and ev.last.value == pytest.approx(v, rel=1e-6)
    text = ev.text()
    assert num(v) in text and "✓ the same" in text
    rl, cl = nt.axis_labels("dW", notation)           # the displayed indices of the cell
    assert f"row {r + 1} ({rl}), column {c + 1} ({cl})" in text
    # it reads column i of δ¹ and column j of a⁰: outlined in their heatmaps
    assert mp.heatmap("delta", 0).highlighted_column() == i
    assert mp.heatmap("a", 0).highlighted_column() == j
    # an arrow is its W cell; a neuron its card
    ctx.selection.select(Selected("W", 1, i=0, j=2, source="graph"))
    assert ev.selection() == ("W", 1, 0, 2)
    ctx.selection.select(Selected("neuron", 0, i=2, k=3, source="graph"))
    assert ev.selection() == ("neuron", 0, 3, 2)
    assert "neuron 3 of layer 1, sample 4" in ev.text()
