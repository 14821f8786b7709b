"""Numbers in cells, numbered colour bars and the small defects of the lecture-hall issue.

The numbers drawn in a heatmap's cells must equal the record's values rounded (the xor
and outer-product presets, whose lessons ask to read every number), share one power of
ten written in the title, and be black or white for contrast with the cell.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bpviz.engine import Network  # noqa: E402
from bpviz.engine.presets import load_preset  # noqa: E402
from bpviz.engine.trainer import Trainer  # noqa: E402
from bpviz.gui import notation as nt  # noqa: E402
from bpviz.gui.classroom.equations import EquationsView, equation_html  # noqa: E402
from bpviz.gui.main_window import rate_text  # noqa: E402
from bpviz.gui.timing_lab import IDLE_TEXT, TimingLab, points_text  # noqa: E402
from bpviz.gui.views.colormaps import map_signed  # noqa: E402
from bpviz.gui.views.demo import DemoContext  # noqa: E402
from bpviz.gui.views.heatmap import Heatmap  # noqa: E402
from bpviz.gui.views.heatmap_canvas import white_text  # noqa: E402
from bpviz.gui.views.matrices import MatrixPanel  # noqa: E402
from bpviz.gui.views.scaling import (  # noqa: E402
    format_numbers,
    number_decimals,
    power_text,
    shared_exponent,
)


def _numbers(texts: list[list[str]]) -> np.ndarray:
    return np.array([[float(t.replace("−", "-")) for t in row] for row in texts])


def preset_ctx(name: str, steps: int) -> tuple[DemoContext, object]:
    p = load_preset(name)
    tr = Trainer(Network(p.spec, seed=p.train.seed), p.data.load(), p.train)
    ctx = DemoContext(trainer=tr, preset=p)
    return ctx, ctx.advance(steps)


@pytest.fixture
def hm(qtbot):
    w = Heatmap()
    qtbot.addWidget(w)
    w.resize(500, 420)
    w.show()
    qtbot.waitExposed(w)
    return w


# ---------------------------------------------------------------- the number format
@pytest.mark.parametrize(("s", "e"), [(0.24, 0), (6.4, 0), (99.4, 0), (0.1, 0), (6.4e-5, -5),
                                      (9.9999998e-13, -12), (999.9, 3), (0.0123, -2),
                                      (150.0, 2), (0.0, 0), (float("inf"), 0)])
def test_shared_exponent(s, e):
    assert shared_exponent(s) == e


def test_numbers_have_two_to_three_digits_and_no_negative_zero():
    s = 6.42e-5
    e = shared_exponent(s)
    assert power_text(e) == "× 10⁻⁵" and power_text(0) == ""
    dec = number_decimals(s, e, 3)
    assert dec == 2
    texts = format_numbers(np.array([[6.42e-5, -3.1e-5, -1e-9, np.nan]]), e, dec)
    assert texts == [["6.42", "−3.10", "0", "0"]]
    assert format_numbers(np.array([[0.24, -0.031]]), 0, number_decimals(0.24, 0, 2)) == \
        [["0.24", "−0.03"]]


def test_contrast_colour_is_white_on_dark_cells_black_on_light():
    rgba = map_signed(np.array([[-1.0, -0.05, 0.0, 0.05, 1.0]], dtype=np.float32), 1.0)
    assert white_text(rgba).tolist() == [[True, False, False, False, True]]


# ---------------------------------------------------------------- numbers in cells
def test_small_matrix_shows_its_numbers_with_a_shared_power_of_ten(hm):
    M = np.array([[6.4e-5, -3.2e-5], [0.0, 1.1e-5]], dtype=np.float32)
    hm.set_matrix(M, "dW¹ — 2×2", "neuron i", "input j")
    assert hm.numbers_shown()
    assert hm.power_of_ten() == -5
    assert hm.title_text().startswith("(× 10⁻⁵)") and hm.title() == "dW¹ — 2×2"
    got = _numbers(hm.cell_numbers()) * 1e-5
    np.testing.assert_allclose(got, M, atol=0.5e-7)
    # the colour bar reads in the same units as the cells
    assert hm.colorbar().labels() == ("+6.4", "0", "−6.4")
    # text colour: white on the dark (extreme) cell, black on the neutral one
    items = hm.graphics_view().cell_text_items()
    assert items[0].brush().color().name() == "#ffffff"
    assert items[2].brush().color().name() == "#000000"
    for item, (r, c) in zip(items, np.ndindex(2, 2), strict=True):
        assert item.sceneBoundingRect().contains(hm.cell_center(r, c))


def test_plain_range_has_no_power_of_ten_and_the_toggle_clears(hm):
    hm.set_matrix(np.array([[0.5, -0.25]]), "W — 1×2")
    assert hm.numbers_shown() and hm.power_of_ten() == 0
    assert hm.title_text() == "W — 1×2"
    assert hm.cell_numbers() == [["0.500", "−0.250"]]
    assert any(a.text().startswith("Numbers in cells") and a.isChecked()
               for a in hm.context_menu().actions())
    hm.set_show_numbers(False)
    assert not hm.numbers_shown() and hm.graphics_view().cell_texts() == []
    hm.set_matrix(np.array([[0.5, -0.25]]))
    assert hm.graphics_view().cell_texts() == []
    hm.set_show_numbers(True)
    assert hm.numbers_shown()


def test_cells_too_small_show_no_numbers_until_zoomed(hm, qtbot):
    rng = np.random.default_rng(1)
    M = rng.standard_normal((60, 50)).astype(np.float32)
    hm.set_matrix(M, "δ — 60×50")
    assert not hm.numbers_shown() and hm.graphics_view().cell_texts() == []
    hm.set_view_window(10, 13, 20, 23)              # 3×3 cells: big
    assert hm.numbers_shown()
    np.testing.assert_allclose(_numbers(hm.cell_numbers()), M[10:13, 20:23], atol=0.0051)
    hm.reset_zoom()
    assert not hm.numbers_shown()


def test_blank_heatmap_shows_no_number(hm):
    hm.reset()
    assert not hm.numbers_shown() and hm.graphics_view().cell_texts() == []


@pytest.mark.parametrize(("preset", "kinds"), [("xor", ("W", "dW", "a", "delta", "db")),
                                               ("outer-product", ("delta", "a", "dW"))])
def test_preset_matrices_show_the_records_numbers(qtbot, preset, kinds):
    """xor's 2×2 W and the outer-product preset's 4×3 δ: every number, equal to the
    record's value rounded, in the matrix panel."""
    ctx, snap = preset_ctx(preset, 20)
    panel = MatrixPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1400, 800)
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_snapshot(snap)
    n = len(ctx.spec.layers)
    checked = 0
    for i in range(n):
        for kind in kinds:
            hm = panel.heatmap(kind, i)
            if hm is None or not hm.isVisible():
                continue
            qtbot.waitUntil(hm.numbers_shown)
            M = np.atleast_2d(nt.record_matrix(snap.step, kind, i, panel.notation()))
            got = _numbers(hm.cell_numbers()) * 10.0 ** hm.power_of_ten()
            # 2-3 significant digits of the largest: half a unit of the last digit
            tol = 0.5 * 10.0 ** (hm.power_of_ten() - number_decimals(
                hm.scale(), hm.power_of_ten(), 2)) + 1e-12
            np.testing.assert_allclose(got, M, atol=tol, err_msg=f"{kind}{i + 1}")
            if hm.power_of_ten():
                assert power_text(hm.power_of_ten()) in hm.title_text()
            checked += 1
    assert checked >= len(kinds)
    # the panel's toggle reaches every heatmap and is kept in the view state
    panel.set_show_numbers(False)
    assert not any(panel.heatmap(k, i).numbers_shown() for k, i in panel.shown())
    assert panel.view_state()["numbers"] is False
    panel.restore_view_state({"numbers": True})
    assert panel.show_numbers()


