"""The network-graph panel: arrows coloured like the W heatmaps, nodes by activation,
thinning for digits, hover signals, per-neuron maps for 2-D data."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from bpviz.engine.functions import activate
from bpviz.gui import panels as registry
from bpviz.gui.snapshot_build import NEURON_GRID
from bpviz.gui.views.colormaps import map_signed
from bpviz.gui.views.demo import demo_run
from bpviz.gui.views.graph import NetworkGraph
from bpviz.gui.views.graph_canvas import GraphCanvas


def rgb(v: float, s: float) -> tuple[int, int, int]:
    return tuple(int(c) for c in map_signed(np.array([v], np.float32), s)[0, :3])


def smax(a: np.ndarray) -> float:
    return float(np.abs(a).max())


@pytest.fixture(scope="module")
def runs():
    return {name: demo_run(name, steps=25, frames=1, seed=1, compare=False)
            for name in ("xor", "spiral", "digits", "tied")}


def make(qtbot, run, w: int = 900, h: int = 600) -> NetworkGraph:
    g = NetworkGraph(run.ctx)
    qtbot.addWidget(g)
    g.resize(w, h)
    g.show()
    qtbot.waitExposed(g)
    g.show_snapshot(run.snapshots[-1])
    return g


def test_registered_tabbed_with_the_matrices():
    info = registry.panel("graph")
    assert info is not None and info.title == "Network graph"
    assert not info.visible_by_default and info.tab_with == "matrices"
    assert registry.panel_class(info) is NetworkGraph


def test_edge_colours_and_widths_follow_W(qtbot, runs):
    run = runs["spiral"]
    g = make(qtbot, run)
    step = run.snapshots[-1].step
    for layer, ly in enumerate(step.backprop.layers):
        W = step.weights[f"W{ly.owner}"]
        s = smax(W)
        m, n = W.shape
        widths = np.zeros((m, n))
        for i in range(m):
            for j in range(n):
                assert g.edge_color(layer, i, j) == rgb(W[i, j], s), (layer, i, j)
                widths[i, j] = g.edge_width(layer, i, j)
        order = np.argsort(np.abs(W).ravel(), kind="stable")
        assert np.all(np.diff(widths.ravel()[order]) >= 0)      # thicker by |W|
        assert widths.ravel()[order[-1]] > widths.ravel()[order[0]]
        b = step.weights[f"b{ly.owner}"]
        assert all(g.bias_color(layer, i) == rgb(b[i], s) for i in range(m))


def test_the_switch_shows_dW_or_the_step(qtbot, runs):
    run = runs["xor"]
    g = make(qtbot, run)
    step = run.snapshots[-1].step
    bp = step.backprop
    g.set_edge_quantity("dW")
    assert g._edge_box.currentData() == "dW"
    for layer, ly in enumerate(bp.layers):
        s = smax(ly.dW)
        for (i, j), v in np.ndenumerate(ly.dW):
            assert g.edge_color(layer, i, j) == rgb(v, s)
    g.set_edge_quantity("update")
    for layer, ly in enumerate(bp.layers):
        U = -np.float32(step.lr) * bp.grads[f"W{ly.owner}"]
        for (i, j), v in np.ndenumerate(U):
            assert g.edge_color(layer, i, j) == rgb(v, smax(U))
    assert "−η·dW" in g.caption()
    with pytest.raises(ValueError):
        g.set_edge_quantity("W2")
    g._edge_box.setCurrentIndex(0)                              # the combo box drives it too
    assert g.edge_quantity() == "W"
    W = step.weights["W0"]
    assert g.edge_color(0, 1, 0) == rgb(W[1, 0], smax(W))


def test_node_fill_is_the_activation_of_the_selected_sample(qtbot, runs):
    run = runs["spiral"]
    g = make(qtbot, run)
    bp = run.snapshots[-1].step.backprop
    cols = [bp.layers[0].a_prev] + [ly.a for ly in bp.layers]
    assert g.selected_sample() == 0                              # the first row by default

    def check(row):
        for c, A in enumerate(cols):
            vals = A.mean(axis=0) if row < 0 else A[row]
            for i, v in enumerate(vals):
                assert g.node_color(c - 1, i) == rgb(v, smax(A)), (row, c, i)

    check(0)
    g.select_sample(3)
    assert g._k_box.value() == 4 and "k = 4" in g.caption()
    check(3)
    g.select_sample(-1)
    assert g._node_box.currentIndex() == 1 and "batch mean" in g.caption()
    check(-1)
    g._node_box.setCurrentIndex(0)                               # back to sample k = 4
    check(3)


def test_digits_draw_the_strongest_arrows_and_say_so(qtbot, runs):
    run = runs["digits"]
    g = make(qtbot, run)
    step = run.snapshots[-1].step
    assert "Layer 1: showing the 3 strongest of 64 inputs per neuron" in g.caption()
    assert "96 of 2048 arrows" in g.caption()
    assert "Layer 2: showing" not in g.caption()                # 32×10 = 320: every arrow
    W = step.weights["W0"]
    s = smax(W)
    for i in range(W.shape[0]):
        top = set(np.argsort(-np.abs(W[i]))[:3])
        drawn = {j for j in range(64) if g.edge_color(0, i, j) is not None}
        assert drawn == top, i
        for j in top:
            assert g.edge_color(0, i, j) == rgb(W[i, j], s)
    assert all(g.edge_color(1, i, j) is not None for i in range(10) for j in range(32))
    heads = g.graphics_view().headers()
    assert heads[0] == "x\n64 inputs" and heads[2].startswith("layer 2 · output")
    assert g.graphics_view().labels(2) == [str(c) for c in run.ctx.dataset.class_names]
    # the thinned arrows follow dW when it is shown
    g.set_edge_quantity("dW")
    dW = step.backprop.layers[0].dW
    i = 5
    assert {j for j in range(64) if g.edge_color(0, i, j) is not None} == \
        set(np.argsort(-np.abs(dW[i]))[:3])
    assert "(by |dW|)" in g.caption()


def test_tied_layers_share_their_arrows(qtbot, runs):
    run = runs["tied"]
    g = make(qtbot, run)
    assert "Layer 2 reuses W¹" in g.caption()
    assert "W¹" in g.graphics_view().headers()[2]
    for i in range(2):
        for j in range(2):
            assert g.edge_color(1, i, j) == g.edge_color(0, i, j)


def test_hover_and_click_give_the_right_edge_and_neuron(qtbot, runs):
    run = runs["spiral"]
    g = make(qtbot, run)
    vp = g.graphics_view().viewport()
    # the last layer: 16 arrows into one neuron, apart near the neuron they come from
    for j in (0, 7, 15):
        pos = g.edge_point(3, 0, j, 0.1).toPoint()
        with qtbot.waitSignal(g.edgeHovered) as sig:
            QTest.mouseMove(vp, pos)
        assert sig.args == [3, 0, j]
        assert f"input {j + 1} → neuron 1" in g.readout()
    pos = g.node_point(1, 4).toPoint()
    with qtbot.waitSignal(g.neuronHovered) as sig:
        QTest.mouseMove(vp, pos)
    assert sig.args == [1, 4]
    assert g.readout().startswith("a²₅ = ")
    with qtbot.waitSignal(g.neuronHovered) as sig:
        QTest.mouseMove(vp, g.node_point(-1, 1).toPoint())
    assert sig.args == [-1, 1] and g.readout().startswith("x₂ = ")
    with qtbot.waitSignal(g.neuronClicked) as sig:
        QTest.mouseClick(vp, Qt.MouseButton.LeftButton, pos=g.node_point(0, 2).toPoint())
    assert sig.args == [0, 2] and g.graphics_view().selected()["node"] == (1, 2)
    with qtbot.waitSignal(g.edgeHovered) as sig:
        QTest.mouseMove(vp, QPoint(2, vp.height() - 2))          # empty corner: leave
    assert sig.args == [-1, -1, -1]


def test_select_api_draws_the_highlight(qtbot, runs):
    run = runs["digits"]
    g = make(qtbot, run)
    cv = g.graphics_view()
    W = run.snapshots[-1].step.weights["W0"]
    weak = int(np.argmin(np.abs(W[0])))
    g.select_edge(0, 0, weak)                                   # not drawn (thinned): outlined
    assert cv.selected()["edge"] == (0, 0, weak) and cv._sel_edge.isVisible()
    line = cv._sel_edge.line()
    assert line.p2().y() == pytest.approx(g.node_point(0, 0).y())
    g.select_edge(-1, -1, -1)
    assert not cv._sel_edge.isVisible()
    g.select_neuron(1, 9)
    assert cv._sel_node.isVisible()
    assert cv._sel_node.rect().center().y() == pytest.approx(g.node_point(1, 9).y())
    g.select_neuron(1, -1)
    assert not cv._sel_node.isVisible()


def test_neuron_maps_for_2d_data(qtbot, runs):
    snap = runs["xor"].snapshots[-1]
    maps = snap.neuron_maps
    spec = runs["xor"].ctx.spec
    assert [m.shape for m in maps] == [(NEURON_GRID, NEURON_GRID, ly.units) for ly in spec.layers]
    assert all(m.dtype == np.float32 for m in maps)
    # the first layer's map at grid point (row r, column c) is f(W x + b) there
    x0, x1, y0, y1 = snap.boundary_extent
    r, c = 5, 17
    x = np.array([x0 + c * (x1 - x0) / (NEURON_GRID - 1), y0 + r * (y1 - y0) / (NEURON_GRID - 1)])
    w = runs["xor"].net.get_weights()
    a = activate(spec.layers[0].activation, x[None] @ w["W0"].T.astype(np.float64) + w["b0"], np)
    assert np.allclose(maps[0][r, c], a[0], atol=1e-5)
    # the last layer's maps are the boundary at the corners (the same grid extent)
    assert np.allclose(maps[-1][0, 0], snap.boundary[0, 0], atol=1e-6)
    assert np.allclose(maps[-1][-1, -1], snap.boundary[-1, -1], atol=1e-6)
    g = make(qtbot, runs["xor"])
    items = g.graphics_view().map_items(1)
    assert len(items) == 2 and all(it.isVisible() for it in items)
    assert items[0].pixmap().width() == NEURON_GRID
    assert "each neuron's output over the input plane" in g.caption()
    # digits: 64 features, no maps
    assert runs["digits"].snapshots[-1].neuron_maps is None
    gd = make(qtbot, runs["digits"])
    assert gd.graphics_view().map_items(1) == []


def test_notation_and_presentation(qtbot, runs):
    run = runs["xor"]
    g = make(qtbot, run)
    colours = [g.edge_color(0, i, j) for i in range(2) for j in range(2)]
    g.graphics_view()._hovered = None
    g._hovered(("edge", 0, 1, 0))
    assert g.readout().startswith("W¹₂,₁ = ")
    run.ctx.set_notation("in_out")
    assert "in×out" in g.caption() and g.readout().startswith("W¹₁,₂ = ")
    assert [g.edge_color(0, i, j) for i in range(2) for j in range(2)] == colours
    run.ctx.set_notation("out_in")
    thin = g.edge_width(0, 0, 0)
    size = g._caption.font().pointSize()
    g.set_presentation(True)
    g.show_snapshot(run.snapshots[-1])
    assert g._caption.font().pointSize() > size
    assert g.edge_width(0, 0, 0) > thin
    g.set_presentation(False)


def test_the_canvas_is_painted_by_qt_alone():
    """Only Qt's own items and no Python paint method: Qt paints without the GIL."""
    for name in ("paint", "paintEvent", "drawBackground", "drawForeground", "drawItems"):
        assert name not in vars(GraphCanvas), name


