"""The Heatmap widget: orientation, levels, scale modes, non-finite values, hover, export."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QPointF  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from bpviz.gui.views import export  # noqa: E402
from bpviz.gui.views.colormaps import diverging_lut, map_signed, signed_index  # noqa: E402
from bpviz.gui.views.heatmap import Heatmap  # noqa: E402
from bpviz.gui.views.scaling import next_scale  # noqa: E402


@pytest.fixture
def hm(qtbot):
    w = Heatmap()
    qtbot.addWidget(w)
    w.resize(420, 360)
    w.show()
    qtbot.waitExposed(w)
    return w


def _rgb(hm: Heatmap) -> np.ndarray:
    """The RGB bytes handed to the ImageItem (rows, cols, 3)."""
    return np.asarray(hm.image_item().image)


def test_lut_is_diverging_256_with_neutral_centre():
    lut = diverging_lut()
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    assert lut[0, 2] > lut[0, 0]  # negative end is blue
    assert lut[255, 0] > lut[255, 2]  # positive end is red
    assert lut[128].min() > 200 and lut[127].min() > 200  # centre near white
    assert signed_index(np.array([-2.0, 0.0, 2.0, 5.0, -5.0]), 2.0).tolist() == [0, 128, 255,
                                                                                    255, 0]


def test_matrix_is_float32_copy_of_data_and_vector_is_one_row(hm):
    M = np.arange(12, dtype=np.float64).reshape(3, 4) - 5
    hm.set_matrix(M, "M — 3×4", "sample k", "input j")
    assert hm.matrix().dtype == np.float32 and hm.matrix().flags.c_contiguous
    np.testing.assert_array_equal(hm.matrix(), M.astype(np.float32))
    hm.set_matrix(np.array([1.0, -2.0, 3.0]), "db¹ — 1×3", "", "neuron i")
    assert hm.matrix().shape == (1, 3)
    assert hm.title() == "db¹ — 1×3"
    with pytest.raises(ValueError):
        hm.set_matrix(np.zeros((2, 2, 2)))


def test_row_major_row_zero_on_top(hm, qtbot):
    """M[0, -1] (red) appears at the top right, M[-1, 0] (blue) at the bottom left."""
    M = np.zeros((6, 9), dtype=np.float32)
    M[0, -1] = 1.0
    M[-1, 0] = -1.0
    hm.set_matrix(M, "orientation", "row", "col")
    rgb = _rgb(hm)
    assert rgb.shape == (6, 9, 3)  # row-major: rows first
    np.testing.assert_array_equal(rgb[0, -1], diverging_lut()[255])
    np.testing.assert_array_equal(rgb[-1, 0], diverging_lut()[0])
    # where the view puts those cells on screen
    vb = hm.plot_item().vb
    top_right = vb.mapViewToScene(QPointF(9.0, 1.0))  # centre of cell (row 0, col 8)
    bottom_left = vb.mapViewToScene(QPointF(1.0, 6.0))
    assert top_right.y() < bottom_left.y() and top_right.x() > bottom_left.x()
    # and in the pixels of the drawn widget
    qtbot.wait(10)
    img = hm.graphics_view().grab().toImage()
    reds, blues = [], []
    for y in range(0, img.height(), 2):
        for x in range(0, img.width() - 90, 2):  # leave out the colour bar
            c = img.pixelColor(x, y)
            if c.red() > 170 and c.green() < 60 and c.blue() < 60:
                reds.append((x, y))
            elif c.blue() > 180 and c.red() < 80 and c.green() < 120:
                blues.append((x, y))
    assert reds and blues
    rx, ry = np.mean(reds, axis=0)
    bx, by = np.mean(blues, axis=0)
    assert rx > bx and ry < by


def test_symmetric_levels_zero_at_lut_centre(hm):
    M = np.array([[-0.5, 0.0], [0.25, 2.0]], dtype=np.float32)
    hm.set_matrix(M, "t")
    assert hm.levels() == (-2.0, 2.0)
    rgb = _rgb(hm)
    np.testing.assert_array_equal(rgb[0, 1], diverging_lut()[128])  # zero -> centre
    np.testing.assert_array_equal(rgb[1, 1], diverging_lut()[255])  # +s -> top
    np.testing.assert_array_equal(rgb, map_signed(M, 2.0))
    assert hm.colorbar().labels() == ("+2", "0", "−2")


def test_scale_modes(hm):
    big, small = np.full((2, 2), 4.0), np.full((2, 2), 1.0)
    hm.set_matrix(big)
    hm.set_matrix(small)
    assert hm.scale() == 1.0  # frame: follows each frame
    hm.set_scale_mode("locked")
    assert hm.scale() == 1.0
    hm.set_matrix(big)
    assert hm.scale() == 1.0  # locked keeps s; larger values saturate
    assert (_rgb(hm) == diverging_lut()[255]).all()
    hm.relock()
    hm.set_matrix(big)
    assert hm.scale() == 4.0
    hm.set_matrix(small)
    assert hm.scale() == 4.0
    hm.set_scale_mode("smooth")
    hm.set_matrix(small)
    assert hm.scale() == pytest.approx(0.9 * 4.0 + 0.1 * 1.0)
    hm.set_matrix(np.full((2, 2), 9.0))
    assert hm.scale() == 9.0  # a new peak shows at once: never saturates
    hm.set_scale_mode("frame")
    hm.set_matrix(small)
    assert hm.scale() == 1.0
    with pytest.raises(ValueError):
        hm.set_scale_mode("auto")


def test_next_scale_rules():
    assert next_scale("frame", 3.0, 10.0, None) == 3.0
    assert next_scale("locked", 3.0, 10.0, 7.0) == 7.0
    assert next_scale("smooth", 3.0, 10.0, None) == pytest.approx(9.3)
    assert next_scale("smooth", 30.0, 10.0, None) == 30.0
    assert next_scale("frame", 0.0, None, None) == 1.0  # all-zero matrix: any s works


def test_non_finite_values_shown_as_zero(hm):
    M = np.array([[np.nan, 1.0], [np.inf, -np.inf]], dtype=np.float32)
    hm.set_matrix(M, "bad — 2×2")
    shown = hm.matrix()
    assert np.isfinite(shown).all()
    np.testing.assert_array_equal(shown, [[0, 1], [0, 0]])
    assert hm.nonfinite_count() == 3
    assert hm.levels() == (-1.0, 1.0)
    hm.set_matrix(np.full((2, 2), np.nan))  # all NaN
    assert np.isfinite(hm.levels()).all()


def test_hover_readout_and_row_signal(hm, qtbot):
    M = np.arange(20, dtype=np.float32).reshape(4, 5)
    hm.set_matrix(M, "a⁰ — 4×5", "sample k", "input j")
    with qtbot.waitSignal(hm.rowHovered) as sig:
        text = hm.hover_cell(2, 3)
    assert sig.args == [2]
    assert "k = 3" in text and "j = 4" in text and "13" in text
    # the mouse handler maps scene positions to cells (1-based centres)
    pos = hm.plot_item().vb.mapViewToScene(QPointF(2.0, 4.0))  # col 1, row 3
    with qtbot.waitSignal(hm.rowHovered) as sig:
        hm._mouse_moved(pos)
    assert sig.args == [3]
    with qtbot.waitSignal(hm.rowHovered) as sig:
        hm.hover_cell(-1, -1)
    assert sig.args == [-1]
    assert hm.readout().startswith("colour scale ±")
    # a real mouse move over cell (row 1, col 2)
    view = hm.graphics_view()
    vp = view.mapFromScene(hm.plot_item().vb.mapViewToScene(QPointF(3.0, 2.0)))
    with qtbot.waitSignal(hm.rowHovered) as sig:
        QTest.mouseMove(view.viewport(), vp)
    assert sig.args == [1]
    assert hm.readout().startswith("k = 2, j = 3:  7")


def test_highlight_rows_and_frame(hm):
    hm.set_matrix(np.zeros((8, 3)))
    hm.highlight_rows([2, 5, 99])
    visible = [it for it in hm._hl_items if it.isVisible()]
    assert len(visible) == 2
    assert visible[0].rect().top() == pytest.approx(2.5)
    hm.highlight_rows([])
    assert not any(it.isVisible() for it in hm._hl_items)
    hm.set_highlighted(True)
    assert hm.is_highlighted()
    hm.set_highlighted(False)
    assert not hm.is_highlighted()


def test_narrow_heatmap_gets_compact_colour_bar(hm, qtbot):
    hm.set_matrix(np.array([[-3.0, 1.0]]))
    assert not hm.colorbar().is_compact()
    hm.resize(200, 300)
    qtbot.waitUntil(lambda: hm.colorbar().is_compact())
    assert hm.colorbar().labels() == ("+", "0", "−")
    assert "±3" in hm.readout()
    hm.resize(500, 300)
    qtbot.waitUntil(lambda: not hm.colorbar().is_compact())
    assert hm.colorbar().labels() == ("+3", "0", "−3")


def test_presentation_enlarges_text(hm):
    hm.set_matrix(np.ones((3, 3)), "W¹ — 3×3", "neuron i", "input j")
    small = hm.title_label().nominal_point_size()
    hm.set_presentation(True)
    big = hm.title_label().nominal_point_size()
    assert big >= 1.8 * small
    assert hm.title_label().point_size() <= big  # shrinks to fit, never clipped
    assert hm.title() == "W¹ — 3×3"


def test_context_menu_has_export_actions(hm):
    texts = [a.text() for a in hm.context_menu().actions()]
    assert any("PNG" in t for t in texts)
    assert any("CSV" in t for t in texts)
    assert any("clipboard" in t for t in texts)


def test_export_files_load_back_equal(hm, tmp_path, qapp):
    rng = np.random.default_rng(0)
    M = rng.standard_normal((7, 5)).astype(np.float32) * 1e-3
    hm.set_matrix(M, "dW¹ — 7×5")
    for name in ("m.csv", "m.npy"):
        path = export.save_matrix(hm.matrix(), tmp_path / name)
        back = export.load_matrix(path)
        np.testing.assert_array_equal(back.astype(np.float32), M)
    assert np.load(tmp_path / "m.npy").dtype == np.float32
    png = export.export_widget(hm, tmp_path / "h.png")
    from PySide6.QtGui import QImage

    img = QImage(str(png))
    assert not img.isNull() and img.width() == hm.width()
    svg = export.export_widget(hm, tmp_path / "h.svg")
    text = svg.read_text()
    assert "<svg" in text and len(text) > 2000  # the drawing, not an empty page
    text = export.copy_matrix(hm.matrix())
    assert qapp.clipboard().text() == text
    back = np.array([[float(v) for v in line.split("\t")] for line in text.splitlines()])
    np.testing.assert_array_equal(back.astype(np.float32), M)
    with pytest.raises(ValueError):
        export.save_matrix(M, tmp_path / "m.xlsx")
    with pytest.raises(ValueError):
        export.export_widget(hm, tmp_path / "h.gif")
