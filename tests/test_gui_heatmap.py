"""The Heatmap widget: orientation, levels, scale modes, non-finite values, hover, export."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
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
    """The RGB bytes of the image shown (rows, cols, 3); alpha is 255 everywhere."""
    rgba = hm.image()
    assert rgba.dtype == np.uint8 and (rgba[..., 3] == 255).all()
    return rgba[..., :3]


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
    top_right = hm.cell_center(0, 8)
    bottom_left = hm.cell_center(5, 0)
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
    np.testing.assert_array_equal(rgb, map_signed(M, 2.0)[..., :3])
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
    pos = hm.cell_center(3, 1)
    with qtbot.waitSignal(hm.rowHovered) as sig:
        hm._mouse_moved(pos)
    assert sig.args == [3]
    with qtbot.waitSignal(hm.rowHovered) as sig:
        hm.hover_cell(-1, -1)
    assert sig.args == [-1]
    assert hm.readout().startswith("colour scale ±")
    # a real mouse move over cell (row 1, col 2)
    view = hm.graphics_view()
    vp = view.mapFromScene(hm.cell_center(1, 2))
    with qtbot.waitSignal(hm.rowHovered) as sig:
        QTest.mouseMove(view.viewport(), vp)
    assert sig.args == [1]
    assert hm.readout().startswith("k = 2, j = 3:  7")


def test_highlight_rows_and_frame(hm):
    hm.set_matrix(np.zeros((8, 3)))
    hm.highlight_rows([2, 5, 99])
    outlines = hm.graphics_view()._outlines
    visible = [it for it in outlines if it.isVisible()]
    assert len(visible) == 2
    # row 2 of 8: the outline's middle is the centre of row 2
    assert visible[0].rect().center().y() == pytest.approx(hm.cell_center(2, 1).y())
    hm.highlight_rows([])
    assert not any(it.isVisible() for it in outlines)
    frame = hm.graphics_view().frame
    thin = frame.pen().widthF()
    hm.set_highlighted(True)
    assert hm.is_highlighted() and frame.pen().widthF() > thin
    hm.set_highlighted(False)
    assert not hm.is_highlighted() and frame.pen().widthF() == thin


def test_narrow_heatmap_gets_compact_colour_bar(hm, qtbot):
    hm.set_matrix(np.array([[-3.0, 1.0]]))
    assert not hm.colorbar().is_compact()
    hm.resize(200, 300)
    qtbot.waitUntil(lambda: hm.colorbar().is_compact())
    assert hm.colorbar().labels() == ("+3", "0", "−3")  # numbers, in a narrow column
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
    assert not img.isNull() and img.width() == 2 * hm.width()  # slide-ready: 2x by default
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


# ------------------------------------------------------------ a shared (fixed) scale
def test_fixed_scale_overrides_the_mode_everywhere(hm):
    M = np.array([[-0.5, 0.0], [0.25, 2.0]], dtype=np.float32)
    hm.set_matrix(M, "t", "sample k", "input j")
    hm.set_fixed_scale(4.0)  # after set_matrix: recolours at once
    assert hm.fixed_scale() == 4.0 and hm.scale() == 4.0 and hm.levels() == (-4.0, 4.0)
    np.testing.assert_array_equal(_rgb(hm), map_signed(M, 4.0)[..., :3])
    assert hm.colorbar().labels() == ("+4", "0", "−4")
    assert hm.readout() == "colour scale ±4"
    assert hm.hover_cell(1, 1).endswith("2   (scale ±4)")
    hm.hover_cell(-1, -1)
    hm.set_matrix(M * 10)  # new data: still the fixed scale (saturates)
    assert hm.levels() == (-4.0, 4.0)
    np.testing.assert_array_equal(_rgb(hm), map_signed(M * 10, 4.0)[..., :3])
    menu = [a for a in hm.context_menu().actions() if a.text()]
    assert "±4" in menu[3].text() and not menu[3].isEnabled()  # says it is shared
    assert not any(a.isEnabled() for a in menu if a.text().startswith("Scale "))
    hm.set_fixed_scale(None)  # back to the mode (per frame), without new data
    assert hm.fixed_scale() is None and hm.levels() == (-20.0, 20.0)
    np.testing.assert_array_equal(_rgb(hm), map_signed(M * 10, 20.0)[..., :3])
    assert hm.colorbar().labels() == ("+20", "0", "−20")
    assert hm.readout() == "colour scale ±20"
    hm.set_fixed_scale(0.0)  # all-zero matrices: any scale works, as for the modes
    assert hm.levels() == (-1.0, 1.0)
    hm.set_fixed_scale(float("nan"))
    assert hm.levels() == (-1.0, 1.0)


def test_fixed_scale_set_before_data_and_mode_tracked_underneath(hm):
    hm.set_scale_mode("locked")
    hm.set_fixed_scale(0.5)
    hm.set_matrix(np.full((2, 2), 3.0))  # locks the mode at 3 while 0.5 is shown
    assert hm.scale() == 0.5
    hm.set_matrix(np.full((2, 2), 7.0))
    hm.set_fixed_scale(None)
    assert hm.scale() == 3.0  # the lock taken underneath
    hm.set_fixed_scale(2.0)
    hm.reset()  # a new network: the shared scale is a setting and stays
    assert hm.scale() == 2.0 and hm.colorbar().labels() == ("+2", "0", "−2")


def test_heatmaps_sharing_a_scale_colour_equal_values_equally(qtbot):
    maps = [Heatmap() for _ in range(2)]
    for w, M in zip(maps, (np.array([[1.0, -1.0]]), np.array([[1.0, 8.0]])), strict=True):
        qtbot.addWidget(w)
        w.set_fixed_scale(8.0)
        w.set_matrix(M)
    np.testing.assert_array_equal(_rgb(maps[0])[0, 0], _rgb(maps[1])[0, 0])


# ------------------------------------------------------------ colour bar labels
@pytest.mark.parametrize("s, text", [(2.0, "2"), (-0.01234, "−0.0123"), (123.4, "123"),
                                     (9.91e-5, "9.9e-5"), (-4.6e-5, "−4.6e-5"),
                                     (1e-12, "1e-12"), (2.5e6, "2.5e6"), (999.7, "1e3"),
                                     (0.009999, "0.01"), (0.0, "0")])
def test_format_level_is_short(s, text):
    from bpviz.gui.views.colorbar import format_level

    assert format_level(s) == text.replace("e-", "e−")
    assert len(format_level(-abs(s))) <= 8


# float32 magnitudes; 2-digit exponents make the widest labels
MAGNITUDES = [1e-12, 4.4e-12, 7.7e-20, 3.3e-9, 9.91e-5, 4.6e-5, 0.00123, 0.0456, 0.999, 1.0,
              77.7, 999.9, 8.88e4, 1e6, 3.3e37]


@pytest.mark.parametrize("presentation", [False, True])
def test_colour_bar_labels_fit_their_column(hm, qtbot, presentation):
    """The labels' width (QFontMetrics) fits the text column, and on screen they lie
    inside the bar's rectangle (a ViewBox clips its children)."""
    hm.set_presentation(presentation)
    hm.resize(700, 400)
    qtbot.waitUntil(lambda: not hm.colorbar().is_compact())
    bar, view = hm.colorbar(), hm.graphics_view()
    room = bar.text_room_px()
    for s in MAGNITUDES:
        for sign in (1.0, -1.0):
            hm.set_matrix(np.array([[sign * s, -0.3 * sign * s]]))
            top, mid, bottom = bar.labels()
            assert top.startswith("+") and bottom.startswith("−") and mid == "0"
            assert max(map(bar.label_px, bar.labels())) <= bar.text_room_px(), (s, top)
            assert bar.text_room_px() == room  # fixed width: no re-layout for any float32
    for s in (4.4e-12, -7.7e-20, 0.0456):  # and as drawn
        hm.set_matrix(np.array([[s, 0.0]]))
        qtbot.wait(10)
        box = view.mapFromScene(bar.sceneBoundingRect()).boundingRect()
        vt = view.viewportTransform()
        for t in bar._texts.values():
            r = t.deviceTransform(vt).mapRect(t.boundingRect())
            assert box.left() <= r.left() and r.right() <= box.right() + 1, (t.text(), r, box)