def test_a_new_spec_rebuilds_and_a_stale_snapshot_is_ignored(qtbot, runs):
    import dataclasses

    run = runs["xor"]
    g = make(qtbot, run)
    spec = run.ctx.spec
    layers = list(spec.layers)
    layers[0] = dataclasses.replace(layers[0], units=5)
    run.ctx.set_spec(dataclasses.replace(spec, layers=tuple(layers)))
    try:
        assert g.graphics_view().columns() == [2, 5, 1]
        g.show_snapshot(run.snapshots[-1])                      # shapes of the old network
        assert g.edge_color(0, 4, 0) == rgb(0.0, 1.0)           # untouched, no error
    finally:
        run.ctx.set_spec(spec)


def test_a_square_input_is_shown_as_its_picture(qtbot, runs):
    """Digits (64 = 8²): the graph shows sample k of the input layer as the image it is;
    2-D data has no picture."""
    from bpviz.gui.views.digit_grid import to_qimage

    g = make(qtbot, runs["digits"])
    pix = g.input_image()
    assert pix is not None and not pix.isNull()
    X = runs["digits"].snapshots[-1].step.backprop.layers[0].a_prev
    g.select_sample(3)
    g.show_snapshot(runs["digits"].snapshots[-1])
    qtbot.waitUntil(lambda: g.input_image() is not None, timeout=5000)
    want = to_qimage(X[3], (8, 8)).scaled(48, 48)
    got = g.input_image().toImage().convertToFormat(want.format())
    assert got.size() == want.size()
    assert all(got.pixelColor(x, y).red() == want.pixelColor(x, y).red()
               for x in range(0, 48, 6) for y in range(0, 48, 6))
    assert make(qtbot, runs["xor"]).input_image() is None