def test_outer_product_delta_is_4x3_with_all_its_numbers(qtbot):
    ctx, snap = preset_ctx("outer-product", 5)
    panel = MatrixPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1400, 800)
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_snapshot(snap)
    hm = next(panel.heatmap("delta", i) for i in range(len(ctx.spec.layers))
              if panel.heatmap("delta", i) is not None
              and panel.heatmap("delta", i).matrix().shape == (4, 3))
    qtbot.waitUntil(hm.numbers_shown)
    assert np.array(hm.cell_numbers()).shape == (4, 3)


# ---------------------------------------------------------------- numbered colour bars
@pytest.mark.parametrize("presentation", [False, True])
def test_narrow_colour_bar_keeps_its_numbers_legible(hm, qtbot, presentation):
    hm.set_show_numbers(False)   # with numbers, this bar gives way to them (next test)
    hm.set_presentation(presentation)
    hm.resize(180, 400)
    hm.set_matrix(np.array([[7.7e-5, -1e-5]]), "δ — 1×2")
    qtbot.waitUntil(lambda: hm.colorbar().is_compact())
    bar = hm.colorbar()
    assert bar.labels() == ("+7.7", "0", "−7.7")
    assert hm.power_of_ten() == -5 and "× 10⁻⁵" in hm.title_text()
    assert max(map(bar.label_px, bar.labels())) <= bar.text_room_px()
    # a bar too short for three lines drops the 0 instead of running into one glyph
    from PySide6.QtCore import QRectF

    bar.place(QRectF(0, 0, 40, 30))
    visible = [t.text() for t in bar._texts.values() if t.isVisible()]
    assert visible == ["+7.7", "−7.7"]
    bar.place(QRectF(0, 0, 40, 300))
    assert all(t.isVisible() for t in bar._texts.values())


