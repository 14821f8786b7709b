"""The command line: bpviz train / gradcheck / presets, in-process through main(argv)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import bpviz.cli as cli
from bpviz.cli import main
from bpviz.engine.presets import preset_names
from bpviz.engine.session import load_session, save_session
from bpviz.engine.trainer import Trainer

REPO = Path(__file__).resolve().parents[1]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str) -> dict:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    return json.loads(lines[0])


# ------------------------------------------------------------------ train


def test_xor_preset_reaches_100_percent(capsys) -> None:
    r = run_json(capsys, "train", "--preset", "xor")
    assert r["train_accuracy"] == 1.0
    assert r["test_accuracy"] is None  # the four points are all training data
    assert r["steps"] == 1000 and r["preset"] == "xor"
    assert r["backend"] == "numpy" and r["method"] == "vectorized"
    for key in ("seconds", "steps_per_s", "loss"):
        assert r[key] > 0


def test_train_text_summary(capsys) -> None:
    code, out, err = run(capsys, "train", "--preset", "circle", "--steps", "30")
    assert code == 0
    assert "circle" in out and "30 steps" in out and "test accuracy" in out
    assert "Traceback" not in err


def test_regression_has_null_accuracy(capsys) -> None:
    r = run_json(capsys, "train", "--preset", "regression", "--steps", "20")
    assert r["train_accuracy"] is None and r["test_accuracy"] is None
    assert r["loss"] > 0 and r["test_loss"] > 0


def test_steps_0_only_evaluates(capsys) -> None:
    r = run_json(capsys, "train", "--preset", "digits", "--steps", "0")
    assert r["steps"] == 0 and r["steps_per_s"] is None
    assert 0 <= r["test_accuracy"] <= 0.4  # untrained: about chance


def test_epochs(capsys) -> None:
    r = run_json(capsys, "train", "--preset", "outer-product", "--epochs", "2", "--batch", "40")
    assert r["epochs"] == 2 and r["batch_size"] == 40
    assert r["steps"] == 6  # 120 training rows, 3 batches of 40 per epoch
    r = run_json(capsys, "train", "--preset", "outer-product", "--epochs", "1", "--batch", "50")
    assert r["steps"] == 2  # the last partial batch of 20 rows waits for the next epoch


@pytest.mark.parametrize(
    "argv, key, value",
    [
        (["--lr", "0.5"], "network", "2-2-1 (sigmoid, sigmoid; binary_cross_entropy)"),
        (["--method", "loop"], "method", "loop"),
        (["--batch", "2"], "batch_size", 2),
        (["--dtype", "float64"], "dtype", "float64"),
    ],
)
def test_overrides(capsys, argv, key, value) -> None:
    r = run_json(capsys, "train", "--preset", "xor", "--steps", "5", *argv)
    assert r[key] == value


def test_loop_and_vectorized_train_alike(capsys) -> None:
    a = run_json(capsys, "train", "--preset", "tied", "--steps", "30", "--dtype", "float64")
    b = run_json(
        capsys,
        "train",
        "--preset",
        "tied",
        "--steps",
        "30",
        "--dtype",
        "float64",
        "--method",
        "loop",
    )
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-9)


def test_data_override_refits_the_network(capsys) -> None:
    r = run_json(
        capsys, "train", "--preset", "spiral", "--data", "blobs", "--classes", "4", "--steps", "10"
    )
    assert r["network"].startswith("2-16-16-16-4 ")
    assert r["data"] == "blobs (4 classes)"


def test_data_only_uses_a_default_network(capsys) -> None:
    r = run_json(capsys, "train", "--data", "digits", "--steps", "10")
    assert r["network"] == "64-32-10 (tanh, softmax; cross_entropy)" and r["preset"] is None


def test_csv_data_with_a_target(capsys, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    lines = ["species,a,b,c"] + [
        f"{'yes' if x[0] + x[1] > 0 else 'no'},{x[0]},{x[1]},{x[2]}" for x in X
    ]
    f = tmp_path / "tiny.csv"
    f.write_text("\n".join(lines) + "\n")
    r = run_json(capsys, "train", "--data", str(f), "--target", "species", "--steps", "300")
    assert r["network"].startswith("3-16-16-2 ")
    assert r["train_accuracy"] > 0.9


def test_spec_file(capsys, tmp_path: Path) -> None:
    f = tmp_path / "net.json"
    f.write_text(
        json.dumps(
            {
                "inputs": 2,
                "layers": [
                    {"units": 5, "activation": "relu"},
                    {"units": 1, "activation": "sigmoid"},
                ],
                "loss": "bce",
            }
        )
    )
    r = run_json(capsys, "train", "--spec", str(f), "--data", "moons", "--steps", "10")
    assert r["network"] == "2-5-1 (relu, sigmoid; binary_cross_entropy)"
    code, _, err = run(capsys, "train", "--spec", str(f))
    assert code == 2 and "--data" in err


def test_a_preset_file_works_as_spec(capsys, tmp_path: Path) -> None:
    from bpviz.engine.presets import load_preset

    d = load_preset("circle").to_dict()
    d["name"] = "my-circle"
    f = tmp_path / "mine.json"
    f.write_text(json.dumps(d))
    r = run_json(capsys, "train", "--spec", str(f), "--steps", "10")
    assert r["preset"] == "my-circle"


def test_save_and_continue_from_a_session(capsys, tmp_path: Path) -> None:
    path = tmp_path / "run.bpviz"
    first = run_json(capsys, "train", "--preset", "digits", "--steps", "50", "--save", str(path))
    assert first["saved"] == str(path)
    s = load_session(path)
    assert s.step == 50 and s.preset == "digits"
    again = run_json(capsys, "train", "--session", str(path), "--steps", "0")
    assert again["test_accuracy"] == first["test_accuracy"] and again["loss"] == first["loss"]
    assert again["total_steps"] == 50
    more = run_json(capsys, "train", "--session", str(path), "--steps", "30", "--lr", "0.01")
    assert more["total_steps"] == 80


def test_session_continuation_matches_one_long_run(capsys, tmp_path: Path) -> None:
    a, b = tmp_path / "a.bpviz", tmp_path / "b.bpviz"
    run_json(capsys, "train", "--preset", "outer-product", "--steps", "70", "--save", str(a))
    run_json(capsys, "train", "--preset", "outer-product", "--steps", "33", "--save", str(b))
    run_json(capsys, "train", "--session", str(b), "--steps", "37", "--save", str(b))
    wa, wb = load_session(a).weights, load_session(b).weights
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)


def test_ctrl_c_stops_cleanly_and_still_saves(capsys, tmp_path: Path, monkeypatch) -> None:
    real_run = Trainer.run

    def interrupted(self, steps=None, epochs=None):
        for i, rec in enumerate(real_run(self, steps=steps, epochs=epochs)):
            if i == 10:
                raise KeyboardInterrupt
            yield rec

    monkeypatch.setattr(Trainer, "run", interrupted)
    path = tmp_path / "cut.bpviz"
    code, out, err = run(capsys, "train", "--preset", "xor", "--save", str(path), "--json")
    assert code == 130
    r = json.loads(out)
    assert r["interrupted"] and r["steps"] == 11  # the 11th step ran before Ctrl+C
    assert load_session(path).step == 11
    assert "interrupted" in err and "Traceback" not in err


def test_divergence_is_reported(capsys) -> None:
    code, out, err = run(
        capsys,
        "train",
        "--preset",
        "regression",
        "--optimizer",
        "sgd",
        "--lr",
        "900",
        "--steps",
        "50",
        "--json",
    )
    r = json.loads(out)
    assert code == 3 and r["diverged"] is True and r["steps"] < 50  # 3: diverged
    assert np.isfinite(r["loss"])  # rolled back to the last finite weights
    assert "diverged" in err and "Warning" not in err


# ------------------------------------------------------------------ bad input

_BROKEN_CSV = 'a,b,y\n1,2,x\n3,"4,z\n'


def _bad_inputs(tmp: Path) -> list[list[str]]:
    (tmp / "malformed.json").write_text("{oops")
    (tmp / "badsize.json").write_text(json.dumps({"inputs": 2, "layers": [{"units": 0}]}))
    (tmp / "badact.json").write_text(
        json.dumps({"inputs": 2, "layers": [{"units": 3, "activation": "swish"}]})
    )
    (tmp / "list.json").write_text("[1, 2]")
    (tmp / "newline.json").write_text(json.dumps({"inputs": 2, "layers": [], "a\nb": 1}))
    (tmp / "broken.csv").write_text(_BROKEN_CSV)
    (tmp / "notzip.bpviz").write_text("hello")
    return [
        ["train", "--preset", "nope"],
        ["train", "--spec", str(tmp / "missing.json")],
        ["train", "--spec", str(tmp / "malformed.json")],
        ["train", "--spec", str(tmp / "list.json"), "--data", "circle"],
        ["train", "--spec", str(tmp / "newline.json"), "--data", "circle"],
        ["train", "--spec", str(tmp / "badsize.json"), "--data", "circle"],
        ["train", "--spec", str(tmp / "badact.json"), "--data", "circle"],
        ["train", "--spec", str(tmp)],
        ["train", "--session", str(tmp / "missing.bpviz")],
        ["train", "--session", str(tmp / "notzip.bpviz")],
        ["train", "--session", str(tmp / "malformed.json")],
        ["train", "--preset", "xor", "--lr", "0"],
        ["train", "--preset", "xor", "--lr", "-0.1"],
        ["train", "--preset", "xor", "--lr", "nan"],
        ["train", "--preset", "xor", "--lr", "inf"],
        ["train", "--preset", "xor", "--lr", "fast"],
        ["train", "--preset", "xor", "--batch", "0"],
        ["train", "--preset", "xor", "--batch", "-3"],
        ["train", "--preset", "xor", "--backend", "tpu"],
        ["train", "--preset", "xor", "--optimizer", "rmsprop"],
        ["train", "--preset", "xor", "--method", "magic"],
        ["train", "--preset", "xor", "--dtype", "float16"],
        ["train", "--preset", "xor", "--dtype", "int"],
        ["train", "--preset", "xor", "--steps", "-1"],
        ["train", "--preset", "xor", "--epochs", "0"],
        ["train", "--preset", "xor", "--noise", "5"],
        ["train", "--preset", "xor", "--test-fraction", "1"],
        ["train", "--preset", "xor", "--seed", "-1"],
        ["train", "--data", "nope"],
        ["train", "--data", str(tmp / "broken.csv")],
        ["train", "--data", str(tmp / "absent.csv")],
        ["train", "--data", str(tmp / "broken.csv"), "--target", "nope"],
        ["train", "--data", "circle", "--target", "y"],
        ["train", "--preset", "xor", "--save", str(tmp / "no" / "dir" / "x.bpviz")],
        ["train", "--preset", "xor", "--save", str(tmp)],
        ["train", "--preset", "xor", "--spec", "x.json"],
        ["train", "--unknown-option"],
        ["gradcheck", "--preset", "nope"],
        ["gradcheck", "--tol", "0"],
        ["gradcheck", "--tol", "nan"],
        ["gradcheck", "--steps", "-1"],
        ["no-such-command"],
    ]


def test_every_bad_input_is_one_line_and_exit_2(capsys, tmp_path: Path) -> None:
    for argv in _bad_inputs(tmp_path):
        code, out, err = run(capsys, *argv)
        lines = err.strip().splitlines()
        assert code == 2, (argv, err)
        assert len(lines) == 1 and lines[0].startswith("bpviz: error: "), (argv, err)
        assert "Traceback" not in err and out == "", (argv, out)


def test_bad_sessions_on_the_command_line(capsys, tmp_path: Path) -> None:
    import io
    import zipfile

    path = tmp_path / "good.bpviz"
    run_json(capsys, "train", "--preset", "xor", "--steps", "3", "--save", str(path))
    blob = path.read_bytes()
    (tmp_path / "cut.bpviz").write_bytes(blob[: len(blob) // 2])
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    buf = io.BytesIO()
    np.save(buf, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    members["weights/W0.npy"] = buf.getvalue()
    with zipfile.ZipFile(tmp_path / "pickled.bpviz", "w") as zf:
        for k, v in members.items():
            zf.writestr(k, v)
    for name, match in (("cut.bpviz", "truncated"), ("pickled.bpviz", "pickle")):
        code, out, err = run(capsys, "train", "--session", str(tmp_path / name))
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and match in err and "Traceback" not in err


def test_help_exits_0(capsys) -> None:
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0 and "--preset" in out and "--session" in out and "--steps" in out


def test_no_command_prints_help_without_the_app(capsys, monkeypatch) -> None:
    real = cli._load
    monkeypatch.setattr(cli, "_load", lambda name: None if name == "gui" else real(name))
    code, out, err = run(capsys)
    assert code == 0 and "train" in out and "presets" in out and err == ""


def test_no_command_opens_the_app_when_there(capsys, monkeypatch) -> None:
    import types

    calls = []
    fake = types.ModuleType("fake_gui")
    fake.add_parser = lambda sub: sub.add_parser("gui")  # type: ignore[attr-defined]
    fake.run = lambda args: calls.append(args) or 0  # type: ignore[attr-defined]
    real = cli._load
    monkeypatch.setattr(cli, "_load", lambda name: fake if name == "gui" else real(name))
    code, _, _ = run(capsys)
    assert code == 0 and len(calls) == 1


def test_missing_command_modules_are_skipped() -> None:
    assert cli._load("no_such_module_here") is None
    assert cli._load("train") is not None


def test_a_broken_command_module_does_not_break_the_others(capsys, monkeypatch) -> None:
    real = cli._load
    monkeypatch.setattr(
        cli, "_load", lambda name: ImportError("no Qt") if name == "gui" else real(name)
    )
    assert run(capsys, "presets")[0] == 0
    code, _, err = run(capsys, "gui")
    assert code == 2 and "unavailable" in err


def test_ctrl_c_anywhere_exits_130(capsys, monkeypatch) -> None:
    import bpviz.cli.presets as presets_cmd

    def boom(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(presets_cmd, "run", boom)
    assert run(capsys, "presets")[0] == 130


# ------------------------------------------------------------------ gradcheck


def test_gradcheck_passes_on_the_gradcheck_preset(capsys) -> None:
    code, out, _ = run(capsys, "gradcheck", "--preset", "gradcheck")
    assert code == 0
    assert "W0" in out and "max rel error" in out and "FAIL" not in out


def test_gradcheck_json_and_tied(capsys) -> None:
    r = run_json(capsys, "gradcheck", "--preset", "tied", "--steps", "20")
    assert r["passed"] and r["worst"] < 1e-6
    assert [p["name"] for p in r["parameters"]] == ["W0", "b0", "W2", "b2"]


def test_gradcheck_broken_fails_with_exit_1(capsys) -> None:
    code, out, _ = run(capsys, "gradcheck", "--preset", "gradcheck", "--broken")
    assert code == 1
    rows = {line.split()[0]: line for line in out.splitlines()[2:-1]}
    assert rows["W2"].endswith("ok") and rows["b2"].endswith("ok")  # the output layer
    assert rows["W0"].endswith("FAIL") and rows["W1"].endswith("FAIL")


def test_gradcheck_default_preset(capsys) -> None:
    code, out, _ = run(capsys, "gradcheck")
    assert code == 0 and "2-4-4-3" in out


# ------------------------------------------------------------------ presets


def test_presets_lists_names_and_descriptions(capsys) -> None:
    code, out, _ = run(capsys, "presets")
    assert code == 0
    names = [line.split()[0] for line in out.strip().splitlines()]
    assert names == preset_names()


def test_presets_json(capsys) -> None:
    code, out, _ = run(capsys, "presets", "--json")
    data = json.loads(out)
    assert code == 0 and [d["name"] for d in data] == preset_names()
    assert all(set(d) == {"name", "description"} and d["description"] for d in data)


def test_python_m_bpviz_presets_json() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "bpviz", "presets", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {"xor", "digits", "tied"} <= {d["name"] for d in data}


def test_save_session_helper_is_what_the_cli_writes(tmp_path: Path, capsys) -> None:
    """Loading what ``--save`` wrote and saving it again gives the same file, byte for byte
    in every member: weights, optimizer state, sampler, counters and settings."""
    path = tmp_path / "x.bpviz"
    run_json(capsys, "train", "--preset", "xor", "--steps", "7", "--optimizer", "adam",
             "--lr", "0.05", "--save", str(path))
    s = load_session(path)
    assert s.step == 7 and s.config.optimizer == "adam" and s.preset == "xor"
    net, trainer, _ = s.build()
    save_session(tmp_path / "y.bpviz", net, trainer, s.data, preset=s.preset)
    with zipfile.ZipFile(path) as a, zipfile.ZipFile(tmp_path / "y.bpviz") as b:
        assert sorted(a.namelist()) == sorted(b.namelist())  # the order is not part of it
        assert any(name.startswith("optimizer/") for name in a.namelist())
        for name in a.namelist():
            assert a.read(name) == b.read(name), name
