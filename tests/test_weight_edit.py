"""Editing a weight: exactly that parameter changes, undo restores it bitwise, redo
applies it again, a non-finite or non-numeric value is refused with the network
untouched, and the views get the new weights at once."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_spec

from bpviz.engine import Network
from bpviz.engine.errors import BpvizError
from bpviz.engine.presets import load_preset
from bpviz.gui.weight_edit import check_edit

BAD = (float("nan"), float("inf"), float("-inf"), "x", "", "nan", "1e39", None, True, [1.0])


def _bits(params: dict) -> dict[str, bytes]:
    return {k: np.asarray(v).tobytes() for k, v in params.items()}


# ---------------------------------------------------------------- engine
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_set_parameter_changes_exactly_that_entry_and_restores_bitwise(dtype, seed):
    rng = np.random.default_rng(seed)
    spec = make_spec(5, [(4, "tanh"), (3, "relu")], (2, "softmax"), "cross_entropy",
                     ties=None)
    net = Network(spec, seed=seed, dtype=dtype)
    before = _bits(net.params)
    for key in net.params:
        shape = net.params[key].shape
        index = tuple(int(rng.integers(s)) for s in shape)
        value = float(rng.normal())
        old = net.set_parameter(key, index, value)
        assert old == float(np.frombuffer(before[key], dtype=dtype).reshape(shape)[index])
        assert net.params[key][index] == np.asarray(value, dtype=dtype)
        changed = np.asarray(net.params[key]).copy()
        changed[index] = np.frombuffer(before[key], dtype=dtype).reshape(shape)[index]
        assert changed.tobytes() == before[key], "only that entry changed"
        assert all(_bits(net.params)[k] == before[k] for k in net.params if k != key)
        assert net.set_parameter(key, index, old) == np.asarray(value, dtype=dtype)
        assert _bits(net.params) == before, "undo restores every bit"
        assert net.params[key].dtype == np.dtype(dtype)


@pytest.mark.parametrize("bad", BAD)
def test_set_parameter_refuses_a_non_finite_or_non_numeric_value(bad):
    net = Network(load_preset("xor").spec)
    before = _bits(net.params)
    with pytest.raises(BpvizError, match=r"W0\[1, 0\] must be a (finite )?number"):
        net.set_parameter("W0", (1, 0), bad)
    assert _bits(net.params) == before


@pytest.mark.parametrize("key,index", [("W9", (0, 0)), ("W0", (2, 0)), ("W0", (0,)),
                                       ("b0", (-1,)), ("b0", (0, 0)), ("W0", (0.5, 0))])
def test_set_parameter_refuses_an_entry_that_does_not_exist(key, index):
    net = Network(load_preset("xor").spec)
    before = _bits(net.params)
    with pytest.raises(BpvizError):
        net.set_parameter(key, index, 1.0)
    assert _bits(net.params) == before


def test_a_tied_layer_edits_its_owners_weight():
    spec = make_spec(3, [(3, "tanh"), (3, "tanh")], (2, "softmax"), "cross_entropy",
                     ties={1: 0})
    edit = check_edit(spec, 1, 2, 0, "0.5")
    assert (edit.key, edit.index, edit.value) == ("W0", (2, 0), 0.5)
    assert "W¹" in edit.name and "neuron 3" in edit.name and "input 1" in edit.name
    assert check_edit(spec, 1, 2, None, 1).key == "b0"
    for bad in BAD:
        with pytest.raises(BpvizError):
            check_edit(spec, 0, 0, 0, bad)
    for layer, i, j in [(3, 0, 0), (0, 3, 0), (0, 0, 3), (0, -1, 0), (-1, 0, 0)]:
        with pytest.raises(BpvizError):
            check_edit(spec, layer, i, j, 1.0)


# ---------------------------------------------------------------- controller
@pytest.fixture
def ctx(qtbot):
    from bpviz.gui.controller import Controller

    c = Controller("xor")
    yield c
    c.shutdown()


def _weights(ctx) -> dict[str, np.ndarray]:
    return ctx.call_on_trainer(lambda tr: tr.net.get_weights())


def _settle(ctx, qtbot):
    """Every job queued so far has run and its callbacks reached the GUI thread."""
    ctx.call_on_trainer(lambda tr: None)
    qtbot.wait(20)


def test_controller_edit_undo_redo_through_the_one_queue(ctx, qtbot):
    before = _weights(ctx)
    old = float(before["W0"][1, 0])
    assert ctx.set_weight(0, 1, 0, "0.25")
    _settle(ctx, qtbot)
    after = _weights(ctx)
    assert after["W0"][1, 0] == np.float32(0.25)
    expect = {k: v.copy() for k, v in before.items()}
    expect["W0"][1, 0] = 0.25
    assert _bits(after) == _bits(expect), "exactly that parameter changed"
    snap = ctx.latest_snapshot()
    assert snap.step.weights["W0"][1, 0] == np.float32(0.25), "a fresh snapshot is published"
    cmd = ctx.undo_stack.command(0)
    assert cmd.old_value == old and ctx.undo_stack.canUndo()
    assert "W¹" in ctx.undo_stack.undoText()

    ctx.undo_stack.undo()
    _settle(ctx, qtbot)
    assert _bits(_weights(ctx)) == _bits(before), "undo restores every bit"
    assert ctx.latest_snapshot().step.weights["W0"][1, 0] == before["W0"][1, 0]
    ctx.undo_stack.redo()
    _settle(ctx, qtbot)
    assert _bits(_weights(ctx)) == _bits(expect)

    assert ctx.set_weight(1, 0, None, -3)             # a bias
    _settle(ctx, qtbot)
    assert _weights(ctx)["b1"][0] == np.float32(-3.0)
    ctx.undo_stack.undo()
    ctx.undo_stack.undo()
    _settle(ctx, qtbot)
    assert _bits(_weights(ctx)) == _bits(before)


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "x", "", "1e39", float("nan"), None])
def test_controller_refuses_bad_values_with_the_network_untouched(ctx, qtbot, bad):
    before = _weights(ctx)
    messages = []
    ctx.message.connect(messages.append)
    assert not ctx.set_weight(0, 0, 1, bad)
    _settle(ctx, qtbot)
    assert "must be a" in ctx.last_error and messages
    assert ctx.undo_stack.count() == 0
    assert _bits(_weights(ctx)) == _bits(before)
    for layer, i, j in [(2, 0, 0), (0, 2, 0), (0, 0, 2), (1, 1, None)]:
        assert not ctx.set_weight(layer, i, j, 1.0)
    assert ctx.undo_stack.count() == 0
    assert _bits(_weights(ctx)) == _bits(before)


def test_undo_after_an_edit_while_training_restores_the_value_it_replaced(ctx, qtbot):
    ctx.play()
    qtbot.waitUntil(lambda: ctx.trained_steps() > 5, timeout=10_000)
    assert ctx.set_weight(0, 0, 0, 0.5)
    qtbot.wait(50)
    ctx.pause()
    _settle(ctx, qtbot)
    old = ctx.undo_stack.command(0).old_value
    assert old is not None
    ctx.undo_stack.undo()
    _settle(ctx, qtbot)
    assert _weights(ctx)["W0"][0, 0] == np.float32(old)


def test_new_weights_keep_the_weight_edits_undoable(ctx, qtbot):
    """Reset is an undo entry that brings the edited weights back (bpviz/gui/undo.py),
    so the weight edit under it stays valid; a preset starts a new history."""
    assert ctx.set_weight(0, 0, 0, 0.5)
    assert ctx.undo_stack.count() == 1
    ctx.reset()
    assert ctx.undo_stack.count() == 2
    ctx.undo_stack.undo()
    assert ctx.call_on_trainer(lambda tr: float(tr.net.get_weights()["W0"][0, 0])) == 0.5
    assert ctx.load_preset("xor")
    assert ctx.undo_stack.count() == 0


# ---------------------------------------------------------------- window and views
@pytest.mark.parametrize("notation", ["out_in", "in_out"])
def test_matrix_panel_edit_cell_sets_that_weight_and_the_views_show_it(ctx, qtbot,
                                                                       monkeypatch, notation):
    from PySide6.QtWidgets import QInputDialog

    from bpviz.gui.views.matrices import MatrixPanel

    ctx.set_notation(notation)
    panel = MatrixPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    panel.show()
    panel.show_snapshot(ctx.latest_snapshot())
    asked = []

    def answer(_parent, _title, label, _mode, text):
        asked.append((label, text))
        return "0.75", True

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(answer))
    # display cell (row 0, col 1): W[0, 1] in out×in, W[1, 0] shown transposed in in×out
    assert panel.edit_cell("W", 0, 0, 1)
    i, j = (0, 1) if notation == "out_in" else (1, 0)
    assert f"neuron i = {i + 1}, input j = {j + 1}" in asked[0][0]
    _settle(ctx, qtbot)
    assert _weights(ctx)["W0"][i, j] == np.float32(0.75)
    panel.show_snapshot(ctx.latest_snapshot())
    qtbot.wait(20)
    assert panel.heatmap("W", 0).matrix()[0, 1] == np.float32(0.75)
    assert float(asked[0][1]) == pytest.approx(float(ctx.undo_stack.command(0).old_value))

    assert panel.edit_cell("b", 1, 0, 0)                # the output bias
    _settle(ctx, qtbot)
    assert _weights(ctx)["b1"][0] == np.float32(0.75)
    assert not panel.edit_cell("dW", 0, 0, 0)           # a gradient is not a parameter
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a: ("nan", True)))
    assert not panel.edit_cell("W", 0, 0, 0)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a: ("1", False)))
    assert not panel.edit_cell("W", 0, 0, 0)            # cancelled
    assert ctx.undo_stack.count() == 2


def test_edit_menu_has_undo_and_redo(qtbot, tmp_path):
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QKeySequence

    from bpviz.gui.controller import Controller
    from bpviz.gui.main_window import MainWindow

    ctx = Controller("xor")
    win = MainWindow(ctx, settings=QSettings(str(tmp_path / "b.ini"), QSettings.Format.IniFormat),
                     restore_layout=False, save_layout=False)
    qtbot.addWidget(win)
    try:
        a = win.actions_
        assert a.undo.shortcut() == QKeySequence("Ctrl+Z")
        assert a.redo.shortcut() == QKeySequence("Ctrl+Shift+Z")
        menus = [act.text() for act in win.menuBar().actions()]
        assert "&Edit" in menus
        assert not a.undo.isEnabled()
        before = _weights(ctx)
        assert ctx.set_weight(0, 1, 1, 2.0)
        assert a.undo.isEnabled() and "W¹" in a.undo.text()
        a.undo.trigger()
        _settle(ctx, qtbot)
        assert _bits(_weights(ctx)) == _bits(before)
        assert a.redo.isEnabled()
    finally:
        win.close()
        ctx.shutdown()


def test_the_demo_context_edits_weights_the_same_way(qtbot):
    from bpviz.engine.trainer import Trainer
    from bpviz.gui.views.demo import DemoContext

    p = load_preset("xor")
    ctx = DemoContext(trainer=Trainer(Network(p.spec, seed=1), p.data.load(), p.train))
    net = ctx.trainer.net
    before = net.get_weights()
    assert ctx.set_weight(0, 1, 0, 1.5)
    assert net.params["W0"][1, 0] == np.float32(1.5)
    assert ctx.latest_snapshot().step.weights["W0"][1, 0] == np.float32(1.5)
    ctx.undo_stack.undo()
    assert _bits(net.get_weights()) == _bits(before)
    assert not ctx.set_weight(0, 1, 0, "inf")
    assert _bits(net.get_weights()) == _bits(before)


def test_right_click_on_a_w_cell_offers_to_edit_that_weight(ctx, qtbot, monkeypatch):
    """The way in from the window: the W heatmap's right-click menu, over a cell."""
    from PySide6.QtWidgets import QInputDialog

    from bpviz.gui.views.matrices import MatrixPanel

    panel = MatrixPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    panel.show()
    panel.show_snapshot(ctx.latest_snapshot())
    qtbot.wait(20)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a: ("-0.25", True)))
    menu = panel.heatmap("W", 0).context_menu((1, 0))
    first = menu.actions()[0]
    assert first.text() == "Edit this weight… (row 2, column 1)"
    first.trigger()
    _settle(ctx, qtbot)
    assert _weights(ctx)["W0"][1, 0] == np.float32(-0.25)          # that cell, no other
    assert ctx.undo_stack.count() == 1
    assert not panel.heatmap("W", 0).context_menu().actions()[0].text().startswith("Edit")
    dw_menu = panel.heatmap("dW", 0).context_menu((0, 0))
    assert not any(a.text().startswith("Edit") for a in dw_menu.actions())  # gradients: no


def test_double_click_an_arrow_or_a_neuron_in_the_graph_edits_w_or_b(ctx, qtbot, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    from bpviz.gui.views.graph import NetworkGraph

    graph = NetworkGraph(ctx)
    qtbot.addWidget(graph)
    graph.show_snapshot(ctx.latest_snapshot())
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a: ("1.5", True)))
    assert graph.edit(("edge", 1, 0, 1))               # the arrow from neuron 2 into output 1
    _settle(ctx, qtbot)
    assert _weights(ctx)["W1"][0, 1] == np.float32(1.5)
    assert graph.edit(("node", 1, 1))                  # hidden neuron 2: its bias b¹₂
    _settle(ctx, qtbot)
    assert _weights(ctx)["b0"][1] == np.float32(1.5)
    assert not graph.edit(("node", 0, 0))              # an input has no weight of its own
    assert ctx.undo_stack.count() == 2
