"""Presets and data choices: every shipped preset loads, fits its data and learns."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpviz.engine import Fitted, Network, NetworkSpec, fit_to_data
from bpviz.engine.errors import BpvizError, DataError, SpecError
from bpviz.engine.presets import (
    VIEWS,
    DataChoice,
    Preset,
    list_presets,
    load_preset,
    preset_from_dict,
    preset_names,
    presets_dir,
)
from bpviz.engine.trainer import TrainConfig, Trainer

REQUIRED = {"xor", "circle", "spiral", "digits", "regression", "tied", "outer-product", "gradcheck"}


def test_required_presets_are_shipped_and_sorted() -> None:
    names = preset_names()
    assert REQUIRED <= set(names)
    presets = list_presets()
    assert [p.name for p in presets] == sorted(names)
    assert all(isinstance(p, Preset) for p in presets)


@pytest.mark.parametrize("name", preset_names())
def test_preset_is_complete_and_fits_its_data(name: str) -> None:
    p = load_preset(name)
    assert p.name == name
    assert p.title and p.description and "\n" not in p.description
    assert len(p.lesson.splitlines()) >= 5, "a lesson says what to watch and what to try"
    assert p.views and set(p.views) <= set(VIEWS)
    assert p.steps_hint >= 1
    ds = p.data.load()
    # the spec in the file is honest: fitting it to its own data changes nothing
    assert fit_to_data(p.spec, ds) == Fitted(p.spec, ())
    # the dict form round-trips
    again = preset_from_dict(json.loads(json.dumps(p.to_dict())))
    assert again == p


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_trains_20_steps(name: str) -> None:
    p = load_preset(name)
    ds = p.data.load()
    net = Network(p.spec, seed=p.train.seed)
    trainer = Trainer(net, ds, p.train)
    before, _ = trainer.evaluate("train")
    recs = list(trainer.run(steps=20))
    assert len(recs) == 20 and not any(r.diverged for r in recs)
    assert all(math.isfinite(r.loss) for r in recs)
    after, _ = trainer.evaluate("train")
    assert math.isfinite(after)
    for v in net.get_weights().values():
        assert v.dtype == np.float32 and np.all(np.isfinite(v))
    assert after != before


def test_the_xor_preset_is_the_classic_2_2_1_network_on_four_points() -> None:
    p = load_preset("xor")
    assert [ly.units for ly in p.spec.layers] == [2, 1]
    assert {ly.activation for ly in p.spec.layers} == {"sigmoid"}
    ds = p.data.load()
    assert ds.X_train.shape == (4, 2) and len(ds.X_test) == 0
    got = {(tuple(x), int(y)) for x, y in zip(ds.X_train.tolist(), ds.y_train, strict=True)}
    assert got == {((0.0, 0.0), 0), ((0.0, 1.0), 1), ((1.0, 0.0), 1), ((1.0, 1.0), 0)}


def test_the_tied_preset_reuses_layer_0() -> None:
    p = load_preset("tied")
    assert p.spec.layers[1].tie_to == 0
    assert p.spec.weight_shape(0) == p.spec.weight_shape(1)


def test_unknown_preset_lists_the_names() -> None:
    with pytest.raises(SpecError, match="unknown preset 'nope'.*xor"):
        load_preset("nope")
    for bad in ("../presets/xor", "/etc/passwd", "", None, 3):
        with pytest.raises(BpvizError):
            load_preset(bad)  # type: ignore[arg-type]


def _valid() -> dict:
    return load_preset("circle").to_dict()


@pytest.mark.parametrize(
    "change, match",
    [
        ({"name": "Bad Name"}, "preset name"),
        (
            {"spec": {"inputs": 2, "layers": [{"units": 1, "activation": "swish"}]}},
            "unknown activation",
        ),
        ({"data": {"name": "nope"}}, "unknown data set"),
        ({"data": {"name": "circle", "noise": 3}}, "noise"),
        ({"train": {"lr": -1}}, "learning rate"),
        ({"train": {"batch_size": 0}}, "batch size"),
        ({"train": {"colour": 1}}, "unknown training settings"),
        ({"views": ["matrices", "hologram"]}, "views"),
        ({"steps_hint": 0}, "steps_hint"),
        ({"lesson": 5}, "lesson"),
        ({"description": "two\nlines"}, "one line"),
        ({"extra": 1}, "unknown preset keys"),
    ],
)
def test_preset_from_dict_rejects_bad_fields(change: dict, match: str) -> None:
    d = _valid()
    d.update(change)
    with pytest.raises(BpvizError, match=match):
        preset_from_dict(d)


def test_preset_from_dict_needs_an_object() -> None:
    for bad in ([], "xor", None, 1):
        with pytest.raises(SpecError):
            preset_from_dict(bad)
    with pytest.raises(SpecError, match="needs"):
        preset_from_dict({"name": "x"})


def test_lesson_may_be_a_list_of_lines() -> None:
    d = _valid()
    d["lesson"] = ["one", "two"]
    assert preset_from_dict(d).lesson == "one\ntwo"


def test_presets_dir_holds_only_valid_json() -> None:
    for path in presets_dir().glob("*.json"):
        d = json.loads(path.read_text(encoding="utf-8"))
        assert d["name"] == path.stem


# ------------------------------------------------------------------ data choice


def test_data_choice_round_trip_and_reproducible() -> None:
    d = DataChoice("blobs", noise=0.3, test_fraction=0.25, seed=7, n_samples=120, n_classes=4)
    assert DataChoice.from_dict(json.loads(json.dumps(d.to_dict()))) == d
    a, b = d.load(), d.load()
    assert a.n_classes == 4 and len(a.X_train) + len(a.X_test) == 120
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_test, b.y_test)


def test_data_choice_csv_standardises_by_default(tmp_path) -> None:
    f = tmp_path / "d.csv"
    rows = ["u,v,label"] + [f"{i},{1000 + 10 * i},{'ab'[i % 2]}" for i in range(40)]
    f.write_text("\n".join(rows) + "\n")
    d = DataChoice("csv", csv_path=str(f), test_fraction=0.25)
    assert d.standardizes
    ds = d.load()
    assert ds.n_classes == 2 and ds.n_features == 2
    assert np.allclose(ds.X_train.mean(axis=0), 0, atol=1e-6)  # float32 features
    assert np.allclose(ds.X_train.std(axis=0), 1)
    raw = DataChoice("csv", csv_path=str(f), test_fraction=0.25, standardize=False).load()
    assert raw.X_train.max() > 100
    assert DataChoice.from_dict(d.to_dict()) == d


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"name": "nope"}, "unknown data set"),
        ({"name": 3}, "unknown data set"),
        ({"name": "circle", "noise": -0.1}, "noise"),
        ({"name": "circle", "noise": float("nan")}, "noise"),
        ({"name": "circle", "noise": True}, "noise"),
        ({"name": "circle", "test_fraction": 0.95}, "test fraction"),
        ({"name": "circle", "seed": -1}, "seed"),
        ({"name": "circle", "seed": 1.5}, "seed"),
        ({"name": "circle", "n_samples": 2}, "samples"),
        ({"name": "blobs", "n_classes": 11}, "classes"),
        ({"name": "csv"}, "path"),
        ({"name": "circle", "csv_path": "a.csv"}, "only for CSV"),
        ({"name": "circle", "target": "y"}, "target"),
        ({"name": "circle", "standardize": "yes"}, "standardize"),
    ],
)
def test_data_choice_rejects_bad_fields(kw: dict, match: str) -> None:
    with pytest.raises(DataError, match=match):
        DataChoice.from_dict(kw)


def test_data_choice_from_dict_rejects_junk() -> None:
    for bad in (None, [], "circle", {"noise": 0.1}, {"name": "circle", "colour": "red"}):
        with pytest.raises(DataError):
            DataChoice.from_dict(bad)


def test_resource_csv_paths_stay_inside_the_resources() -> None:
    with pytest.raises(DataError, match="inside"):
        DataChoice("csv", csv_path="bpviz:../../etc/passwd").load()


def test_train_config_in_a_preset_is_validated() -> None:
    assert isinstance(load_preset("digits").train, TrainConfig)


# ------------------------------------------------------------------ spec fuzzing

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
_words = st.sampled_from(
    ["tanh", "relu", "sigmoid", "softmax", "identity", "leaky_relu", "swish", "", "TANH"]
)
_field = st.one_of(st.integers(-3, 70), _json, _words)
_layer = st.one_of(
    _json,
    st.fixed_dictionaries(
        {"units": _field}, optional={"activation": _field, "tie_to": _field, "junk": _json}
    ),
)
_spec_like = st.one_of(
    _json,
    st.fixed_dictionaries(
        {"inputs": _field, "layers": st.one_of(st.lists(_layer, max_size=5), _json)},
        optional={
            "loss": st.one_of(
                _json,
                st.sampled_from(
                    [
                        "squared_error",
                        "cross_entropy",
                        "binary_cross_entropy",
                        "mse",
                        "ce",
                        "bce",
                        "hinge",
                    ]
                ),
            ),
            "reduction": st.one_of(_json, st.sampled_from(["mean", "sum"])),
            "init": st.one_of(_json, st.sampled_from(["glorot", "he", "normal", "zeros"])),
        },
    ),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_spec_like)
def test_fuzz_spec_from_dict_gives_a_spec_or_a_spec_error(d) -> None:
    try:
        spec = NetworkSpec.from_dict(d)
    except SpecError as exc:
        assert str(exc)  # one line on the command line: bpviz.cli.common.fail joins lines
        return
    assert isinstance(spec, NetworkSpec)
    assert spec.problems() == []
    assert NetworkSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json)
def test_fuzz_preset_and_data_from_dict_raise_only_bpviz_errors(d) -> None:
    for fn in (preset_from_dict, DataChoice.from_dict):
        try:
            fn(d)
        except BpvizError as exc:
            assert str(exc) and "\n" not in str(exc)
