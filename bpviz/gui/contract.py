"""The typed contract between the panels, the controller and the main window.

* :class:`PanelContext` is everything a panel may ask of the controller: its
  signals, the state it reads (``spec``, ``dataset``, ``config``, ``notation``,
  ...) and the calls it makes (``run_on_trainer``, ``set_notation``, ...). A
  panel receives it in its constructor and connects to the signals it needs
  itself; nothing forwards them a second time.
* :class:`Panel` is what the main window calls on every dock panel:
  ``show_snapshot`` (only while visible; a hidden panel gets the history it
  missed when shown again), ``clear`` (training was reset) and
  ``set_presentation``. :class:`PanelMixin` gives the no-op defaults, so the
  window calls them without probing.

The real :class:`bpviz.gui.controller.Controller` satisfies
:class:`PanelContext` (a test checks every member); views and tests use the
one stand-in, :class:`bpviz.gui.views.demo.DemoContext`. This module imports
neither the controller nor the worker: only engine records, specs and the
snapshot, for the types, and the selection model every context owns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from .notation import NOTATIONS
from .selection import Selection

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance

    from ..engine.datasets import Dataset
    from ..engine.presets import DataChoice, Preset
    from ..engine.records import StepRecord
    from ..engine.spec import NetworkSpec
    from ..engine.trainer import TrainConfig, Trainer
    from .snapshot import Snapshot


@runtime_checkable
class PanelContext(Protocol):
    """What a panel may use of the controller (signals, state, calls).

    Signals (Qt signals on the object, connected by the panels themselves)
    ----------------------------------------------------------------------
    specChanged(NetworkSpec), datasetChanged(Dataset), snapshotReady(),
    trainingStateChanged(bool playing), notationChanged(str),
    message(str), highlightRequested(str kind, int engine layer),
    configChanged(TrainConfig), dataChoiceChanged(DataChoice),
    trainingReset(), playBlockedChanged(bool), presetChanged(Preset).
    """

    specChanged: SignalInstance
    datasetChanged: SignalInstance
    snapshotReady: SignalInstance
    trainingStateChanged: SignalInstance
    notationChanged: SignalInstance
    message: SignalInstance
    highlightRequested: SignalInstance
    configChanged: SignalInstance
    dataChoiceChanged: SignalInstance
    trainingReset: SignalInstance
    playBlockedChanged: SignalInstance
    presetChanged: SignalInstance

    #: The network (layer ``i`` has W of shape m×n, out × in).
    spec: NetworkSpec
    #: The data set the trainer uses.
    dataset: Dataset
    #: The training settings (batch size, learning rate, optimizer, ...).
    config: TrainConfig
    #: ``"out_in"`` or ``"in_out"`` (see :mod:`bpviz.gui.notation`).
    notation: str
    #: The preset loaded last (lesson text, views to open).
    preset: Preset
    #: How the data set was made (name, noise, seed, CSV path, ...).
    data_choice: DataChoice
    #: Why the last call returned False ("" if none did).
    last_error: str
    #: The one selection every panel reports to and draws (:mod:`bpviz.gui.selection`).
    selection: Selection

    @property
    def is_playing(self) -> bool:
        """Whether training runs."""
        ...

    def latest_snapshot(self) -> Snapshot | None:
        """The latest published snapshot (not marked as drawn), or None."""
        ...

    def run_on_trainer(self, job: Callable[[Trainer], Any], done: Callable[[Any], None],
                       error: Callable[[str], None] | None = None) -> None:
        """``job(trainer)`` on the training thread between mini-batches; ``done(result)``
        (or ``error(message)``) back on the GUI thread."""
        ...

    def call_on_trainer(self, job: Callable[[Trainer], Any], timeout: float = 30.0) -> Any:
        """``job(trainer)`` on the training thread; waits for and returns its result."""
        ...

    def set_notation(self, notation: str) -> None:
        """Switch the displayed notation; emits ``notationChanged`` when it changes."""
        ...

    def request_highlight(self, kind: str, layer: int) -> None:
        """Ask the matrix panel to flash heatmap ``kind`` of engine layer ``layer``."""
        ...

    def effective_batch_size(self) -> int:
        """K: the configured batch size, at most the number of training samples."""
        ...

    def set_step_handler(self, handler: Callable[[], bool] | None) -> None:
        """While ``handler`` is set, the toolbar's Step calls it instead of a mini-batch step."""
        ...

    def publish_step_record(self, rec: StepRecord) -> None:
        """Publish a finished step to every view; call it on the training thread,
        inside a :meth:`run_on_trainer` job (the phase stepper's update does)."""
        ...

    def set_spec(self, spec: NetworkSpec) -> bool:
        """Use a new network (fresh weights); False and ``message`` if invalid."""
        ...

    def set_data_choice(self, choice: DataChoice | dict[str, Any]) -> bool:
        """Load another data set; False and ``message`` if it fails."""
        ...

    def update_config(self, **changes: Any) -> bool:
        """Change training settings live; False and ``message`` if a value is bad."""
        ...

    def set_method(self, method: str) -> bool:
        """``"vectorized"`` or ``"loop"`` backprop."""
        ...

    def set_weight(self, layer: int, i: int, j: int | None, value: Any) -> bool:
        """Set ``W[i, j]`` (``b[i]`` when ``j`` is None) of engine layer ``layer`` (engine
        indices, out × in) to ``value`` (a number or typed text), undoably; False and
        ``message`` if the entry does not exist or the value is not a finite number."""
        ...

    def regenerate(self) -> bool:
        """Draw the same synthetic data set again with the next seed."""
        ...

    def set_play_blocked(self, blocked: bool, reason: str, key: str = "network") -> None:
        """Block (or unblock) Play, e.g. while an editor holds invalid input."""
        ...

    def has_trained_weights(self) -> bool:
        """Whether at least one mini-batch has been trained."""
        ...

    def trained_steps(self) -> int:
        """Mini-batches trained so far."""
        ...


