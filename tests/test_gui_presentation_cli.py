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
