"""One fitting policy: a preset on a data set builds the same network everywhere.

The rules of :mod:`bpviz.engine.fitting`, then the same preset × data pairs
through the window's real controller and through ``bpviz train``, and the
session that refuses data its trained weights cannot take.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from bpviz.cli import main  # noqa: E402
from bpviz.engine import Network  # noqa: E402
from bpviz.engine.datasets import make_dataset  # noqa: E402
from bpviz.engine.errors import SessionError  # noqa: E402
from bpviz.engine.fitting import Fitted, default_spec, fit_to_data, output_units  # noqa: E402
from bpviz.engine.presets import DataChoice, load_preset, preset_names  # noqa: E402
from bpviz.engine.session import load_session, save_session  # noqa: E402
from bpviz.engine.spec import LayerSpec, NetworkSpec  # noqa: E402


def data(name: str, **kw):
    return DataChoice(name, **kw).load()


# ------------------------------------------------------------------ the rules


def test_xor_on_three_blobs_becomes_softmax_cross_entropy_and_says_so() -> None:
    f = fit_to_data(load_preset("xor").spec, data("blobs", n_classes=3))
    assert f.spec.describe() == "2-2-3 (sigmoid, softmax; cross_entropy)"
    assert f.changes == (
        "output layer: sigmoid → softmax and loss: binary cross-entropy → cross-entropy, "
        "because the data has 3 classes",
    )
    assert f.note == f.changes[0]


def test_a_classifier_on_regression_data_becomes_identity_squared_error() -> None:
    f = fit_to_data(load_preset("digits").spec, data("plane"))
    assert f.spec.describe() == "2-32-1 (tanh, identity; squared_error)"
    assert len(f.changes) == 1
    assert "softmax → identity" in f.changes[0]
    assert "cross-entropy → squared error" in f.changes[0]
    assert "regression" in f.changes[0]


@pytest.mark.parametrize(
    ("preset", "outputs", "loss"),
    [("circle", 1, "binary_cross_entropy"), ("phases", 2, "cross_entropy")],
)
def test_two_classes_keep_the_preset_loss(preset: str, outputs: int, loss: str) -> None:
    f = fit_to_data(load_preset(preset).spec, data("moons"))
    assert (f.spec.outputs, f.spec.loss, f.changes) == (outputs, loss, ())


def test_squared_error_on_classes_is_kept() -> None:
    spec = NetworkSpec(2, (LayerSpec(4, "tanh"), LayerSpec(1, "sigmoid")), "squared_error")
    f = fit_to_data(spec, data("blobs", n_classes=4))
    assert (f.spec.outputs, f.spec.loss, f.spec.layers[-1].activation) == (4, "squared_error",
                                                                          "sigmoid")
    assert f.changes == ()


def test_sizes_follow_the_data_without_a_message() -> None:
    f = fit_to_data(load_preset("digits").spec, data("circle"))
    assert f.spec.describe() == "2-32-2 (tanh, softmax; cross_entropy)"
    assert f.changes == ()


def test_a_tie_that_no_longer_fits_is_dropped_and_said() -> None:
    f = fit_to_data(load_preset("tied").spec, data("digits"))
    assert [ly.tie_to for ly in f.spec.layers] == [None, None, None]
    assert "softmax" in f.spec.describe() and f.spec.inputs == 64
    assert len(f.changes) == 2
    assert "layer 2 no longer reuses layer 1's weights" in f.changes[1]
    assert "2×2" in f.changes[1] and "2×64" in f.changes[1]
    # a tie that still fits is kept
    kept = fit_to_data(load_preset("tied").spec, data("circle"))
    assert kept.spec.layers[1].tie_to == 0 and kept.changes == ()


@pytest.mark.parametrize("name", preset_names())
def test_fitting_is_idempotent(name: str) -> None:
    p = load_preset(name)
    for ds in (p.data.load(), data("blobs", n_classes=4), data("reg_gauss")):
        once = fit_to_data(p.spec, ds)
        assert fit_to_data(once.spec, ds) == Fitted(once.spec, ())


@pytest.mark.parametrize("name", ["circle", "digits", "plane", "blobs"])
def test_default_spec_fits_its_data(name: str) -> None:
    ds = data(name)
    spec = default_spec(ds)
    assert fit_to_data(spec, ds) == Fitted(spec, ())
    assert spec.outputs == output_units(ds.n_classes, ds.n_targets, spec.loss)


def test_default_spec_shapes() -> None:
    assert default_spec(data("digits")).describe() == "64-32-10 (tanh, softmax; cross_entropy)"
    assert default_spec(data("circle")).describe() == (
        "2-16-16-2 (tanh, tanh, softmax; cross_entropy)"
    )
    assert default_spec(data("reg_gauss")).describe() == (
        "2-16-16-1 (tanh, tanh, identity; squared_error)"
    )


def test_output_units() -> None:
    assert output_units(0, 3, "squared_error") == 3
    assert output_units(2, 1, "binary_cross_entropy") == 1
    assert output_units(2, 1, "squared_error") == 1
    assert output_units(2, 1, "cross_entropy") == 2
    assert output_units(5, 1, "squared_error") == 5


# ------------------------------------------------------------------ window == command line

#: (preset, --data NAME, DataChoice fields beyond the name)
PAIRS = [
    ("xor", "blobs", {"n_classes": 3}),
    ("circle", "plane", {}),
    ("digits", "circle", {}),
    ("spiral", "blobs", {"n_classes": 4}),
    ("tied", "digits", {}),
    ("regression", "moons", {}),
    ("phases", "reg_gauss", {}),
]


def _cli(capsys, preset: str, name: str, extra: dict) -> tuple[str, list[str]]:
    argv = ["train", "--preset", preset, "--data", name, "--steps", "0", "--json"]
    if "n_classes" in extra:
        argv += ["--classes", str(extra["n_classes"])]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)["network"], err.strip().splitlines()


@pytest.mark.parametrize(("preset", "name", "extra"), PAIRS)
def test_window_and_command_line_build_the_same_network(
    qtbot, capsys, preset: str, name: str, extra: dict
) -> None:
    from bpviz.gui.controller import Controller

    ctx = Controller(preset=preset, start=False)
    try:
        said: list[str] = []
        ctx.message.connect(said.append)
        assert ctx.set_data_choice(DataChoice(name, **extra))
        window = ctx.spec
    finally:
        ctx.shutdown()
    cli_net, cli_err = _cli(capsys, preset, name, extra)
    assert window.describe() == cli_net
    expected = fit_to_data(load_preset(preset).spec, DataChoice(name, **extra).load())
    assert window == expected.spec
    # every change is told: one stderr line each, and the window's last status message
    assert cli_err == [f"bpviz: {c}" for c in expected.changes]
    if expected.changes:
        assert said[-1] == "; ".join(expected.changes)
    else:
        assert not any("→" in s or "no longer reuses" in s for s in said)


def test_the_xor_pair_of_the_issue_changes_and_says_it(qtbot, capsys) -> None:
    from bpviz.gui.controller import Controller

    ctx = Controller(preset="xor", start=False)
    try:
        with qtbot.waitSignal(ctx.message, timeout=1000,
                              check_params_cb=lambda m: "sigmoid → softmax" in m):
            ctx.set_data_choice(DataChoice("blobs", n_classes=3))
        assert ctx.spec.describe() == "2-2-3 (sigmoid, softmax; cross_entropy)"
    finally:
        ctx.shutdown()
    net, err = _cli(capsys, "xor", "blobs", {"n_classes": 3})
    assert net == "2-2-3 (sigmoid, softmax; cross_entropy)"
    assert len(err) == 1 and "binary cross-entropy → cross-entropy" in err[0]


def test_a_preset_object_that_does_not_fit_its_data_is_fitted_and_said(qtbot) -> None:
    from dataclasses import replace

    from bpviz.gui.controller import Controller

    p = load_preset("circle")
    odd = replace(p, name="odd", data=DataChoice("reg_gauss"))
    ctx = Controller(preset="circle", start=False)
    try:
        said: list[str] = []
        ctx.message.connect(said.append)
        assert ctx.load_preset(odd)
        assert ctx.spec.loss == "squared_error" and ctx.spec.layers[-1].activation == "identity"
        assert "regression" in said[-1] and "→ squared error" in said[-1]
    finally:
        ctx.shutdown()


# ------------------------------------------------------------------ sessions


def _xor_session(tmp_path: Path):
    p = load_preset("xor")
    net = Network(p.spec, seed=1)
    return load_session(save_session(tmp_path / "xor.bpviz", net, p.train, p.data))


def test_a_session_refuses_data_that_would_change_its_network(tmp_path: Path) -> None:
    s = _xor_session(tmp_path)
    with pytest.raises(SessionError) as e:
        s.build(data=DataChoice("blobs", n_classes=3))
    msg = str(e.value)
    assert "2-2-1 (sigmoid, sigmoid; binary_cross_entropy)" in msg
    assert "2-2-3 (sigmoid, softmax; cross_entropy)" in msg and "sigmoid → softmax" in msg
    assert "features" in msg and "\n" not in msg
    # data of the same shape and task keeps the trained weights
    net, _, ds = s.build(dataset=make_dataset("circle", seed=0))
    assert net.spec == s.spec and ds.n_classes == 2


def test_a_session_on_other_data_from_the_command_line_is_one_error_line(
    capsys, tmp_path: Path
) -> None:
    s = _xor_session(tmp_path)
    assert s.spec.outputs == 1
    code = main(["train", "--session", str(tmp_path / "xor.bpviz"), "--data", "plane",
                 "--steps", "0"])
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "binary cross-entropy → squared error" in err


def test_the_windows_builtin_preset_is_the_default_network() -> None:
    """With no preset files, the window opens on the engine's default network: one
    definition of a default network, not a fourth copy in the GUI."""
    from bpviz.gui.controller import builtin_preset

    preset = builtin_preset()
    ds = preset.data.load()
    assert preset.spec == default_spec(ds)
    assert fit_to_data(preset.spec, ds).changes == ()
