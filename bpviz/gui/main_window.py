"""The main window: one dock per registered panel, menus, toolbar, status bar.

The panels connect to the controller's signals themselves (``specChanged``,
``datasetChanged``, ``notationChanged`` ...; :mod:`bpviz.gui.contract`). The
window forwards only what depends on the window: each published snapshot, drawn
once and only in visible panels (a hidden panel gets the history it missed when
it is shown again: the records without their matrices, bounded in bytes),
``clear`` on a reset, presentation mode, and the hovered sample from the
matrices to the data view. It keeps the layout in QSettings (versioned, with
View ▸ Reset layout).
"""

from __future__ import annotations

import os
import time
import warnings
import weakref
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QToolBar,
    QWidget,
)

from .. import __version__
from . import layout
from . import panels as registry
from .actions import SHORTCUTS, install_actions
from .contract import Panel
from .controller import Controller, default_preset_name
from .document import DocumentMixin
from .gui_share import HEARTBEAT_S
from .history import recorded_snapshot
from .snapshot import MAX_MISSED_BYTES, RecordBuffer, Snapshot
from .snapshot_build import pooled_matrices
from .timeline import Timeline
from .widgets import StatusField, shield

if TYPE_CHECKING:
    from ..engine.presets import Preset
    from .recovery import Recovery
    from .views.matrices import MatrixPanel

#: Bump when the default layout changes: older saved layouts are then ignored.
LAYOUT_VERSION = 5
#: Docks hidden in presentation mode (editing controls; the toolbar keeps Play/Step/Reset).
PRESENTATION_HIDDEN = ("network", "settings")
#: Status fields hidden in presentation mode (the toolbar names the backend), so that the
#: others keep their full text in large type.
PRESENTATION_STATUS_HIDDEN = ("fps", "backend")
#: Seconds between two publications of the heatmaps' size to the worker (its view budget).
BUDGET_S = 0.5

#: The status bar's loss field, sized for its longest text (with L1/L2: the total too).
_LOSS_FIELD = "loss 8.888e+88"
_LOSS_FIELD_REG = "loss 8.888e+88, with L1/L2 8.888e+88"


