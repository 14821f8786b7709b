"""Slide-ready export: PNG at a scale, SVG, no hover readout or highlight frames, ASCII
default names, a CSV that says what it holds, dialogs that remember the folder."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402

from bpviz.gui.views import export  # noqa: E402
from bpviz.gui.views.heatmap import Heatmap  # noqa: E402


@pytest.fixture
def hm(qtbot):
    w = Heatmap()
    qtbot.addWidget(w)
    w.resize(420, 360)
    w.show()
    qtbot.waitExposed(w)
    w.set_matrix(np.array([[6.4e-5, -3.2e-5], [0.0, 1.1e-5]], dtype=np.float32),
                 "dW² = δᵀa/K — 2×2", "neuron i", "input j")
    return w


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def test_ascii_names():
    assert export.ascii_stem("dW¹ = δᵀa/K — 2×2") == "dW1"
    assert export.ascii_stem("δ²") == "delta2"
    assert export.ascii_stem("W¹ (out×in) — 2×2") == "W1"
    assert export.matrix_file_stem("dW² = δᵀa/K — 1×2", 2, 1500) == "dW2_layer2_step1500"
    assert export._safe_name("dW¹ = δᵀa/K").isascii()


def test_png_is_drawn_at_twice_the_size_by_default_and_at_any_scale(hm, tmp_path):
    png = export.export_widget(hm, tmp_path / "h.png")
    img = QImage(str(png))
    assert (img.width(), img.height()) == (2 * hm.width(), 2 * hm.height())
    png3 = export.export_widget(hm, tmp_path / "h3.png", scale=3)
    assert QImage(str(png3)).width() == 3 * hm.width()
    with pytest.raises(ValueError):
        export.export_widget(hm, tmp_path / "bad.png", scale=0)


def test_export_leaves_out_the_hover_readout_and_the_frames(hm, tmp_path):
    hm.hover_cell(0, 1)
    hm.highlight_cell(0, 1)
    hm.set_highlighted(True)
    readout = hm._readout.text()
    assert "col" in readout or "input" in readout or "=" in readout
    seen = {}

    def spy(on, orig=hm.set_export_mode):
        orig(on)
        if on:
            seen["readout"] = hm._readout.text()
            seen["marks"] = len(hm.graphics_view().selection_items())
            seen["frame"] = hm.graphics_view().frame.pen().widthF()
    hm.set_export_mode = spy
    export.export_widget(hm, tmp_path / "h.png")
    assert seen["readout"].startswith("colour scale ±")
    assert seen["marks"] == 0 and seen["frame"] == 1.0
    # and back as they were
    assert hm._readout.text() == readout and hm.graphics_view().selection_items()
    assert hm.is_highlighted() and hm.graphics_view().frame.pen().widthF() > 1.0


def test_svg_has_the_title_and_the_numbered_colour_bar(hm, tmp_path):
    svg = export.export_widget(hm, tmp_path / "h.svg").read_text(encoding="utf-8")
    assert "<svg" in svg
    for text in ("+6.4", "−6.4", "10"):          # bar numbers, the title's power of ten
        assert text in svg, text


def test_matrix_csv_starts_with_what_it_holds(hm, tmp_path):
    hm.set_export_info(2, 1500)
    assert hm.file_stem() == "dW2_layer2_step1500"
    path = export.save_matrix(hm.matrix(), tmp_path / "m.csv", hm.csv_comment())
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# dW² = δᵀa/K")
    assert "layer 2" in first and "step 1500" in first and "shape 2×2" in first
    np.testing.assert_array_equal(export.load_matrix(path).astype(np.float32), hm.matrix())


def test_dialogs_propose_ascii_names_in_the_last_folder(hm, tmp_path, settings, monkeypatch):
    folder = tmp_path / "slides"
    folder.mkdir()
    export.remember_folder(folder / "x.png", settings)
    asked = []

    def fake(parent, title, start, filt):
        asked.append(start)
        return str(folder / "pic"), export.IMAGE_FILTERS[1]   # "PNG image, 1×"
    monkeypatch.setattr(export, "ask_save_path", fake)
    hm.set_export_info(2, 7)
    out = export.export_widget_dialog(hm, hm, hm.file_stem(), settings=settings)
    assert asked[0] == os.path.join(str(folder), "dW2_layer2_step7.png")
    assert out == folder / "pic.png" and QImage(str(out)).width() == hm.width()  # 1× chosen
    assert export.scale_of_filter(export.IMAGE_FILTERS[0]) == 2.0     # the default: 2×

    def fake_csv(parent, title, start, filt):
        asked.append(start)
        return str(tmp_path / "m.csv"), filt
    monkeypatch.setattr(export, "ask_save_path", fake_csv)
    export.save_matrix_dialog(hm.matrix(), hm, hm.file_stem(), hm.csv_comment(), settings)
    assert asked[1] == os.path.join(str(folder), "dW2_layer2_step7.csv")
    assert settings.value(export.FOLDER_KEY) == str(tmp_path.resolve())   # remembered
    assert (tmp_path / "m.csv").read_text(encoding="utf-8").startswith("# dW²")
