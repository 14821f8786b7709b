"""Session files: round trips, exact resumption, and refusal of damaged or hostile files."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpviz.engine import Network
from bpviz.engine import archive as archive_mod
from bpviz.engine import session as session_mod
from bpviz.engine.errors import SessionError
from bpviz.engine.presets import DataChoice, load_preset
from bpviz.engine.session import Session, load_session, save_session
from bpviz.engine.trainer import TrainConfig, Trainer


def _trained(
    optimizer: str = "adam", steps: int = 25, preset: str = "outer-product", dtype: str = "float32"
):
    p = load_preset(preset)
    cfg = replace(p.train, optimizer=optimizer, lr=0.01 if optimizer == "adam" else 0.1)
    ds = p.data.load()
    net = Network(p.spec, seed=3, dtype=dtype)
    trainer = Trainer(net, ds, cfg)
    for _ in trainer.run(steps=steps):
        pass
    return net, trainer, p.data


@pytest.fixture(scope="module")
def valid_file(tmp_path_factory) -> Path:
    net, trainer, data = _trained("adam")
    path = tmp_path_factory.mktemp("s") / "valid.bpviz"
    save_session(path, net, trainer, data, preset="outer-product")
    return path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _write(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for k, v in members.items():
            zf.writestr(k, v)
    return path


def _npy(a: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=allow_pickle)
    return buf.getvalue()


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip(tmp_path: Path, optimizer: str, dtype: str) -> None:
    net, trainer, data = _trained(optimizer, dtype=dtype)
    path = save_session(tmp_path / "run.bpviz", net, trainer, data, preset="outer-product")
    s = load_session(path)
    assert isinstance(s, Session) and s.version == session_mod.VERSION
    assert s.spec == net.spec and s.dtype == dtype and s.seed == 3
    assert s.config == trainer.config and s.data == data and s.preset == "outer-product"
    assert (s.step, s.epoch) == (trainer.step, trainer.epoch)
    w = net.get_weights()
    assert set(s.weights) == set(w)
    for k in w:
        assert s.weights[k].dtype == w[k].dtype and np.array_equal(s.weights[k], w[k])
    saved = trainer.optimizer.state_dict()
    got = s.trainer_state["optimizer"]
    assert got["name"] == optimizer and got["t"] == saved["t"]
    assert set(got["slots"]) == set(saved["slots"])
    for k, v in saved["slots"].items():
        assert np.array_equal(got["slots"][k], v)
    assert s.trainer_state["step"] == trainer.step


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_resumed_training_is_bitwise_identical(tmp_path: Path, optimizer: str) -> None:
    net, trainer, data = _trained(optimizer, steps=23)  # stop mid-epoch
    path = save_session(tmp_path / "mid.bpviz", net, trainer, data)
    losses_a = [r.loss for r in trainer.run(steps=60)]
    net_b, trainer_b, _ = load_session(path).build()
    losses_b = [r.loss for r in trainer_b.run(steps=60)]
    assert losses_a == losses_b
    wa, wb = net.get_weights(), net_b.get_weights()
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert (trainer.step, trainer.epoch) == (trainer_b.step, trainer_b.epoch)


def test_tied_network_round_trip(tmp_path: Path) -> None:
    net, trainer, data = _trained("momentum", preset="tied")
    s = load_session(save_session(tmp_path / "t.bpviz", net, trainer, data))
    assert set(s.weights) == {"W0", "b0", "W2", "b2"}
    net2, _, _ = s.build()
    assert net2.spec.layers[1].tie_to == 0


def test_save_with_a_config_is_a_fresh_start(tmp_path: Path) -> None:
    p = load_preset("xor")
    net = Network(p.spec, seed=1)
    s = load_session(save_session(tmp_path / "fresh.bpviz", net, p.train, p.data))
    assert s.step == 0 and "optimizer" not in s.trainer_state
    net2, trainer2, ds = s.build()
    assert trainer2.step == 0 and len(ds.X_train) == 4


def test_build_with_overrides(tmp_path: Path, valid_file: Path) -> None:
    s = load_session(valid_file)
    net, trainer, _ = s.build(dtype="float64", config=replace(s.config, optimizer="sgd"))
    assert net.dtype == np.float64 and trainer.config.optimizer == "sgd"
    assert trainer.step == s.step
    with pytest.raises(SessionError, match="features"):
        s.build(data=DataChoice("digits"))


def test_save_is_atomic(tmp_path: Path, valid_file: Path, monkeypatch) -> None:
    target = tmp_path / "keep.bpviz"
    target.write_bytes(valid_file.read_bytes())
    net, trainer, data = _trained("sgd")

    def boom(self, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", boom)
    with pytest.raises(SessionError, match="No space left"):
        save_session(target, net, trainer, data)
    monkeypatch.undo()
    assert target.read_bytes() == valid_file.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.bpviz"]


def test_save_refuses_bad_targets(tmp_path: Path) -> None:
    net, trainer, data = _trained("sgd", steps=1)
    with pytest.raises(SessionError, match="folder"):
        save_session(tmp_path, net, trainer, data)
    with pytest.raises(SessionError, match="does not exist"):
        save_session(tmp_path / "no" / "x.bpviz", net, trainer, data)
    with pytest.raises(SessionError):
        save_session(tmp_path / "x.bpviz", net, "not a trainer", data)  # type: ignore[arg-type]


def test_files_hold_no_pickle(valid_file: Path) -> None:
    for name, blob in _members(valid_file).items():
        if name.endswith(".npy"):
            a = np.load(io.BytesIO(blob), allow_pickle=False)
            assert a.dtype != object
        else:
            assert name == "session.json"
            json.loads(blob)


# ------------------------------------------------------------------ refusals


def test_refuses_pickled_arrays(tmp_path: Path, valid_file: Path) -> None:
    m = _members(valid_file)
    obj = np.empty(m["weights/W0.npy"] and 1, dtype=object)
    m["weights/W0.npy"] = _npy(obj, allow_pickle=True)
    with pytest.raises(SessionError, match="pickle"):
        load_session(_write(tmp_path / "p1.bpviz", m))
    m["weights/W0.npy"] = pickle.dumps({"W": [1, 2]})
    with pytest.raises(SessionError, match="npy"):
        load_session(_write(tmp_path / "p2.bpviz", m))


@pytest.mark.parametrize("cut", [0, 1, 10, 100, 500, -200, -22, -1])
def test_refuses_truncated_files(tmp_path: Path, valid_file: Path, cut: int) -> None:
    blob = valid_file.read_bytes()
    bad = tmp_path / "cut.bpviz"
    bad.write_bytes(blob[:cut] if cut >= 0 else blob[: len(blob) + cut])
    with pytest.raises(SessionError):
        load_session(bad)


def test_refuses_files_that_are_not_sessions(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="no such"):
        load_session(tmp_path / "missing.bpviz")
    with pytest.raises(SessionError, match="folder"):
        load_session(tmp_path)
    (tmp_path / "text.bpviz").write_text("hello")
    with pytest.raises(SessionError, match="not a bpviz session"):
        load_session(tmp_path / "text.bpviz")
    with pytest.raises(SessionError, match="lacks session.json"):
        load_session(_write(tmp_path / "empty.bpviz", {"other.txt": b"x"}))


def _edit_json(valid_file: Path, tmp_path: Path, fn) -> Path:
    m = _members(valid_file)
    meta = json.loads(m["session.json"])
    fn(meta)
    m["session.json"] = json.dumps(meta).encode()
    return _write(tmp_path / "edited.bpviz", m)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda m: m.update(version=99), "version 99"),
        (lambda m: m.update(version="1"), "version"),
        (lambda m: m.update(format="other"), "does not describe"),
        (lambda m: m.pop("spec"), "lacks 'spec'"),
        (lambda m: m.update(spec={"inputs": 2, "layers": []}), "at least one layer"),
        (lambda m: m["spec"]["layers"][0].update(units=5), "shape"),
        (lambda m: m.update(dtype="float16"), "dtype"),
        (lambda m: m.update(step=-1), "step"),
        (lambda m: m.update(epoch="x"), "epoch"),
        (lambda m: m["config"].update(lr=float("nan")), "learning rate"),
        (lambda m: m["config"].update(batch_size=0), "batch size"),
        (lambda m: m["data"].update(name="nope"), "unknown data set"),
        (lambda m: m["optimizer"].update(name="sgd"), "optimizer state"),
        (lambda m: m["optimizer"].update(slots=["m.W9"]), "unknown optimizer slot"),
        (lambda m: m["optimizer"].update(slots=["m.W0", "x.W0"]), "unknown optimizer slot"),
        (lambda m: m["optimizer"].update(t=-3), "step count"),
        (lambda m: m["sampler"].update(pos=10**6), "sampler"),
        (lambda m: m["sampler"].update(rng={"bit_generator": "nope"}), "random generator"),
        (lambda m: m.update(seed=-5), "seed"),
        (lambda m: m.update(preset=[1]), "preset"),
    ],
)
def test_refuses_bad_session_json(tmp_path: Path, valid_file: Path, edit, match: str) -> None:
    with pytest.raises(SessionError, match=match):
        load_session(_edit_json(valid_file, tmp_path, edit))


def test_refuses_malformed_json(tmp_path: Path, valid_file: Path) -> None:
    m = _members(valid_file)
    for blob, match in (
        (b"{oops", "not valid JSON"),
        (b"\xff\xfe", "UTF-8"),
        (b"[1, 2]", "does not describe"),
        (b"[" * 100000, "deeply|JSON"),
    ):
        m["session.json"] = blob
        with pytest.raises(SessionError, match=match):
            load_session(_write(tmp_path / "j.bpviz", m))


@pytest.mark.parametrize(
    "key, array, match",
    [
        ("weights/W0.npy", np.zeros((3, 5), np.float32), "shape"),
        ("weights/b0.npy", np.zeros((3, 1), np.float32), "shape"),
        ("weights/W0.npy", np.zeros((3, 2), np.int64), "floating"),
        ("weights/W0.npy", np.full((3, 2), np.nan, np.float32), "NaN"),
        ("weights/b1.npy", np.array([np.inf, 0, 0], np.float32), "NaN or infinity"),
        ("optimizer/m.W0.npy", np.zeros((2, 2), np.float32), "shape"),
        ("optimizer/s.b1.npy", np.full(3, np.nan, np.float32), "NaN"),
        ("sampler/perm.npy", np.zeros(3, np.float64), "integers"),
    ],
)
def test_refuses_bad_arrays(tmp_path: Path, valid_file: Path, key, array, match) -> None:
    m = _members(valid_file)
    assert key in m
    m[key] = _npy(array)
    with pytest.raises(SessionError, match=match):
        load_session(_write(tmp_path / "a.bpviz", m))


def test_refuses_missing_arrays(tmp_path: Path, valid_file: Path) -> None:
    for key in ("weights/W1.npy", "optimizer/m.W0.npy", "sampler/perm.npy"):
        m = _members(valid_file)
        del m[key]
        with pytest.raises(SessionError, match="lacks " + key):
            load_session(_write(tmp_path / "m.bpviz", m))


def test_refuses_an_npy_header_that_promises_more_than_it_holds(tmp_path, valid_file) -> None:
    m = _members(valid_file)
    blob = _npy(np.zeros(4, np.int64))
    header_len = blob.index(b"\n") + 1
    huge = blob[:header_len].replace(b"(4,)", b"(10000000000,)")
    # keep the header's length (a multiple of 64) by trimming its padding
    huge = huge[:10] + huge[10:].replace(b" " * 10, b"", 1)
    m["sampler/perm.npy"] = huge + blob[header_len:]
    with pytest.raises(SessionError, match="truncated|not a valid"):
        load_session(_write(tmp_path / "h.bpviz", m))


def test_refuses_oversized_members(tmp_path: Path, valid_file: Path, monkeypatch) -> None:
    monkeypatch.setattr(archive_mod, "MAX_MEMBER_BYTES", 1000)
    m = _members(valid_file)
    m["weights/W0.npy"] = _npy(np.zeros((3, 2), np.float32)) + b"\0" * 5000  # padding is fine
    with pytest.raises(SessionError, match="limit"):
        load_session(_write(tmp_path / "big.bpviz", m))


def test_refuses_duplicate_members(tmp_path: Path, valid_file: Path) -> None:
    m = _members(valid_file)
    path = tmp_path / "dup.bpviz"
    with pytest.warns(UserWarning):  # zipfile warns about the duplicate name
        with zipfile.ZipFile(path, "w") as zf:
            for k, v in m.items():
                zf.writestr(k, v)
            zf.writestr("weights/W0.npy", m["weights/W0.npy"])
    with pytest.raises(SessionError, match="same name"):
        load_session(path)


def _claim_size(path: Path, member: str, size: int) -> Path:
    """Rewrite the uncompressed size that the zip's central directory gives ``member``."""
    blob = bytearray(path.read_bytes())
    pos = blob.find(b"PK\x01\x02")
    while pos >= 0:
        name_len = int.from_bytes(blob[pos + 28 : pos + 30], "little")
        if blob[pos + 46 : pos + 46 + name_len] == member.encode():
            blob[pos + 24 : pos + 28] = size.to_bytes(4, "little")
            path.write_bytes(bytes(blob))
            return path
        pos = blob.find(b"PK\x01\x02", pos + 46)
    raise AssertionError(f"{member} not in the central directory")