class MainWindow(DocumentMixin, QMainWindow):
    """The bpviz window around a :class:`Controller`."""

    def __init__(self, ctx: Controller, settings: QSettings | None = None,
                 restore_layout: bool = True, save_layout: bool = True,
                 size: tuple[int, int] | None = None) -> None:
        """``size`` (width, height): open at that size (``--size``), else at a size
        that fits the screen; the default layout is chosen for it."""
        super().__init__()
        self.ctx = ctx
        self.settings = settings if settings is not None else QSettings("bpviz", "bpviz")
        self._save_layout = save_layout
        self.setObjectName("bpviz-main")
        self.setDockNestingEnabled(True)
        self.setCorner(Qt.Corner.TopLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.TopRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.docks: dict[str, QDockWidget] = {}
        #: the panels by name, each built when first shown or asked for (registry.PanelSet)
        self.panels = registry.PanelSet(self._build_panel)
        self._missed: dict[str, RecordBuffer] = {}
        self._budget_t = -1.0
        self.frames = 0
        self.last_snapshot: Any = None  # the snapshot drawn last
        self.first_frame_at: float | None = None
        self._fps_t0, self._fps_n, self.fps = time.perf_counter(), 0, 0.0
        #: the recovery file saved every minute (:mod:`bpviz.gui.recovery`), if started
        self.recovery: Recovery | None = None
        self._focus_state: tuple[str, QByteArray] | None = None  # (panel, layout before)
        self._presentation_state: QByteArray | None = None
        #: the kept step on screen (the timeline), None while the newest is shown
        self.viewing: Snapshot | None = None
        self.actions_ = install_actions(self)
        self._build_timeline()
        self._build_docks()
        self._build_status()
        self._connect()
        self.resize(*layout.initial_size(self, size))
        self.apply_default_layout()
        self._needs_sizing = not (restore_layout and self.restore_layout())
        self.show_preset_views(ctx.preset)
        self._sync_actions()
        self._update_title()
        self._frame_t0: float | None = None
        self._beat = QTimer(self)
        self._beat.setInterval(round(HEARTBEAT_S * 1000))
        self._beat.timeout.connect(self._heartbeat)
        self._beat.start()
        ctx.worker.attach_gui()
        QTimer.singleShot(0, self._on_snapshot)  # the snapshot published before we connected

    # ------------------------------------------------------------ docks
    def _build_docks(self) -> None:
        for info in registry.PANELS:
            dock = QDockWidget(info.title, self)
            dock.setObjectName(info.name)
            dock.setWidget(QWidget())   # the panel's place until it is built
            dock.setTitleBarWidget(layout.DockTitleBar(dock, self))
            # no closure over self: a Qt connection holding the window would keep it alive
            dock.visibilityChanged.connect(partial(_dock_shown, weakref.ref(self), info.name))
            self.docks[info.name] = dock
            self._missed[info.name] = RecordBuffer(MAX_MISSED_BYTES)
            self.view_menu.addAction(dock.toggleViewAction())
        for info in registry.PANELS:   # the default layout's now, the others when shown
            if info.visible_by_default:
                self.panels[info.name]
        # no pairwise wiring: the panels link through ctx.selection themselves
        self.view_menu.addSeparator()
        for act in (self.actions_.reset_layout, self.actions_.presentation,
                    self.actions_.focus, self.actions_.fullscreen):
            self.view_menu.addAction(act)

    def _build_panel(self, name: str) -> Panel:
        """Build the panel ``name`` into its dock (:class:`~.panels.PanelSet` asks)."""
        from .presentation import present_new

        widget = registry.panel(name).factory(self.ctx)
        dock = self.docks[name]
        placeholder = dock.widget()
        dock.setWidget(shield(widget))
        if placeholder is not None:
            placeholder.deleteLater()
        present_new(self, widget)   # (presentation mode: as the others)
        return cast(Panel, widget)

    def apply_default_layout(self) -> None:
        """Put every dock where the registry says, with sensible sizes."""
        layout.apply_default_layout(self)

    def reset_layout(self) -> None:
        self._leave_focus(restore=False)
        self.apply_default_layout()
        QTimer.singleShot(0, lambda: layout.size_docks(self))  # sizes settle after a pass

    def restore_layout(self) -> bool:
        """Take back the saved layout, if it was saved for this screen (one saved on a
        larger screen would not fit; :func:`bpviz.gui.layout.fits` checks the rest
        once the window is shown)."""
        geom = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if int(self.settings.value("window/layout_version", 0) or 0) != LAYOUT_VERSION:
            return False
        screen = layout.screen_size(self)
        saved_screen = self.settings.value("window/screen")
        if screen is not None and saved_screen != f"{screen[0]}x{screen[1]}":
            return False
        ok = False
        if isinstance(geom, QByteArray):
            self.restoreGeometry(geom)
        if isinstance(state, QByteArray):
            ok = self.restoreState(state, LAYOUT_VERSION)
        return ok

    def save_layout(self) -> None:
        """Keep the layout (not a focused panel's or presentation mode's) and the screen."""
        self._leave_focus()
        if self._presentation_state is not None:
            self.set_presentation(False)
        screen = layout.screen_size(self)
        self.settings.setValue("window/screen", f"{screen[0]}x{screen[1]}" if screen else "")
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self.settings.setValue("window/layout_version", LAYOUT_VERSION)
        self.settings.sync()

    def view_state(self) -> dict[str, Any]:
        """What a session file keeps of the window: the open docks, those in front of
        their tab group, and each panel's choices (:meth:`Panel.view_state`)."""
        open_ = [n for n, d in self.docks.items() if not d.isHidden()]
        front = [n for n in open_ if self.docks[n].widget().isVisible()]
        panels = {n: st for n, p in self.panels.built() if (st := p.view_state())}
        return {"docks": {"open": open_, "front": front}, "panels": panels}

    def restore_view_state(self, state: dict[str, Any]) -> None:
        """Take back :meth:`view_state` (from a file: unknown names and values are
        ignored; a panel that raises keeps its choices, the others still restore)."""
        docks = state.get("docks") if isinstance(state, dict) else None
        if isinstance(docks, dict) and isinstance(docks.get("open"), list):
            shown = {n for n in docks["open"] if isinstance(n, str)}
            if shown & set(self.docks):
                for name, dock in self.docks.items():
                    dock.setVisible(name in shown)
            front = docks.get("front")
            for name in front if isinstance(front, list) else ():
                if isinstance(name, str) and name in self.docks and name in shown:
                    self.docks[name].raise_()
        panels = state.get("panels") if isinstance(state, dict) else None
        for name, st in (panels.items() if isinstance(panels, dict) else ()):
            if name in self.panels and isinstance(st, dict):
                try:
                    self.panels[name].restore_view_state(st)
                except Exception as exc:  # noqa: BLE001 - a bad entry must not stop the rest
                    self.ctx.message.emit(f"{name}: its saved view was not restored ({exc})")

    def raise_view(self, name: str) -> bool:
        """Show and raise the dock ``name`` (``--view``); False if there is none."""
        dock = self.docks.get(name)
        if dock is None:
            return False
        dock.show()
        dock.raise_()
        QTimer.singleShot(0, dock.raise_)  # a tab group made before show() needs it again
        QTimer.singleShot(300, self, lambda: layout.give_room(self, name))  # once laid out
        return True

    # ------------------------------------------------------------ signals
    def _connect(self) -> None:
        c = self.ctx
        c.snapshotReady.connect(self._on_snapshot)
        c.trainingReset.connect(self._on_reset)
        c.trainingStateChanged.connect(self._on_playing)
        c.playBlockedChanged.connect(self._sync_actions_on)
        c.configChanged.connect(self._sync_actions_on)
        c.backendChanged.connect(self._sync_actions_on)
        c.message.connect(self._show_message)
        c.documentChanged.connect(self._update_title)
        c.presetChanged.connect(self._on_preset)
        c.diverged.connect(self._on_diverged)
        c.trainingStateChanged.connect(self._play_from_history)
        self.actions_.step.triggered.connect(self._step_from_history)

    def _sync_actions_on(self, _value: object) -> None:
        self._sync_actions()

    def _show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _on_reset(self) -> None:
        self.clear_divergence_notice()
        self._set_viewing(None)   # the history starts again with the new run
        for buffer in self._missed.values():
            buffer.clear()
        for _, panel in self.panels.built():
            panel.clear()

    def show_preset_views(self, preset: Preset) -> None:
        """Open the views a preset asks for; the first one listed ends up in front."""
        for view in reversed(preset.views):
            self.raise_view(view)

    def _on_preset(self, preset: Preset) -> None:
        self.show_preset_views(preset)
        # -1 (an empty box) for a session that has no preset of its own
        self.actions_.preset_combo.setCurrentIndex(self.actions_.preset_combo.findData(preset.name))

    def _on_diverged(self, step: int, loss: float) -> None:
        """Say why training paused, in a field that stays until Play or Reset (the
        status bar's messages vanish)."""
        text = (f"The loss became {loss} at step {step:,}: training paused and the last "
                "finite weights restored. Lower the learning rate, then press Play.")
        self.statusBar().showMessage(text, 0)
        notice = self.divergence_notice
        notice.setText(f"diverged at step {step:,}: lower the learning rate")
        notice.setToolTip(text)
        notice.show()

    def clear_divergence_notice(self) -> None:
        """Hide the divergence notice (training resumed, or fresh weights)."""
        self.divergence_notice.clear()
        self.divergence_notice.setToolTip("")
        self.divergence_notice.hide()

    def _on_playing(self, playing: bool) -> None:
        if playing:
            self.clear_divergence_notice()
        self._sync_actions()
        self._update_status(self.last_snapshot)   # paused: 0 steps/s at once

    def _dock_shown(self, name: str, visible: bool) -> None:
        if not visible:
            return
        if name == "matrices":  # the worker pools its heatmaps again from the next frame
            self.publish_view_budget()
        snap = self.ctx.latest_snapshot()
        panel = self.panels[name]
        if snap is None or not panel.draws_snapshots:
            return
        if self.viewing is not None:   # a kept step is on screen: this panel shows it too
            panel.show_snapshot(self.viewing)
            return
        missed = self._missed[name].take()
        if missed:
            snap = replace(snap, history=missed)
        panel.show_snapshot(snap)

    # ------------------------------------------------------------ frames
    def _heartbeat(self) -> None:
        """Tell the worker the event loop runs; end a frame whose ``_on_snapshot`` raised."""
        self.ctx.worker.gui_alive()
        if self._frame_t0 is not None and time.perf_counter() - self._frame_t0 > 0.1:
            self._end_frame()


    def _end_frame(self) -> None:
        if self._frame_t0 is not None:
            cost = time.perf_counter() - self._frame_t0
            self._frame_t0 = None
            self.ctx.worker.frame_done(cost)

    def _on_snapshot(self) -> None:
        snap = self.ctx.take_snapshot()
        if snap is None:
            return
        if self.viewing is not None and self._hold(snap):
            return
        self._frame_t0 = time.perf_counter()
        self.last_snapshot = snap
        # the loop-vs-vectorized timing is measured (a share of the worker's time) only
        # while its panel is on screen
        compare = self.panels.get("compare")
        self.ctx.worker.compare_enabled = compare is not None and compare.isVisible()
        self.timeline.follow(snap.step.step)
        for name, panel in self.panels.built():
            if not panel.draws_snapshots:
                continue
            if panel.isVisible():
                if self._missed[name]:
                    missed = self._missed[name].take() + snap.history
                    panel.show_snapshot(replace(snap, history=missed))
                else:
                    panel.show_snapshot(snap)
            elif snap.history and panel.draws_history:  # scalars only, bounded in bytes
                self._missed[name].extend(snap.history)
        self.frames += 1
        now = time.perf_counter()
        if self.first_frame_at is None:
            self.first_frame_at = now
        self._fps_n += 1
        if now - self._fps_t0 >= 1.0:
            self.fps = self._fps_n / (now - self._fps_t0)
            self._fps_t0, self._fps_n = now, 0
        if now - self._budget_t >= BUDGET_S:
            self._budget_t = now
            self.publish_view_budget()
        self._update_status(snap)              # every frame: the step the views show
        # the Python part of the frame ends here: Qt paints the heatmaps later without the
        # GIL, so the worker trains on meanwhile (no Python override may wrap that paint)
        self._end_frame()

    # ------------------------------------------------------------ timeline
    def _build_timeline(self) -> None:
        """The timeline row under the toolbar (:mod:`bpviz.gui.timeline`)."""
        self.timeline = Timeline(self.ctx.worker.history, self.settings)
        bar = self.timeline_bar = QToolBar("Timeline")
        bar.setObjectName("timeline_bar")
        bar.addWidget(self.timeline)
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.timeline.scrubbed.connect(self.show_recorded_step)
        self.timeline.newestRequested.connect(self.show_newest_step)

    def show_recorded_step(self, step: int) -> bool:
        """Pause training and show the kept step ``step`` (or the nearest kept one
        before it) in every view, through each panel's ``show_snapshot`` with an
        empty history (:func:`~bpviz.gui.history.recorded_snapshot`); False if
        nothing is kept."""
        entry = self.ctx.worker.history.get(step)
        if entry is None:
            return False
        if self.ctx.is_playing:
            self.ctx.pause()
        snap = recorded_snapshot(entry)
        budget = self.ctx.worker.view_budget
        if budget.side():   # big matrices pooled for the heatmaps' size, as the worker does
            snap = replace(snap, pooled=pooled_matrices(snap.step, budget.side(),
                                                        budget.keys()))
        self.viewing = snap
        for _, panel in self.panels.built():
            if panel.draws_snapshots and panel.isVisible():
                panel.show_snapshot(snap)
        self._update_status(snap)
        latest = self.ctx.latest_snapshot()
        self.timeline.refresh(latest.step.step if latest is not None else entry.step)
        self._set_viewing(snap, entry.exact)
        return True

    def _set_viewing(self, snap: Snapshot | None, exact: bool = True) -> None:
        """The kept step on screen (None: the newest): the window's, the timeline's
        marker, and whether the timeline's row shows."""
        self.viewing = snap
        self.timeline.set_viewing(None if snap is None else snap.step.step, exact)
        self._sync_timeline_bar()

    def _sync_timeline_bar(self) -> None:
        """In presentation mode on a short window (under 900 px) the timeline row gives
        its height to the panels, until a kept step is shown (Alt+←, Home): then it
        is there, with its marker."""
        bar = getattr(self, "timeline_bar", None)
        if bar is None:             # still being built
            return
        short = getattr(self, "_presentation_state", None) is not None and self.height() < 900
        bar.setVisible(not short or self.viewing is not None)

    def show_newest_step(self, note: str = "") -> None:
        """Leave the kept step: every view shows the newest again (with the records
        that came meanwhile); ``note`` goes to the status bar."""
        if self.viewing is not None:
            self.viewing = None
            snap = self.ctx.latest_snapshot()
            if snap is not None:
                for name, panel in self.panels.built():
                    if panel.draws_snapshots and panel.isVisible():
                        panel.show_snapshot(replace(snap, history=self._missed[name].take()))
                self._update_status(snap)
        self._set_viewing(None)
        if note:
            self._show_message(note)

    def _hold(self, snap: Snapshot) -> bool:
        """A snapshot came while a kept step is on screen: Play, Step, Reset or an edit
        go back to the newest (False: draw it); a step that was still training when
        the timeline paused is held (True): its records wait for the curves."""
        if self.ctx.is_playing or snap.extra.get("preview"):
            self._set_viewing(None)
            return False
        for name, panel in self.panels.built():
            if panel.draws_history and snap.history:
                self._missed[name].extend(snap.history)
        self.timeline.refresh(snap.step.step)
        self.ctx.worker.frame_done(0.0)
        return True

    def toggle_play(self) -> None:
        """Play / Pause (Space). Play while the timeline shows a kept step asks first
        (:meth:`ask_continue`): continue exactly from that step, discarding the later
        ones (undoable), or go on from the newest."""
        if self.viewing is not None and not self.ctx.is_playing:
            step = self.viewing.step.step
            latest = self.ctx.latest_snapshot()
            newest = latest.step.step if latest is not None else step
            if step < newest:
                answer = self.ask_continue(step, newest)
                if answer == "cancel":
                    return
                if answer == "continue":
                    self.ctx.continue_from(step)   # plays once the run is back there
                    return
        self.ctx.toggle_play()

    def _leave_history(self, what: str) -> None:
        if self.viewing is None:
            return
        latest = self.ctx.latest_snapshot()
        step = latest.step.step if latest is not None else 0
        self.show_newest_step(f"{what} goes on from step {step:,}, the newest (to continue "
                              "from a kept step, press Play while it is on screen).")

    def _play_from_history(self, playing: bool) -> None:
        if playing:
            self._leave_history("Play")

    def _step_from_history(self) -> None:
        self._leave_history("Step")

    def history_back(self) -> None:
        """Alt+←: the kept step before the one on screen (training pauses)."""
        step = self.timeline.neighbour(-1)
        if step is not None:
            self.show_recorded_step(step)

    def history_forward(self) -> None:
        """Alt+→: the kept step after the one on screen; past the last, the newest."""
        if self.viewing is None:
            return
        step = self.timeline.neighbour(+1)
        latest = self.ctx.latest_snapshot()
        if step is None or latest is None or step >= latest.step.step:
            self.show_newest_step()
        else:
            self.show_recorded_step(step)

    def history_oldest(self) -> None:
        """Home: the oldest kept step (training pauses)."""
        step = self.timeline.oldest()
        if step is not None:
            self.show_recorded_step(step)

    def history_newest(self) -> None:
        """End: back to the newest step."""
        self.show_newest_step()

    def missed_nbytes(self) -> int:
        """Bytes of records kept for the hidden panels (each bounded by ``MAX_MISSED_BYTES``)."""
        return sum(buf.nbytes for buf in self._missed.values())

    def publish_view_budget(self) -> None:
        """Tell the worker how large the matrix heatmaps are drawn (device pixels) and which
        are on screen, so that it sends those larger than that pooled to that size (and
        pools nothing for a hidden matrices panel)."""
        matrices = cast("MatrixPanel", self.panels["matrices"])
        side = matrices.max_plot_side()
        keys = matrices.shown() if matrices.isVisible() else []
        budget = self.ctx.worker.view_budget
        budget.publish(side * self.devicePixelRatioF() if side > 0 else budget.side(), keys)

    # ------------------------------------------------------------ status bar
    def _build_status(self) -> None:
        sb = self.statusBar()
        self.status_labels: dict[str, QLabel] = {}
        for key, tip, template in (
                ("step", "mini-batches trained", "step 888,888,888"),
                ("epoch", "passes over the data", "epoch 8,888,888"),
                ("loss", "loss of the latest mini-batch; with L1/L2 on, also the total "
                         "that the optimizer minimises (loss + penalty)", _LOSS_FIELD),
                ("steps", "mini-batches a second", "888,888 steps/s"),
                ("fps", "frames drawn a second", "888 frames/s"),
                ("backend", "array backend", "numpy (CPU)")):
            lab = StatusField(template)
            lab.setObjectName(f"status_{key}")
            lab.setToolTip(tip)
            sb.addPermanentWidget(lab)
            self.status_labels[key] = lab
        self.divergence_notice = QLabel()
        self.divergence_notice.setObjectName("status_diverged")
        self.divergence_notice.setStyleSheet("color: #b00020; font-weight: bold")
        self.divergence_notice.hide()
        sb.insertPermanentWidget(0, self.divergence_notice)
        self._update_status(None)

    def _update_status(self, snap: Any) -> None:
        L = self.status_labels
        if snap is not None:
            rec = snap.step
            L["step"].setText(f"step {rec.step:,}")
            L["epoch"].setText(f"epoch {rec.epoch:,}")
            L["loss"].set_template(_LOSS_FIELD_REG if rec.penalty else _LOSS_FIELD)
            L["loss"].setText(f"loss {rec.loss:.4g}" + (f", with L1/L2 {rec.objective:.4g}"
                                                        if rec.penalty else ""))
            rate = snap.extra.get("steps_per_s", 0.0) if self.ctx.is_playing else 0.0
            L["steps"].setText(rate_text(rate))
        L["fps"].setText(f"{self.fps:.0f} frames/s")
        L["backend"].setText(self.ctx.backend_name)

    def _sync_actions(self) -> None:
        a, c = self.actions_, self.ctx
        playing = c.is_playing
        a.play.setText("Pause" if playing else "Play")
        a.play.setIcon(self.style().standardIcon(
            self.style().StandardPixmap.SP_MediaPause if playing
            else self.style().StandardPixmap.SP_MediaPlay))
        a.play.setEnabled(playing or not c.play_blocked)
        a.step.setEnabled(not c.play_blocked)
        a.loop.blockSignals(True)
        a.loop.setChecked(c.config.method == "loop")
        a.loop.blockSignals(False)
        a.preset_combo.setCurrentIndex(a.preset_combo.findData(c.preset.name))
        i = a.backend_combo.findData(c.backend_name)
        if i >= 0:
            a.backend_combo.setCurrentIndex(i)

    # ------------------------------------------------------------ view actions
    def set_presentation(self, on: bool) -> None:
        """Presentation mode: large fonts and thick lines (bpviz.gui.presentation)."""
        from .presentation import apply_presentation

        on = bool(on)
        self._leave_focus()
        if on and self._presentation_state is None:
            # the editing panels are not for the back row: hide them, the toolbar stays;
            # the open panels are laid out again for the larger type (tabs rather than
            # slivers on a small screen), and come back as they were afterwards
            self._presentation_state = self.saveState(LAYOUT_VERSION)
            shown = {n for n, d in self.docks.items() if not d.isHidden()}
            apply_presentation(self, True)
            layout.apply_default_layout(self, keep=shown, hidden=PRESENTATION_HIDDEN)
            QTimer.singleShot(0, lambda: layout.size_docks(self))
        elif not on and self._presentation_state is not None:
            state, self._presentation_state = self._presentation_state, None
            apply_presentation(self, False)
            self.restoreState(state, LAYOUT_VERSION)
        self.actions_.presentation.setChecked(on)
        for key in PRESENTATION_STATUS_HIDDEN:   # room for the larger type
            self.status_labels[key].setVisible(not on)
        self._sync_timeline_bar()
        layout.arrange_toolbars(self)
        layout.untruncated_tabs(self)
        QTimer.singleShot(0, self, lambda: layout.arrange_toolbars(self))  # new fonts

    def toggle_focus(self, name: str | bool | None = None) -> None:
        """Show panel ``name`` alone, full window (F6, a dock's title-bar button), or, if
        a panel is shown alone, everything back as it was. Without a name (or the
        action's ``checked`` flag): the panel that holds the keyboard focus, else the
        matrices."""
        name = name if isinstance(name, str) else None
        if self._focus_state is not None:
            self._leave_focus()
            return
        name = name or self._panel_with_focus() or "matrices"
        dock = self.docks.get(name)
        if dock is None:
            return
        self._focus_state = (name, self.saveState(LAYOUT_VERSION))
        dock.setFloating(False)
        for other in self.docks.values():
            if other is not dock:
                other.hide()
        dock.show()
        dock.raise_()
        bar = dock.titleBarWidget()
        if isinstance(bar, layout.DockTitleBar):
            bar.set_focused(True)
        self.actions_.focus.setChecked(True)

    def focused_panel(self) -> str | None:
        """The panel shown alone (:meth:`toggle_focus`), or None."""
        return self._focus_state[0] if self._focus_state is not None else None

    def _leave_focus(self, restore: bool = True) -> None:
        if self._focus_state is None:
            return
        name, state = self._focus_state
        self._focus_state = None
        bar = self.docks[name].titleBarWidget()
        if isinstance(bar, layout.DockTitleBar):
            bar.set_focused(False)
        if restore:
            self.restoreState(state, LAYOUT_VERSION)
        self.actions_.focus.setChecked(False)

    def _panel_with_focus(self) -> str | None:
        from PySide6.QtWidgets import QApplication

        w = QApplication.focusWidget()
        while w is not None:
            if isinstance(w, QDockWidget) and w.objectName() in self.docks:
                return w.objectName()
            w = w.parentWidget()
        return None

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._sync_timeline_bar()
        layout.arrange_toolbars(self)

    def set_fullscreen(self, on: bool) -> None:
        self.showFullScreen() if on else self.showNormal()

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>"
                       for k, v in SHORTCUTS)
        QMessageBox.information(self, "Keyboard shortcuts", f"<table>{rows}</table>")

    def show_about(self) -> None:
        QMessageBox.about(self, "About bpviz", f"<h3>bpviz {__version__}</h3><p>See "
                          "backpropagation: the mini-batch matrices a, δ and dW = δᵀa of "
                          "every layer, live, as heatmaps.</p>")

    def choose_preset(self, name: str) -> None:
        """Switch to preset ``name``, after asking about unsaved work (Cancel keeps all)."""
        if name and name != self.ctx.preset.name:
            if self.keep_work(f"Switch to the preset {name}"):
                self.ctx.load_preset(name)
        self._sync_actions()   # the Preset box names what is loaded, also after Cancel

    def reset_training(self) -> None:
        """Reset (R): fresh weights, step 0, after asking about unsaved work."""
        if self.keep_work("Reset to fresh weights"):
            self.ctx.reset()

    def choose_backend(self, name: str) -> None:
        if not self.ctx.set_backend(name):
            self.error_dialog("Backend", self.ctx.last_error)
        self._sync_actions()

    def new_document(self) -> None:
        name = default_preset_name()
        if name and self.keep_work("Start a new session"):
            self.ctx.load_preset(name)

    def export_png(self, path: str | None = None) -> bool:
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Export window as PNG",
                                                  os.path.expanduser("~/bpviz.png"),
                                                  "PNG image (*.png)")
        if not path:
            return False
        if not self.grab().save(path):
            self.error_dialog("Export", f"could not write {path}")
            return False
        self.ctx.message.emit(f"Saved {path}")
        return True

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self._needs_sizing:  # dock sizes only stick once the window has its size
            self._needs_sizing = False
            QTimer.singleShot(0, lambda: layout.size_docks(self))
        elif self._needs_sizing is False:  # a restored layout that clips a panel is not kept
            self._needs_sizing = None
            QTimer.singleShot(0, self._check_restored)
        layout.arrange_toolbars(self)
        layout.untruncated_tabs(self)

    def _check_restored(self) -> None:
        if not layout.fits(self):
            self.reset_layout()

    # ------------------------------------------------------------ closing
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if not getattr(self, "_released", False) and not self.keep_work("Quit"):
            event.ignore()   # Cancel (or a failed save): the window stays, training goes on
            return
        if self._save_layout:
            self.save_layout()
        self._beat.stop()
        self.ctx.worker.attach_gui(False)
        self.ctx.shutdown()
        # every thread the window's panels started (the timing lab's sweep): child
        # widgets get no closeEvent, and the app's quit signal may never come
        for _, panel in self.panels.built():
            stop = getattr(panel, "shutdown", None)
            if callable(stop):
                stop()
        super().closeEvent(event)
        if event.isAccepted():
            if self.recovery is not None:   # a clean exit: nothing to recover next time
                self.recovery.close_clean()
            self._release()

    def _release(self) -> None:
        """Drop what would keep a closed window alive: Qt connections to Python
        closures over it (a Qt object holds those, out of the garbage collector's reach)
        and the controller's signals into it and its panels."""
        if getattr(self, "_released", False):  # closed twice: nothing left to drop
            return
        self._released = True
        a = self.actions_
        a.keys.detach()
        with warnings.catch_warnings():  # PySide warns about a signal with no receiver
            warnings.simplefilter("ignore", RuntimeWarning)
            # the toolbar's boxes and the window's actions (Faster, Slower, Loop) close
            # over the controller or the window
            signals = [c.activated for c in (a.preset_combo, a.backend_combo, a.speed_combo)]
            signals += [s for act in self.actions() for s in (act.triggered, act.toggled)]
            for signal in signals:
                try:
                    signal.disconnect()
                except (RuntimeError, TypeError):
                    pass
        self.ctx.release_listeners()


def rate_text(rate: float) -> str:
    """The status bar's training rate: ``"0 steps/s"`` (paused), ``"1 step/s"``,
    ``"2.5 steps/s"`` (one decimal below 10), ``"12,879 steps/s"``."""
    text = f"{rate:,.1f}".removesuffix(".0") if 0 < rate < 10 else f"{rate:,.0f}"
    return f"{text} step/s" if text == "1" else f"{text} steps/s"


def _dock_shown(window: weakref.ref[MainWindow], name: str, visible: bool) -> None:
    """A dock's visibility changed: tell its window, if it still exists."""
    win = window()
    if win is not None:
        win._dock_shown(name, visible)
