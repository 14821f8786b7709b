"""The default layouts fit real screens: at each size, with and without presentation
mode, every visible panel shows its essential content inside its dock.

Built through ``bpviz gui``'s own window (``bpviz.gui.app.build`` with ``size``:
MainWindow and the real Controller), offscreen. Geometry is measured against the
dock's scroll area (its viewport), where a clipped panel would need a scroll bar.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QPoint, QRect, QSettings  # noqa: E402
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QWidget  # noqa: E402

from bpviz.cli import build_parser  # noqa: E402
from bpviz.gui import layout  # noqa: E402
from bpviz.gui.app import build  # noqa: E402
from bpviz.gui.main_window import MainWindow  # noqa: E402
from bpviz.gui.views.matrices import ALL_LAYERS  # noqa: E402

T = 20_000
#: The smallest a heatmap of the "All layers" grid may be (width, height) to be read.
MIN_HEATMAP = (110, 120)
MIN_PLOT = (200, 150)  # the data and loss plots


def _area(dock) -> QAbstractScrollArea:
    area = dock.widget()
    assert isinstance(area, QAbstractScrollArea)
    return area


def _inside(widget: QWidget, area: QAbstractScrollArea) -> bool:
    vp = area.viewport()
    top_left = widget.mapTo(vp, QPoint(0, 0))
    return vp.rect().contains(QRect(top_left, widget.size()))


@pytest.fixture
def window(sized_window):
    return sized_window


@pytest.mark.parametrize("presentation", [False, True], ids=["normal", "presentation"])
@pytest.mark.parametrize("size", layout.SCREENS, ids=[f"{w}x{h}" for w, h in layout.SCREENS])
def test_default_layout_fits(window, qtbot, size, presentation):
    ctx, win = window(size, presentation)
    assert (win.width(), win.height()) == size
    matrices = win.panels["matrices"]
    win.raise_view("matrices")
    qtbot.waitUntil(lambda: layout.in_front(win.docks["matrices"]), timeout=T)
    assert matrices.layer() == ALL_LAYERS
    area = _area(win.docks["matrices"])
    qtbot.waitUntil(lambda: not area.horizontalScrollBar().isVisible(), timeout=T)
    shown = matrices.shown()
    assert {k for k, _ in shown} == {"a", "delta", "dW", "W", "db"}   # all five columns
    body = QApplication.font().pointSizeF() if presentation else 0
    for key in shown:
        hm = matrices.heatmap(*key)
        assert hm.width() >= MIN_HEATMAP[0] and hm.height() >= MIN_HEATMAP[1], (key, hm.size())
        assert _inside(hm, area), key
        if presentation:   # titles at least as large as the body text
            assert hm.title_label().point_size() >= round(body) - 1, key
    for name, dock in win.docks.items():
        if layout.in_front(dock) and not dock.isFloating():
            assert dock.width() >= layout.MIN_DOCK[0] and dock.height() >= layout.MIN_DOCK[1], \
                (name, dock.size())
            assert not _area(dock).horizontalScrollBar().isVisible(), name
    win.raise_view("data")
    qtbot.waitUntil(lambda: layout.in_front(win.docks["data"]), timeout=T)
    plot = win.panels["data"]._plot
    assert plot.width() >= MIN_PLOT[0] and plot.height() >= MIN_PLOT[1], plot.size()
    assert _inside(plot, _area(win.docks["data"]))
    if not presentation:   # beside the data: the loss plot, its ticks apart (1024×768 once
        # squeezed it to 50 px of curves under its legend; presentation mode tabs it)
        plot = win.panels["loss"]._plot
        assert plot.width() >= MIN_PLOT[0] and plot.height() >= MIN_PLOT[1], plot.size()
    # toolbar controls are never in the overflow: every one lies inside the window
    for tb in (win.actions_.toolbar, win.actions_.toolbar2):
        for w in tb.findChildren(QWidget):
            if w.isVisible() and w.parentWidget() is tb and w.objectName() in (
                    "preset", "speed", "backend"):
                assert win.rect().contains(QRect(w.mapTo(win, QPoint(0, 0)), w.size())), \
                    w.objectName()


def test_size_option_opens_the_window_at_that_size():
    args = build_parser().parse_args(["gui", "--size", "1366x768"])
    assert args.size == (1366, 768)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["gui", "--size", "big"])


def test_plans_differ_by_screen():
    small, large = layout.plan_for(1024, 768), layout.plan_for(1920, 1080)
    assert small.right_in_left and small.bottom_tabbed and not large.right_in_left
    assert layout.plan_for(1024, 768, presentation=True).all_tabbed
    assert not layout.plan_for(1920, 1080, presentation=True).all_tabbed


def test_a_narrowed_layout_is_not_restored(qtbot, tmp_path):
    s = QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)
    ctx, win = build("circle", automation=True, size=(1366, 768))
    win.settings = s
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    qtbot.wait(50)
    win.resizeDocks([win.docks["data"]], [40], layout.H)   # squeezed to a sliver
    qtbot.wait(50)
    win.save_layout()
    win.close()
    ctx.shutdown()
    from bpviz.gui.controller import Controller

    ctx2 = Controller("circle")
    win2 = MainWindow(ctx2, settings=s, restore_layout=True, save_layout=False)
    qtbot.addWidget(win2)
    win2.resize(1366, 768)
    win2.show()
    qtbot.waitExposed(win2)
    qtbot.waitUntil(lambda: win2.docks["data"].width() >= layout.MIN_DOCK[0], timeout=T)
    win2.close()
    ctx2.shutdown()


def test_focus_a_panel_and_back(window, qtbot):
    ctx, win = window((1366, 768), False)
    shown = {n for n, d in win.docks.items() if not d.isHidden()}
    bar = win.docks["data"].titleBarWidget()
    assert isinstance(bar, layout.DockTitleBar)
    bar.focus_button.click()
    assert win.focused_panel() == "data"
    assert [n for n, d in win.docks.items() if not d.isHidden()] == ["data"]
    qtbot.waitUntil(lambda: win.docks["data"].width() >= win.width() - 20, timeout=T)
    win.actions_.focus.trigger()            # F6: back
    assert win.focused_panel() is None
    assert {n for n, d in win.docks.items() if not d.isHidden()} == shown
    from bpviz.gui.actions import SHORTCUTS

    assert any(k == "F6" for k, _ in SHORTCUTS)
    assert win.actions_.focus.shortcut().toString() == "F6"


def test_presentation_floors_every_caption_and_readout_at_the_body_size(window, qtbot):
    """Readouts ("colour scale ±…"), the Data and Loss captions and the titles: never
    below the body text of presentation mode, however narrow their panel."""
    from bpviz.gui.views.fitlabel import FitLabel, body_floor

    ctx, win = window((1366, 768), True)
    body = round(QApplication.font().pointSizeF())
    assert body_floor() == body
    qtbot.wait(200)
    labels = [w for w in win.findChildren(FitLabel) if w.isVisible()]
    assert len(labels) >= 12            # the matrices' titles and readouts, the captions
    small = [(w.plain_text(), w.point_size()) for w in labels if w.point_size() < body]
    assert small == []
    win.set_presentation(False)
    assert body_floor() is None


@pytest.mark.parametrize("size", [(1024, 768), (1366, 768)], ids=["1024", "1366"])
def test_titles_and_readouts_keep_shape_and_scale_in_presentation(window, qtbot, size):
    ctx, win = window(size, True)
    matrices = win.panels["matrices"]
    win.raise_view("matrices")
    qtbot.waitUntil(lambda: layout.in_front(win.docks["matrices"]), timeout=T)
    qtbot.wait(300)
    for key in matrices.shown():
        hm = matrices.heatmap(*key)
        label = hm.title_label()
        shape = hm.title().rpartition(" — ")[2]
        assert not label.is_elided() and label.text().endswith(shape), (key, label.text())
        assert label.fontMetrics().horizontalAdvance(label.text()) <= label.width()
        readout = hm._readout                 # the scale's number stays, not "colour scale …"
        assert not readout.is_elided(), (key, readout.text())


def test_loss_legend_sits_above_the_plot_area(window, qtbot):
    for size in ((1024, 768), (1366, 768)):
        ctx, win = window(size, True)
        win.raise_view("loss")
        dock = win.docks["loss"]
        qtbot.waitUntil(lambda d=dock: layout.in_front(d), timeout=T)
        qtbot.wait(300)
        panel = win.panels["loss"]
        pi = panel.plot_item()
        legend = panel._legend
        box = legend.mapRectToScene(legend.boundingRect())
        view = pi.vb.mapRectToScene(pi.vb.boundingRect())
        assert box.bottom() <= view.top() + 1, (size, box, view)      # not over the curves
        assert 0 <= box.left() and box.right() <= panel._plot.width() + 1, size
        for _, label in legend.items:                                  # every entry whole
            lb = label.mapRectToScene(label.item.boundingRect())
            assert lb.right() <= panel._plot.width() + 1, (size, label.text)
        assert len(legend.items) == 3 and "test" in [lb.text for _, lb in legend.items]