def test_heatmap_colour_bar_widens_for_a_three_digit_exponent(hm):
    bar = hm.colorbar()
    room, plot = bar.text_room_px(), hm.graphics_view().plot_rect()
    hm.set_fixed_scale(1.5e-300)  # only a float64 fixed scale gets here
    assert bar.labels()[0] == "+1.5e−300"
    assert max(map(bar.label_px, bar.labels())) <= bar.text_room_px() and bar.text_room_px() > room
    assert hm.graphics_view().plot_rect().width() < plot.width()  # the image made room


def test_colour_bar_widens_for_a_three_digit_exponent():
    from bpviz.gui.views.colorbar import ColourBar

    bar = ColourBar()
    room = bar.text_room_px()
    bar.set_scale(1.5e-300)  # only a float64 fixed scale gets here
    assert bar.labels()[0] == "+1.5e−300"
    assert bar.text_room_px() > room
    assert max(map(bar.label_px, bar.labels())) <= bar.text_room_px()


def test_format_value_has_a_bare_exponent():
    from bpviz.gui.views.scaling import format_value

    assert format_value(-7.9224e-05) == "−7.922e−5"
    assert format_value(2.44e6) == "2.44e6"
    assert format_value(0.5) == "0.5"


# ------------------------------------------------------------ narrow heatmaps
LONG_TITLE = "dW¹ = (1/K) δ¹ᵀ a⁰, the mean over the mini-batch of the outer products — 32×784"