@pytest.mark.parametrize("size, refused", [(512 * 2**20, False), (512 * 2**20 + 1, True)])
def test_the_limit_is_512_mb(tmp_path: Path, valid_file: Path, size: int, refused: bool) -> None:
    """A member that says it unpacks to more than 512 MiB is refused before it is read."""
    path = _claim_size(_write(tmp_path / "claim.bpviz", _members(valid_file)),
                       "weights/W0.npy", size)
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("weights/W0.npy").file_size == size
    if refused:
        with pytest.raises(SessionError, match="W0.npy is 512 MB uncompressed, over the limit"):
            load_session(path)
    else:  # at the limit the size is allowed, and the real bytes load as they are
        got, want = load_session(path).weights, load_session(valid_file).weights
        assert np.array_equal(got["W0"], want["W0"])


# ------------------------------------------------------------------ fuzzing


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(tmp_path: Path, blob: bytes) -> None:
    f = tmp_path / "fuzz.bpviz"
    f.write_bytes(blob)
    with pytest.raises(SessionError):
        load_session(f)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_fuzz_corrupted_session(tmp_path: Path, valid_file: Path, data) -> None:
    blob = bytearray(valid_file.read_bytes())
    kind = data.draw(st.sampled_from(["flip", "truncate", "both", "splice"]))
    if kind in ("flip", "both"):
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(blob) - 1))
            blob[i] = data.draw(st.integers(0, 255))
    if kind in ("truncate", "both"):
        blob = blob[: data.draw(st.integers(0, len(blob)))]
    if kind == "splice":
        i = data.draw(st.integers(0, len(blob)))
        blob[i:i] = data.draw(st.binary(min_size=1, max_size=64))
    f = tmp_path / "corrupt.bpviz"
    f.write_bytes(bytes(blob))
    try:
        s = load_session(f)
    except SessionError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(s, Session)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.binary(max_size=300))
def test_fuzz_random_npy_members(tmp_path: Path, valid_file: Path, blob: bytes) -> None:
    m = _members(valid_file)
    m["weights/W0.npy"] = b"\x93NUMPY\x01\x00" + blob
    try:
        load_session(_write(tmp_path / "npy.bpviz", m))
    except SessionError:
        pass


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_fuzz_corrupted_members_in_a_valid_zip(tmp_path: Path, valid_file: Path, data) -> None:
    """Damage inside a member (the zip's checksums are right): JSON and .npy checks see it."""
    m = _members(valid_file)
    key = data.draw(st.sampled_from(sorted(m)))
    blob = bytearray(m[key])
    for _ in range(data.draw(st.integers(0, 6))):
        i = data.draw(st.integers(0, len(blob) - 1))
        blob[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        blob = blob[: data.draw(st.integers(0, len(blob)))]
    m[key] = bytes(blob)
    try:
        s = load_session(_write(tmp_path / "member.bpviz", m))
    except SessionError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(s, Session)
    s.build()  # what loads must also build


def test_configs_survive_json(valid_file: Path) -> None:
    s = load_session(valid_file)
    assert TrainConfig.from_dict(s.config.to_dict()) == s.config
