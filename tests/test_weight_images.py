"""The "Weights as images" panel: tile i is row i of W¹ (or dW¹) reshaped to the input
image, on one symmetric scale; inputs that are not images get a sentence, not tiles.
And the graph–matrix preset loads and opens its panels."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_spec

from bpviz.engine import Network
from bpviz.engine.datasets import Dataset
from bpviz.engine.presets import VIEWS, load_preset
from bpviz.engine.trainer import Trainer
from bpviz.gui.views.colormaps import map_signed
from bpviz.gui.views.demo import DemoContext, demo_run
from bpviz.gui.views.input_images import (
    MAX_TILES,
    WeightImages,
    grid_shape,
    input_image_shape,
    mosaic,
)


def test_input_image_shape():
    assert input_image_shape(64) == (8, 8)
    assert input_image_shape(784) == (28, 28)
    assert input_image_shape(6, (2, 3)) == (2, 3)        # the data set's own shape wins
    assert input_image_shape(64, (4, 4)) == (8, 8)       # ... if it has the right size
    for n in (0, 2, 9, 63, 65, 100 - 1):
        assert input_image_shape(n) is None
    assert grid_shape(32) == (6, 6) and grid_shape(30) == (5, 6)
    assert grid_shape(1) == (1, 1) and grid_shape(64) == (8, 8)


@pytest.fixture(scope="module")
def digits():
    return demo_run("digits", steps=6, frames=1, compare=False)


def _panel(qtbot, ctx) -> WeightImages:
    p = WeightImages(ctx)
    qtbot.addWidget(p)
    p.resize(700, 500)
    p.show()
    return p


def test_tile_i_is_row_i_of_w1_reshaped(qtbot, digits):
    p = _panel(qtbot, digits.ctx)
    step = digits.snapshots[-1].step
    p.show_snapshot(digits.snapshots[-1])
    W = step.weights["W0"]
    assert p.image_shape() == (8, 8) and p.tile_count() == W.shape[0]
    for i in (0, 5, W.shape[0] - 1):
        np.testing.assert_array_equal(p.tile(i), W[i].reshape(8, 8))
    assert p.scale() == pytest.approx(float(np.abs(W).max()))
    # the pixels drawn: tile 5 sits at grid position divmod(5, cols), 1 px gaps
    rgba = p.rgba()
    cols = grid_shape(W.shape[0])[1]
    r, c = divmod(5, cols)
    got = rgba[r * 9:r * 9 + 8, c * 9:c * 9 + 8]
    np.testing.assert_array_equal(got, map_signed(W[5].reshape(8, 8), p.scale()))
    p.set_kind("dW")
    dW = step.backprop.layers[0].dW
    np.testing.assert_array_equal(p.tile(3), dW[3].reshape(8, 8))
    assert p.scale() == pytest.approx(float(np.abs(dW).max()))
    assert "dW¹" in p._scale.text()
    digits.ctx.set_notation("in_out")
    assert "column i of dW¹" in p._header.text()
    digits.ctx.set_notation("out_in")
    assert "row i of dW¹" in p._header.text()


def test_any_square_input_is_an_image_and_other_inputs_are_not(qtbot):
    rng = np.random.default_rng(0)
    X = rng.random((40, 784), dtype=np.float32)
    y = rng.integers(0, 3, 40)
    ds = Dataset("pixels", X[:32], y[:32], X[32:], y[32:], n_classes=3,
                 class_names=("a", "b", "c"))
    assert ds.image_shape is None                        # a 784-column CSV/npz says nothing
    spec = make_spec(784, [(300, "relu")], (3, "softmax"), "cross_entropy")
    tr = Trainer(Network(spec), ds)
    ctx = DemoContext(trainer=tr)
    ctx.publish_step_record(tr.current_record())
    p = _panel(qtbot, ctx)
    assert p.image_shape() == (28, 28)
    assert p.tile_count() == MAX_TILES                   # the first 256 of 300
    np.testing.assert_array_equal(p.tile(255), tr.net.get_weights()["W0"][255].reshape(28, 28))
    assert "first 256 of 300" in p._header.text()

    xor = load_preset("xor")
    tr2 = Trainer(Network(xor.spec), xor.data.load(), xor.train)
    ctx2 = DemoContext(trainer=tr2)
    ctx2.publish_step_record(tr2.current_record())
    p2 = _panel(qtbot, ctx2)
    assert p2.image_shape() is None and p2.tile_count() == 0
    assert "not an image" in p2._header.text()


def test_mosaic_leaves_empty_grid_cells_white():
    M = np.ones((3, 4), dtype=np.float32)
    img = mosaic(M, (2, 2), 2, 1.0)
    assert img.shape == (5, 5, 4)
    assert (img[3:, 3:] == 255).all()                    # no fourth neuron: white
    assert (img[:2, :2] == map_signed(np.ones((2, 2)), 1.0)).all()


def test_the_panel_is_registered_and_opens_from_the_command_line():
    from bpviz.gui import panels

    info = panels.panel("weight-images")
    assert info is not None and panels.panel_class(info) is WeightImages
    assert "weight-images" in VIEWS


def test_graph_matrix_preset_loads_and_names_its_views():
    p = load_preset("graph-matrix")
    assert p.views == ("graph", "matrices", "explain")
    assert p.data.load().n_features == 2 and p.spec.weight_shape(0) == (2, 2)
    text = p.lesson
    for must in ("Row i of W1", "column j is every arrow OUT of input j",
                 "dW_ij = (1/K) sum_k delta_ki a_kj", "delta^T a", "Explain", "Network graph",
                 "Hover an arrow", "Click a cell of dW1"):
        assert must in text, must


def test_graph_matrix_preset_opens_the_graph_and_explain_panels(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from bpviz.gui.controller import Controller
    from bpviz.gui.main_window import MainWindow

    ctx = Controller("graph-matrix")
    win = MainWindow(ctx, settings=QSettings(str(tmp_path / "b.ini"), QSettings.Format.IniFormat),
                     restore_layout=False, save_layout=False)
    qtbot.addWidget(win)
    try:
        win.show()
        win.show_preset_views(ctx.preset)
        qtbot.wait(50)
        for name in ("graph", "matrices", "explain"):
            assert win.docks[name].isVisible(), name
    finally:
        win.close()
        ctx.shutdown()


def test_the_data_view_draws_any_square_input_as_images(qtbot):
    """A 784-column data set without image_shape (a CSV or .npz of MNIST rows, here
    standardised so its values leave [0, 1]) is drawn as 28×28 images, not "no picture"."""
    from bpviz.gui.views.data_view import DataView
    from bpviz.gui.views.digit_grid import to_qimage

    rng = np.random.default_rng(1)
    X = (rng.random((40, 784), dtype=np.float32) * 255 - 100) / 50   # not in [0, 1]
    y = rng.integers(0, 3, 40)
    ds = Dataset("pixels", X[:32], y[:32], X[32:], y[32:], n_classes=3,
                 class_names=("a", "b", "c"))
    spec = make_spec(784, [(8, "relu")], (3, "softmax"), "cross_entropy")
    ctx = DemoContext(trainer=Trainer(Network(spec), ds))
    view = DataView(ctx)
    qtbot.addWidget(view)
    view.set_dataset(ds)
    assert view._mode == "images" and view._image_shape == (28, 28)
    img = to_qimage(X[0], (28, 28))                       # stretched from its own range
    grey = np.array([img.pixelColor(c, r).red() for r in range(28) for c in range(28)])
    assert grey.min() == 0 and grey.max() == 255
    k = int(np.argmax(X[0]))
    assert img.pixelColor(k % 28, k // 28).red() == 0     # the largest value is full ink