@pytest.mark.parametrize("presentation", [False, True])
def test_the_bar_gives_way_where_only_then_the_numbers_fit(hm, qtbot, presentation):
    """xor's 2×2 W in a row of ten heatmaps on a 1024×768 projector: its cells show their
    numbers only without the colour bar beside them, so the bar gives its room to them;
    it comes back when the heatmap widens, and when the numbers are turned off."""
    hm.set_presentation(presentation)
    w = np.array([[-8.29, 8.01], [-8.47, 8.72]])
    hm.set_matrix(w, "W¹ — 2×2")
    narrow = 110 if not presentation else 200
    hm.resize(narrow, 190)
    qtbot.waitUntil(lambda: not hm.colorbar_shown())
    assert hm.numbers_shown()
    assert _numbers(hm.cell_numbers()) == pytest.approx(w, abs=0.006)
    bar = hm.colorbar()
    assert not any(t.isVisible() for t in bar._texts.values()) and not bar.ramp.isVisible()
    # the plot takes the bar's room: the frame reaches the right edge
    view = hm.graphics_view()
    assert hm._canvas.plot_rect().right() > view.viewport().width() - 20
    hm.set_show_numbers(False)                 # no numbers: the bar is back
    assert hm.colorbar_shown() and bar.ramp.isVisible()
    hm.set_show_numbers(True)
    assert not hm.colorbar_shown()
    hm.resize(3 * narrow, 190)                 # wide enough for both
    qtbot.waitUntil(hm.colorbar_shown)
    assert hm.numbers_shown()
    hm.resize(narrow // 3, 190)                # too narrow for numbers even without it
    qtbot.waitUntil(lambda: not hm.numbers_shown())
    assert hm.colorbar_shown()
    # the bar does not come and go with the data: a scale of other digits, same decision
    hm.resize(narrow, 190)
    qtbot.waitUntil(lambda: not hm.colorbar_shown())
    for k in range(1, 8):
        hm.set_matrix(w * 10.0 ** -k, "W¹ — 2×2")
        assert not hm.colorbar_shown() and hm.numbers_shown()


@pytest.mark.parametrize("presentation", [False, True])
def test_a_third_digit_never_costs_much_size(hm, qtbot, presentation):
    """Across widths, the numbers have 3 digits where that costs at most DIGIT_PT points
    of size, else 2 in larger type ("7.7" reads from the back row, "7.70" in small type
    does not); and a colour bar beside them gives way where it would cost GAIN_PT."""
    from bpviz.gui.views.heatmap import DIGIT_PT, GAIN_PT, NUMBER_PT, SHORTEST_NUMBER

    hi, lo = NUMBER_PT[presentation]
    hm.set_presentation(presentation)
    hm.set_matrix(np.array([[-8.29, 8.01], [-8.47, 8.72]]), "W¹ — 2×2")
    cv = hm.graphics_view()
    digits_seen, bars_seen = set(), set()
    for width in range(100, 900, 20):
        hm.resize(width, 300)
        if not hm.numbers_shown():
            continue
        pt = cv.cell_text_items()[0].font().pointSizeF()
        two = cv.fit_cell_font(SHORTEST_NUMBER, hi, lo)
        assert two is not None and two.pointSizeF() <= pt + DIGIT_PT, width
        digits_seen.add(len(hm.cell_numbers()[0][0].lstrip("−").replace(".", "")))
        bars_seen.add(hm.colorbar_shown())
        if hm.colorbar_shown():   # keeping the bar costs the numbers less than GAIN_PT
            without = cv.fit_cell_font(SHORTEST_NUMBER, hi, lo, cv.plot_cell_size(False))
            assert without.pointSizeF() < two.pointSizeF() + GAIN_PT, width
    assert bars_seen == {True, False} and 3 in digits_seen
    assert 2 in digits_seen or not presentation   # normal mode's sizes rarely differ so


def test_the_power_of_ten_holds_while_it_suits_the_scale():
    from bpviz.gui.views.scaling import steady_exponent

    assert steady_exponent(0.101, -2) == -2          # "10" in × 10⁻²: kept
    assert steady_exponent(0.13, -2) == 0            # "13": plain again
    assert steady_exponent(0.099, 0) == -2           # below the plain range
    assert steady_exponent(9.5e-6, -5) == -5         # "0.95"
    assert steady_exponent(8e-6, -5) == -6
    assert steady_exponent(6.4e-5, None) == shared_exponent(6.4e-5) == -5


def test_a_compact_bar_does_not_flip_its_units_as_the_scale_wanders(hm, qtbot):
    """A narrow heatmap whose scale wanders around 0.1 (per frame) keeps one power of ten
    in its title and bar, rather than switching "× 10⁻²" on and off every frame."""
    hm.set_show_numbers(False)
    hm.resize(180, 400)
    qtbot.waitUntil(lambda: hm.colorbar().is_compact())
    rng = np.random.default_rng(0)
    M = rng.standard_normal((30, 30))
    powers = set()
    for k in range(40):
        s = 0.103 if k % 2 else 0.098   # first below 0.1: × 10⁻², then around it
        hm.set_matrix(M / np.abs(M).max() * s, "δ — 30×30")
        powers.add(hm.power_of_ten())
    assert powers == {-2}
    hm.set_matrix(M / np.abs(M).max() * 0.5, "δ — 30×30")    # far off: plain again
    assert hm.power_of_ten() == 0


# ---------------------------------------------------------------- the small defects
def test_marked_equation_keeps_the_transpose_in_regular_weight():
    spec = load_preset("xor").spec
    (dw,) = [e for e in nt.layer_equations(spec, 1, 4) if e.key == ("dW", 1)]
    html = equation_html(dw, marked=True)
    assert f'<span style="font-weight:400">{nt.T}</span>' in html
    bold = html.split("<b>", 2)[2]          # the formula, after the label's <b>
    assert nt.T not in bold.replace(f'<span style="font-weight:400">{nt.T}</span>', "")


def test_clicking_a_symbol_visibly_does_something(qtbot):
    ctx, _ = preset_ctx("xor", 1)
    view = EquationsView(ctx)
    qtbot.addWidget(view)
    view.show()
    asked = []
    ctx.highlightRequested.connect(lambda k, i: asked.append((k, i)))
    assert not view.feedback.isVisible()
    view.activate_link("sym:dW:1")
    assert asked == [("dW", 1)]
    assert view.feedback.isVisible() and "dW²" in view.feedback.text()
    assert "Matrices" in view.feedback.text()


def test_status_rate_text():
    assert rate_text(0.0) == "0 steps/s"
    assert rate_text(1.0) == "1 step/s"
    assert rate_text(2.5) == "2.5 steps/s"
    assert rate_text(12879.4) == "12,879 steps/s"


def test_timing_lab_points_counter(qtbot):
    ctx, _ = preset_ctx("xor", 1)
    lab = TimingLab(ctx)
    qtbot.addWidget(lab)
    assert lab.progress.text() == IDLE_TEXT and "100" not in lab.progress.text()
    assert points_text(1) == "1 point" and points_text(11) == "11 points"


def test_decision_map_fills_the_plot_at_any_aspect(qtbot):
    from bpviz.gui.snapshot_build import data_extent
    from bpviz.gui.views.data_view import DataView

    ctx, snap = preset_ctx("xor", 3)
    view = DataView(ctx)
    qtbot.addWidget(view)
    view.show()
    for size in ((900, 300), (300, 900), (600, 600)):
        view.resize(*size)
        view.show_snapshot(snap)
        qtbot.wait(20)
        vb = view._plot.getPlotItem().getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        ex0, ex1, ey0, ey1 = data_extent(ctx.dataset)     # the decision map's extent
        eps = 1e-6 * (ex1 - ex0)
        assert ex0 - eps <= x0 and x1 <= ex1 + eps and ey0 - eps <= y0 and y1 <= ey1 + eps, size


def test_shorter_titles_keep_the_power_of_ten_in_parentheses():
    """A narrow heatmap's title drops its formula, dash and spaces, never the parentheses
    of its power of ten: "×10⁻⁴ dW¹ 32×64" would read as a product."""
    from bpviz.gui.views.heatmap import _shorter_titles

    forms = _shorter_titles("× 10⁻⁴", "dW¹ = δᵀa/K — 32×64")
    assert forms[-1] == "(×10⁻⁴)dW¹ 32×64"
    assert all(f.startswith("(×10⁻⁴)") and f.endswith("32×64") for f in forms)
    assert len(set(forms)) == len(forms)
    assert _shorter_titles("", "W¹ (out×in) — 32×64") == ("W¹ — 32×64", "W¹ 32×64")