@pytest.mark.parametrize("presentation", [False, True])
def test_long_title_never_pushes_the_colour_bar_out(hm, qtbot, presentation):
    hm.set_presentation(presentation)
    hm.resize(200, 300)
    hm.set_matrix(np.ones((4, 6)) * 1e-5, "W — 4×6", "sample k", "input j")
    qtbot.waitUntil(lambda: hm.width() == 200)
    min_w = hm.minimumSizeHint().width()
    hm.set_matrix(np.ones((4, 6)) * 1e-5, LONG_TITLE)
    qtbot.wait(10)
    assert hm.minimumSizeHint().width() == min_w and hm.width() == 200
    label = hm.title_label()
    # cut: first "= (1/K) …" goes, so that the shape stays ("(×10⁻⁵) dW¹ — 32×784")
    assert not label.is_whole() and label.text() == "(×10⁻⁵) dW¹ — 32×784"
    # a narrow heatmap's compact bar reads in the title's units: "(× 10⁻⁵)" first
    assert label.plain_text() == "(× 10⁻⁵)  " + LONG_TITLE == label.toolTip()
    assert hm.title() == LONG_TITLE
    assert label.fontMetrics().horizontalAdvance(label.text()) <= label.width()
    bar, view = hm.colorbar(), hm.graphics_view()
    box = view.mapFromScene(bar.sceneBoundingRect()).boundingRect()
    right = view.mapTo(hm, box.topRight()).x()
    assert 0 < right <= hm.width()
    readout = hm._readout
    assert readout.fontMetrics().horizontalAdvance(readout.text()) <= readout.width()
    hm.resize(1200, 300)  # room again: the whole title, no tooltip
    qtbot.waitUntil(label.is_whole)
    assert label.text() == "(× 10⁻⁵)  " + LONG_TITLE and label.toolTip() == ""  # numbers


def test_non_finite_warning_survives_a_narrow_title(hm, qtbot):
    hm.resize(200, 300)
    hm.set_matrix(np.array([[np.nan, 1.0]]), LONG_TITLE)
    qtbot.wait(10)
    assert hm.title_label().text().startswith("⚠ 1 non-finite")


# ------------------------------------------------------------ export of a GraphicsView
def test_export_a_pyqtgraph_graphics_view(hm, qtbot, tmp_path):
    import pyqtgraph as pg
    from PySide6.QtGui import QImage

    pw = pg.PlotWidget(background="w")
    qtbot.addWidget(pw)
    pw.plot([0, 1, 2, 3], [0, 3, 1, 2], pen=pg.mkPen("r", width=3))
    pw.resize(300, 200)
    hm.set_matrix(np.array([[1.0, -1.0], [0.5, 0.0]]), "M — 2×2")
    for w in (pw, hm.graphics_view()):
        png = export.export_widget(w, tmp_path / "v.png", scale=1)
        img = QImage(str(png))
        assert img.size() == w.size()
        colours = {img.pixel(x, y) for y in range(0, img.height(), 3)
                   for x in range(0, img.width(), 3)}
        assert len(colours) > 10  # a drawing, not a blank page
        svg = export.export_widget(w, tmp_path / "v.svg").read_text()
        assert "<svg" in svg and "<path" in svg and len(svg) > 2000


@pytest.mark.parametrize("presentation", [False, True])
def test_last_column_number_is_not_cut_without_a_colour_bar(qtbot, presentation):
    from PySide6.QtGui import QFontMetrics

    hm = Heatmap(colorbar=False)
    qtbot.addWidget(hm)
    hm.set_presentation(presentation)
    hm.resize(300, 250)
    hm.set_matrix(np.ones((4, 32)))
    hm.show()
    qtbot.waitExposed(hm)
    half = QFontMetrics(hm.graphics_view()._tick_font).horizontalAdvance("32") / 2
    x = hm.cell_center(0, 31).x()  # centre of column 32
    assert x + half <= hm.graphics_view().width()


