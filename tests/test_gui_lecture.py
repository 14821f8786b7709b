"""The lecture hall's screens, as the screenshots showed them: in presentation mode
small matrices keep the numbers in their cells, the data view's legend sits beside
the points (never over them), and on a small projector every dock tab name reads
in full, without scroll arrows.

Built through ``bpviz gui``'s own window (``bpviz.gui.app.build`` with ``size``),
offscreen; geometry is measured on the widgets and scene items.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtWidgets import QApplication, QTabBar  # noqa: E402

from bpviz.gui.main_window import MainWindow  # noqa: E402
from bpviz.gui.presentation import FONT_SCALE, body_pt, scaled_font  # noqa: E402
from bpviz.gui.views.fitlabel import set_body_floor  # noqa: E402
from bpviz.gui.views.heatmap import Heatmap  # noqa: E402

T = 20_000


@pytest.fixture
def window(sized_window):
    def make(size: tuple[int, int], presentation: bool, preset: str = "circle"):
        for w in QApplication.topLevelWidgets():   # a window another test left in
            if isinstance(w, MainWindow):          # presentation mode scales the font
                w.set_presentation(False)
        # the system's body font: these tests measure what presentation mode makes of it
        return sized_window(size, presentation, preset, settle_ms=300, system_font=True)

    return make


def _numbers_agree(hm: Heatmap) -> None:
    """The numbers drawn are the matrix's, in the power of ten the title shows."""
    r0, r1, c0, c1 = hm.graphics_view().view_window()
    drawn = hm.cell_numbers()
    assert len(drawn) == r1 - r0 and all(len(row) == c1 - c0 for row in drawn)
    values = np.array([[float(t.replace("−", "-")) for t in row] for row in drawn])
    want = hm.matrix()[r0:r1, c0:c1] / 10.0 ** hm.power_of_ten()
    np.testing.assert_allclose(values, want, atol=0.051 * np.abs(want).max() + 1e-12)


@pytest.mark.parametrize("shape", [(2, 2), (4, 3)], ids=["2x2", "4x3"])
def test_presentation_numbers_in_small_matrices(qtbot, shape):
    """xor's 2×2 W and the outer-product preset's 4×3 δ keep their numbers in
    presentation mode, with the body text as large as presentation mode makes it."""
    app = QApplication.instance()
    old = app.font()
    app.setFont(scaled_font(old, FONT_SCALE))
    try:
        set_body_floor(body_pt())
        hm = Heatmap()
        qtbot.addWidget(hm)
        hm.resize(260, 250)           # a heatmap of the 1366×768 presentation grid
        hm.show()
        qtbot.waitExposed(hm)
        hm.set_presentation(True)
        rng = np.random.default_rng(1)
        hm.set_matrix((rng.standard_normal(shape) * 3e-5).astype(np.float32), "δ² — 4×3")
        qtbot.waitUntil(hm.numbers_shown, timeout=T)
        _numbers_agree(hm)
        assert hm.power_of_ten() == -5
    finally:
        set_body_floor(None)
        app.setFont(old)


@pytest.mark.parametrize("presentation", [False, True], ids=["normal", "presentation"])
@pytest.mark.parametrize("preset", ["circle", "outer-product"])
def test_data_legend_beside_the_points(window, qtbot, preset, presentation):
    ctx, win = window((1366, 768), presentation, preset)
    win.raise_view("data")
    view = win.panels["data"]
    legend = view._legend
    qtbot.waitUntil(lambda: legend.isVisible() and len(legend.items) > 0, timeout=T)
    qtbot.wait(100)
    box = view._plot.getPlotItem().getViewBox().sceneBoundingRect()
    rect = legend.sceneBoundingRect()
    assert rect.width() > 20 and rect.height() > 20
    assert not rect.intersects(box.adjusted(1, 1, -1, -1)), (rect, box)   # (edges touch)
    assert view._plot.rect().contains(view._plot.mapFromScene(rect).boundingRect())


@pytest.mark.parametrize("size", [(1024, 768), (1366, 768)], ids=["1024x768", "1366x768"])
@pytest.mark.parametrize("preset", ["xor", "outer-product", "circle"])
def test_presentation_tab_names_read_in_full(window, qtbot, size, preset):
    """Fewer, larger panels: every tab bar has room for all its names (no scroll
    arrows, nothing elided)."""
    ctx, win = window(size, True, preset)
    qtbot.wait(200)
    bars = [b for b in win.findChildren(QTabBar) if b.isVisible() and b.count() > 1]
    assert bars
    titles = {d.windowTitle() for d in win.docks.values()}
    for bar in bars:
        assert bar.sizeHint().width() <= bar.width(), [bar.tabText(i)
                                                       for i in range(bar.count())]
        for i in range(bar.count()):
            assert bar.tabText(i) in titles
            assert bar.tabRect(i).right() <= bar.width()


@pytest.mark.parametrize("size", [(1024, 768), (1366, 768), (1920, 1080)],
                         ids=["1024x768", "1366x768", "1920x1080"])
def test_projector_shows_every_number_of_the_small_presets(window, qtbot, size):
    """In presentation mode on each projector, xor's matrices (all layers, a δ dW W db)
    and the outer-product preset's δ, a and outer products all show their numbers,
    equal to the record (where a colour bar would leave the cells too narrow, it gives
    way to the numbers)."""
    ctx, win = window(size, True, "xor")
    win.raise_view("matrices")
    panel = win.panels["matrices"]
    qtbot.waitUntil(lambda: len(panel.shown()) >= 8, timeout=T)
    qtbot.wait(300)
    for kind, layer in panel.shown():
        hm = panel.heatmap(kind, layer)
        qtbot.waitUntil(hm.numbers_shown, timeout=T)
        _numbers_agree(hm)
    win.close()
    ctx, win = window(size, True, "outer-product")
    win.raise_view("outer-product")
    outer = win.panels["outer-product"]
    qtbot.wait(300)
    for name in ("delta", "a", "outer", "running", "vectorized", "difference"):
        hm = outer.heatmaps[name]
        qtbot.waitUntil(hm.numbers_shown, timeout=T)
        _numbers_agree(hm)
