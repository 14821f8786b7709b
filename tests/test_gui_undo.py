"""Undo / redo (Edit ▸ Undo, Ctrl+Z; Redo, Ctrl+Shift+Z) of each kind of edit through
the real Controller and window: settings, network, data (choice, regenerate,
import), Reset, and weight edits across a network change."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from bpviz.engine import LayerSpec  # noqa: E402
from bpviz.gui.controller import Controller  # noqa: E402
from bpviz.gui.main_window import MainWindow  # noqa: E402

T = 20_000


@pytest.fixture
def win(qtbot, tmp_path):
    ctx = Controller("circle")
    w = MainWindow(ctx, settings=QSettings(str(tmp_path / "u.ini"), QSettings.Format.IniFormat),
                   restore_layout=False, save_layout=False)
    w.errors = []
    w.error_dialog = lambda title, text: w.errors.append(text)
    qtbot.addWidget(w)
    w.show()
    w.activateWindow()
    qtbot.waitExposed(w)
    yield w
    w.close()
    ctx.shutdown()


def on_trainer(ctx, fn):
    return ctx.call_on_trainer(fn)


def weights(ctx):
    return on_trainer(ctx, lambda tr: tr.net.get_weights())


def train(qtbot, ctx, n):
    target = on_trainer(ctx, lambda tr: tr.step) + n
    for _ in range(n):
        ctx.step()
    qtbot.waitUntil(lambda: on_trainer(ctx, lambda tr: tr.step) >= target, timeout=T)


def undo_key(win, redo=False):
    mods = Qt.KeyboardModifier.ControlModifier
    if redo:
        mods |= Qt.KeyboardModifier.ShiftModifier
    QTest.keyClick(win, Qt.Key.Key_Z, mods)


@pytest.mark.parametrize("field, value", [("lr", 0.03), ("optimizer", "adam"),
                                          ("batch_size", 5), ("l1", 0.01), ("l2", 0.002),
                                          ("method", "loop")])
def test_undo_redo_of_a_training_setting(qtbot, win, field, value):
    ctx, sp = win.ctx, win.panels["settings"]
    old = getattr(ctx.config, field)
    assert ctx.update_config(**{field: value})
    train(qtbot, ctx, 2)
    undo_key(win)                       # Ctrl+Z, as a user
    assert getattr(ctx.config, field) == old
    assert on_trainer(ctx, lambda tr: getattr(tr.config, field)) == old
    assert on_trainer(ctx, lambda tr: tr.step) == 2     # the training done since stays
    shown = {"lr": lambda: float(sp.lr_edit.text()), "optimizer": sp.optimizer.currentText,
             "batch_size": sp.batch.value, "l1": lambda: float(sp.l1.text()),
             "l2": lambda: float(sp.l2.text()), "method": sp.method.currentText}[field]
    assert shown() == old                               # the panel shows it
    undo_key(win, redo=True)
    assert getattr(ctx.config, field) == value and shown() == value
    assert on_trainer(ctx, lambda tr: getattr(tr.config, field)) == value


def test_quick_edits_of_one_setting_are_one_undo_entry(win):
    ctx = win.ctx
    old = ctx.config.lr
    for v in (0.2, 0.3, 0.4):          # a slider drag
        ctx.update_config(lr=v)
    assert ctx.undo_stack.count() == 1
    assert "learning rate" in ctx.undo_stack.undoText()
    ctx.undo_stack.undo()
    assert ctx.config.lr == old
    ctx.undo_stack.redo()
    assert ctx.config.lr == 0.4


def test_undo_of_a_network_change_brings_back_the_trained_network(qtbot, win):
    ctx, editor = win.ctx, win.panels["network"]
    train(qtbot, ctx, 3)
    old_spec, old_w = ctx.spec, weights(ctx)
    new = old_spec.__class__(old_spec.inputs, (LayerSpec(5, "relu"), old_spec.layers[-1]),
                             loss=old_spec.loss, reduction=old_spec.reduction,
                             init=old_spec.init)
    assert ctx.set_spec(new)
    assert on_trainer(ctx, lambda tr: tr.step) == 0
    train(qtbot, ctx, 2)
    trained_new = weights(ctx)
    ctx.undo_stack.undo()
    assert ctx.spec == old_spec and on_trainer(ctx, lambda tr: tr.net.spec) == old_spec
    assert on_trainer(ctx, lambda tr: tr.step) == 3
    back = weights(ctx)
    assert all(np.array_equal(back[k], old_w[k]) for k in old_w)
    assert editor.row(0).units.text() == str(old_spec.layers[0].units)   # the editor shows it
    ctx.undo_stack.redo()
    assert ctx.spec.layers[0].units == 5 and on_trainer(ctx, lambda tr: tr.step) == 2
    again = weights(ctx)
    assert all(np.array_equal(again[k], trained_new[k]) for k in trained_new)
    assert editor.row(0).units.text() == "5"


def test_undo_of_data_choices_and_regenerate(qtbot, win):
    ctx, sp = win.ctx, win.panels["settings"]
    first, first_ds = ctx.data_choice, ctx.dataset
    assert ctx.set_data_choice(dict(first.to_dict(), noise=0.3))
    assert ctx.regenerate()
    assert ctx.set_data_choice(dict(ctx.data_choice.to_dict(), name="xor"))
    ctx.undo_stack.undo()              # xor → regenerated circle
    assert ctx.data_choice.name == first.name and ctx.data_choice.seed == first.seed + 1
    assert sp.dataset.currentData() == first.name
    ctx.undo_stack.undo()              # regenerate
    assert ctx.data_choice.seed == first.seed and abs(sp.noise.value() - 0.3) < 1e-9
    ctx.undo_stack.undo()              # noise
    assert ctx.data_choice == first and ctx.dataset is first_ds
    assert abs(sp.noise.value() - first.noise) < 1e-9
    n = on_trainer(ctx, lambda tr: len(tr.data.X_train))
    assert n == len(first_ds.X_train)
    for _ in range(3):
        ctx.undo_stack.redo()
    assert ctx.data_choice.name == "xor" and sp.dataset.currentData() == "xor"


def test_undo_of_a_csv_import(qtbot, win, tmp_path):
    ctx = win.ctx
    first = ctx.data_choice
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,c,label",
               comments="", fmt="%.6g")
    assert ctx.import_csv(str(path)), ctx.last_error
    assert ctx.spec.inputs == 3
    ctx.undo_stack.undo()
    assert ctx.data_choice == first and ctx.spec.inputs == 2
    assert on_trainer(ctx, lambda tr: tr.net.spec.inputs) == 2
    ctx.undo_stack.redo()
    assert ctx.data_choice.is_file and on_trainer(ctx, lambda tr: tr.net.spec.inputs) == 3


def test_undo_of_reset_and_of_a_weight_edit_across_a_network_change(qtbot, win):
    ctx = win.ctx
    train(qtbot, ctx, 4)
    trained = weights(ctx)
    ctx.reset()
    assert on_trainer(ctx, lambda tr: tr.step) == 0
    ctx.undo_stack.undo()                              # Reset undone: trained weights back
    assert on_trainer(ctx, lambda tr: tr.step) == 4
    assert np.array_equal(weights(ctx)["W0"], trained["W0"])
    ctx.undo_stack.redo()
    ctx.undo_stack.undo()
    assert ctx.set_weight(0, 0, 0, 1.5)
    before_spec = ctx.spec
    assert ctx.set_spec(before_spec.__class__(before_spec.inputs,
                                              (LayerSpec(3, "tanh"), before_spec.layers[-1]),
                                              loss=before_spec.loss))
    ctx.undo_stack.undo()                              # network back, with the edited weight
    assert weights(ctx)["W0"][0, 0] == np.float32(1.5)
    ctx.undo_stack.undo()                              # the weight edit
    assert weights(ctx)["W0"][0, 0] == trained["W0"][0, 0]


def test_a_preset_starts_a_new_history(win):
    ctx = win.ctx
    ctx.update_config(lr=0.05)
    assert ctx.undo_stack.canUndo()
    assert ctx.load_preset("xor")
    assert not ctx.undo_stack.canUndo()


def test_the_edit_menu_names_the_edit(win):
    ctx = win.ctx
    ctx.update_config(lr=0.05)
    assert "learning rate" in win.actions_.undo.text()
    assert win.actions_.undo.isEnabled()


def _with_units(spec, units):
    return spec.__class__(spec.inputs, (LayerSpec(units, "relu"), spec.layers[-1]),
                          loss=spec.loss, reduction=spec.reduction, init=spec.init)


def test_undo_is_bounded_in_bytes(qtbot, win, monkeypatch):
    """The earlier networks and data the stack holds stay within a byte budget: a network
    edit past it makes undo forget the edits before it (and says so); the newest edit
    still undoes; one too big alone is not undoable, and says why."""
    from bpviz.gui import controller as controller_mod
    from bpviz.gui.undo import ModelStateCommand, held_nbytes

    ctx = win.ctx
    said = []
    ctx.message.connect(said.append)

    def held():
        stack = ctx.undo_stack
        return held_nbytes([c.state() for c in (stack.command(i) for i in range(stack.count()))
                            if isinstance(c, ModelStateCommand)], ctx.dataset)

    one = held_nbytes([ctx._capture()], ctx.dataset)
    limit = int(2.5 * one)
    monkeypatch.setattr(controller_mod, "UNDO_MAX_BYTES", limit)
    for units in (6, 7, 8, 9):
        previous = ctx.spec
        assert ctx.set_spec(_with_units(ctx.spec, units))
        assert 0 < held() <= limit, units
    assert ctx.undo_stack.count() < 4
    qtbot.waitUntil(lambda: any("Undo forgot the edits before this one" in m for m in said))
    assert "Undo forgot" in said[-1]          # after the edit's own message, not hidden by it
    ctx.undo_stack.undo()                     # the newest edit still undoes
    assert ctx.spec == previous and ctx.spec.layers[0].units == 8
    monkeypatch.setattr(controller_mod, "UNDO_MAX_BYTES", one // 2)
    assert ctx.set_spec(_with_units(ctx.spec, 12))
    assert ctx.undo_stack.count() == 0
    qtbot.waitUntil(lambda: "cannot be undone" in said[-1] and "MB" in said[-1])


def test_held_bytes_count_each_data_set_once_and_not_the_one_in_use():
    from types import SimpleNamespace

    from bpviz.gui.undo import ModelState, held_nbytes

    a = SimpleNamespace(X_train=np.zeros((100, 10)), y_train=np.zeros(100, dtype=np.int64),
                        X_test=np.zeros((0, 10)), y_test=np.zeros(0, dtype=np.int64))
    b = SimpleNamespace(X_train=np.zeros((50, 10)), y_train=np.zeros(50, dtype=np.int64),
                        X_test=np.zeros((0, 10)), y_test=np.zeros(0, dtype=np.int64))

    def state(ds):
        return ModelState(None, None, ds, None, {"W0": np.zeros((4, 3))},
                          {"optimizer": {"slots": {"v.W0": np.zeros((4, 3))}}})

    w = 2 * 4 * 3 * 8
    assert held_nbytes([state(a)], in_use=a) == w
    assert held_nbytes([state(a), state(a)], in_use=b) == 2 * w + 100 * 10 * 8 + 100 * 8
    assert held_nbytes([state(a), state(b)], in_use=None) == \
        2 * w + (100 + 50) * (10 * 8 + 8)