# ------------------------------------------------------------ drawn by Qt, not by Python
def test_canvas_holds_only_qt_items_so_painting_needs_no_python(hm):
    """The heatmap's scene must contain Qt's own item classes only: a Python item (any
    pyqtgraph item) would make every repaint take the GIL from the training thread."""
    hm.set_matrix(np.arange(12.0).reshape(3, 4) - 5, "M — 3×4", "sample k", "input j")
    hm.highlight_rows([1])
    hm.set_cell_texts([["1"] * 4] * 3)
    items = hm.graphics_view().scene().items()
    assert len(items) > 15
    assert {type(it).__module__ for it in items} == {"PySide6.QtWidgets"}
    assert "paintEvent" not in type(hm.graphics_view()).__dict__


def test_cell_texts_sit_in_their_cells_and_fit(hm, qtbot):
    hm.set_show_numbers(False)  # the caller's texts only
    hm.resize(500, 400)
    hm.set_matrix(np.array([[1.0, -2.0], [0.5, 0.0]]))
    hm.set_cell_texts([["1", "−2"], ["0.5", "0"]], np.array([[False, True], [False, False]]))
    view = hm.graphics_view()
    assert view.cell_texts() == ["1", "−2", "0.5", "0"]
    shown = [t for t in view._cells if t.isVisible()]
    for t, (r, c) in zip(shown, np.ndindex(2, 2), strict=True):
        assert t.sceneBoundingRect().contains(hm.cell_center(r, c))
        assert t.sceneBoundingRect().width() < view.plot_rect().width() / 2
    assert shown[1].brush().color().lightness() > 200  # white on a dark cell
    hm.set_cell_texts(None)
    assert view.cell_texts() == []


def test_idle_readout_is_current_and_the_label_catches_up(hm, qtbot):
    label = hm._readout
    for s in (1.0, 2.0, 3.0, 4.0):  # faster than the label may change
        hm.set_matrix(np.array([[s, 0.0]]))
    assert hm.readout() == "colour scale ±4"
    qtbot.waitUntil(lambda: label.plain_text() == "colour scale ±4", timeout=2000)
    hm.hover_cell(0, 0)  # hovering shows at once
    assert label.plain_text() == hm.readout() and hm.readout().startswith("row = 1")


def test_digit_grid_repaints_only_when_a_prediction_changes(qtbot):
    from PySide6.QtCore import QEvent, QObject

    from bpviz.gui.views.digit_grid import DigitGrid

    class Paints(QObject):
        n = 0

        def eventFilter(self, obj, ev):  # noqa: N802
            if ev.type() == QEvent.Type.Paint:
                self.n += 1
            return False

    grid = DigitGrid()
    qtbot.addWidget(grid)
    grid.resize(300, 300)
    grid.set_images(np.zeros((6, 4)), np.arange(6) % 3, (2, 2))
    grid.show()
    qtbot.waitExposed(grid)
    counter = Paints()
    grid.installEventFilter(counter)
    grid.set_predictions(np.array([0, 1, 2, 0, 1, 1]))
    qtbot.waitUntil(lambda: counter.n == 1)
    for _ in range(3):
        grid.set_predictions(np.array([0, 1, 2, 0, 1, 1]))  # the same: nothing to draw
        qtbot.wait(20)
    assert counter.n == 1 and grid.mistakes_shown() == 1
    grid.set_predictions(np.array([0, 1, 2, 0, 1, 2]))
    qtbot.waitUntil(lambda: counter.n == 2)
    assert grid.mistakes_shown() == 0


def test_a_new_heatmap_reads_its_scale_even_when_the_first_matrix_keeps_it(qtbot):
    """a⁰ = X often has max |X| = 1, the scale a new heatmap starts with: the readout
    must still say so (it once stayed blank)."""
    hm = Heatmap()
    qtbot.addWidget(hm)
    assert hm.readout() == "colour scale ±1"
    hm.set_matrix(np.array([[1.0, -0.5]]))
    assert hm.readout() == "colour scale ±1"
    qtbot.waitUntil(lambda: hm._readout.plain_text() == "colour scale ±1", timeout=2000)


def test_a_short_heatmap_keeps_its_row_title_in_view(hm, qtbot):
    """The row title runs upwards beside the plot; on a heatmap too short for "sample k"
    (a projector's row of ten) it shows its last word, "k", and lies inside the view."""
    hm.set_matrix(np.ones((4, 3)), "a¹ — 4×3", "sample k", "neuron i")
    hm.set_presentation(True)
    canvas = hm._canvas
    row_title = canvas._axis_titles[0]
    assert row_title.text() == "sample k"
    for height in (300, 90, 60):
        hm.resize(260, height)
        qtbot.wait(20)
        box = row_title.sceneBoundingRect()
        assert box.top() >= 0 and box.bottom() <= canvas.viewport().height() + 1, height
    assert row_title.text() == "k"
    hm.resize(260, 300)
    qtbot.waitUntil(lambda: row_title.text() == "sample k")
