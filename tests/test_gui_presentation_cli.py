"""``bpviz gui --presentation``: starts in presentation mode (big fonts, editing docks hidden)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402


def test_presentation_flag_starts_in_presentation_mode(qtbot, monkeypatch):
    from bpviz.gui import app as gui_app

    seen = {}
    real_build = gui_app.build

    def spy_build(*args, **kwargs):
        ctx, win = real_build(*args, **kwargs)
        seen["win"] = win
        seen["font_before"] = QApplication.font().pointSizeF()
        return ctx, win

    monkeypatch.setattr(gui_app, "build", spy_build)
    checked = {}

    class Probe:
        def __init__(self, *a, **k):
            win = seen["win"]
            checked["on"] = win.actions_.presentation.isChecked()
            checked["network_hidden"] = win.docks["network"].isHidden()
            checked["font_after"] = QApplication.font().pointSizeF()
            win.set_presentation(False)  # restore the app font for later tests
            self.rc = 0

        def exec(self):
            return 0

    monkeypatch.setattr(gui_app, "AutoRun", Probe)
    assert gui_app.run_gui(preset="xor", run_for=0.1, presentation=True) == 0
    assert checked["on"] and checked["network_hidden"]
    assert checked["font_after"] > 1.5 * seen["font_before"]


def test_a_screenshot_is_taken_paused_with_the_readouts_caught_up(monkeypatch, tmp_path):
    """``--run-for S --screenshot F``: training is paused before the grab and the
    throttled readouts ("colour scale ±s") had time to show the drawn step."""
    from bpviz.gui import app as gui_app
    from bpviz.gui.main_window import MainWindow
    from bpviz.gui.views.scaling import format_value

    seen = {}
    real = MainWindow.grab

    def grab(self, *a):
        seen["playing"] = self.ctx.is_playing
        heat = self.panels["matrices"].heatmap("W", 0)
        seen["readout"], seen["scale"] = heat._readout.plain_text(), heat.scale()  # shown
        return real(self, *a)

    monkeypatch.setattr(MainWindow, "grab", grab)
    assert gui_app.run_gui(preset="xor", run_for=0.5, screenshot=str(tmp_path / "s.png")) == 0
    assert seen["playing"] is False
    assert seen["readout"].endswith(f"±{format_value(seen['scale'])}")