@runtime_checkable
class Panel(Protocol):
    """What the main window calls on a dock panel."""

    #: Whether the panel draws snapshots.
    draws_snapshots: ClassVar[bool]
    #: Whether it draws ``snap.history`` (curves): the window keeps the records a hidden
    #: one missed only for those.
    draws_history: ClassVar[bool]

    def show_snapshot(self, snap: Snapshot) -> None:
        """Draw a published snapshot (``snap.history`` holds the records since the last)."""
        ...

    def clear(self) -> None:
        """Training was reset: forget what was drawn."""
        ...

    def set_presentation(self, on: bool) -> None:
        """Presentation mode: big fonts and thick lines."""
        ...

    def isVisible(self) -> bool:  # noqa: N802 - Qt API
        """Whether the panel is on screen (it is a QWidget)."""
        ...

    def view_state(self) -> dict[str, Any]:
        """The panel's choices as a small JSON object (saved in session files)."""
        ...

    def restore_view_state(self, state: dict[str, Any]) -> None:
        """Take back what :meth:`view_state` gave (from a file: check every value)."""
        ...


class PanelMixin:
    """No-op defaults of :class:`Panel`; put it first among a panel's bases."""

    draws_snapshots: ClassVar[bool] = False
    draws_history: ClassVar[bool] = False

    def show_snapshot(self, snap: Snapshot) -> None:
        """Nothing to draw."""

    def clear(self) -> None:
        """Nothing to forget."""

    def set_presentation(self, on: bool) -> None:
        """Nothing to enlarge."""

    def view_state(self) -> dict[str, Any]:
        """No choices to save."""
        return {}

    def restore_view_state(self, state: dict[str, Any]) -> None:
        """No choices to restore."""


class ContextMixin:
    """The parts of :class:`PanelContext` that every context does the same way, the
    real controller and the stand-in alike: failing with a message, switching the
    notation, asking for a highlight and blocking Play. Put it first among the bases.
    The class provides ``message``, ``notationChanged``, ``highlightRequested``,
    ``playBlockedChanged``, ``is_playing``, ``pause()`` and ``trained_steps()``,
    and calls :meth:`_make_selection` in its ``__init__``.
    """

    notation: str
    last_error: str
    _play_blocked: dict[str, str]
    selection: Selection

    def _make_selection(self) -> None:
        """Make ``self.selection``, forgotten when the network or the data set changes."""
        self.selection = Selection(self)
        self.specChanged.connect(self.selection.clear)
        self.datasetChanged.connect(self.selection.clear)

    def _fail(self, msg: str) -> bool:
        """Say what is wrong (status bar, the panel that asked) and return False."""
        self.last_error = msg
        self.message.emit(msg)
        return False

    def set_notation(self, notation: str) -> None:
        if notation not in NOTATIONS:
            self._fail(f"unknown notation {notation!r}; use out_in or in_out")
            return
        if notation != self.notation:
            self.notation = notation
            self.notationChanged.emit(notation)

    def request_highlight(self, kind: str, layer: int) -> None:
        self.highlightRequested.emit(kind, int(layer))

    def set_play_blocked(self, blocked: bool, reason: str, key: str = "network") -> None:
        """Block Play (e.g. while the layer editor holds invalid input); pauses if playing."""
        was = bool(self._play_blocked)
        if blocked:
            self._play_blocked[key] = reason
        else:
            self._play_blocked.pop(key, None)
        if blocked and self.is_playing:
            self.pause()
        if was != bool(self._play_blocked):
            self.playBlockedChanged.emit(bool(self._play_blocked))

    @property
    def play_blocked(self) -> bool:
        return bool(self._play_blocked)

    def has_trained_weights(self) -> bool:
        return self.trained_steps() > 0
