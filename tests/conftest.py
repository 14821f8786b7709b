"""Shared fixtures and helpers for the bpviz tests.

Qt runs offscreen (set before anything imports Qt). Tests marked
``@pytest.mark.gpu`` are skipped, with the reason, unless CuPy works on a GPU.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

try:
    import bpviz  # noqa: F401
except ImportError:  # a source checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bpviz.engine import LayerSpec, Network, NetworkSpec  # noqa: E402
from bpviz.engine import backend as _backend  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

HIDDEN = ("identity", "sigmoid", "tanh", "relu", "leaky_relu")
#: every valid (output activation, loss) pairing
OUTPUTS = (
    ("softmax", "cross_entropy"),
    ("sigmoid", "binary_cross_entropy"),
    ("identity", "squared_error"),
    ("sigmoid", "squared_error"),
    ("tanh", "squared_error"),
    ("relu", "squared_error"),
    ("leaky_relu", "squared_error"),
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any("gpu" in item.keywords for item in items):
        return
    if _backend.gpu_available():
        return
    why = _backend.cupy_status()[1]
    skip = pytest.mark.skip(reason=f"needs CuPy on a working CUDA GPU: {why}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Keep Python's fault handler on to the very end: pytest's own is gone by the time
    the interpreter exits, and a crash while Qt is torn down should still say where
    (one run ended with a bare "Segmentation fault" after every test had passed)."""
    import faulthandler

    faulthandler.enable()


@pytest.fixture(autouse=True)
def _no_blocking_prompts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The window's prompts (modal boxes) would wait for a click forever offscreen: in
    tests the unsaved-work prompt answers Discard and Play from a kept step answers
    "go to the newest", unless a test says otherwise (tests/test_gui_unsaved.py,
    tests/test_gui_rewind.py)."""
    # imported here, not looked up: a test that builds the window after this fixture
    # ran (importing the module itself) would otherwise meet the real, blocking prompt
    try:
        from bpviz.gui import document as doc
    except ImportError:   # no Qt here: the engine's tests still run (e.g. on a GPU machine)
        return
    if doc is not None:
        monkeypatch.setattr(doc.DocumentMixin, "ask_unsaved", lambda self, text: "discard")
        # Play from a kept step: go on from the newest (tests/test_gui_rewind.py continues)
        monkeypatch.setattr(doc.DocumentMixin, "ask_continue",
                            lambda self, step, newest: "newest")


@pytest.fixture(autouse=True)
def _deleted_after_each_test():
    """Windows a test closed are deleted before the next test starts, not inside a later
    test's event loop, and the garbage collector runs on the GUI thread only, as in the
    app (:func:`bpviz.gui.app.collect_on_gui_thread`)."""
    def collector():
        core = sys.modules.get("PySide6.QtCore")
        if core is None or core.QCoreApplication.instance() is None:
            return None
        from bpviz.gui.app import collect_on_gui_thread

        return collect_on_gui_thread()

    collector()   # (the first GUI test's application comes later: installed after it)
    yield
    gc_ = collector()
    if gc_ is not None:
        core = sys.modules["PySide6.QtCore"]
        core.QCoreApplication.sendPostedEvents(None, core.QEvent.Type.DeferredDelete)
        gc_.check()   # what is due, between tests (engine tests run no event loop)


@pytest.fixture(autouse=True)
def _app_font_restored():
    """Presentation mode scales the application font, which every later test shares: a
    test that leaves it on (or fails before turning it off) must not change the next."""
    widgets = sys.modules.get("PySide6.QtWidgets")
    app = widgets.QApplication.instance() if widgets is not None else None
    font = sys.modules["PySide6.QtGui"].QFont(app.font()) if app is not None else None
    yield
    if font is not None and widgets.QApplication.instance() is app and app.font() != font:
        app.setFont(font)


@pytest.fixture
def sized_window(qtbot):
    """Make the real window (its own controller) at a size, in normal or presentation
    mode: ``make((w, h), presentation, preset="circle", settle_ms=100,
    system_font=False)``; ``system_font`` starts from the system's body font (tests that
    measure what presentation mode makes of it). Every window made is closed and its
    training stopped afterwards, presentation mode off first (the font is shared)."""
    from PySide6.QtGui import QFontDatabase
    from PySide6.QtWidgets import QApplication

    from bpviz.gui.app import build

    made = []

    def make(size: tuple[int, int], presentation: bool, preset: str = "circle",
             settle_ms: int = 100, system_font: bool = False):
        if system_font:
            QApplication.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont))
        ctx, win = build(preset, automation=True, size=size)
        made.append((ctx, win))
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        qtbot.wait(50)
        if presentation:
            win.actions_.presentation.trigger()
        qtbot.wait(settle_ms)
        return ctx, win

    yield make
    for ctx, win in made:
        win.set_presentation(False)
        win.close()
        ctx.shutdown()


# ---------------------------------------------------------------- helpers
def make_spec(inputs: int, hidden: list[tuple[int, str]], out: tuple[int, str], loss: str,
              reduction: str = "mean", init: str = "glorot",
              ties: dict[int, int] | None = None) -> NetworkSpec:
    """A spec from ``[(units, activation), ...]`` hidden layers and an output layer;
    ``ties`` maps a layer index to the earlier layer whose weights it reuses."""
    ties = ties or {}
    layers = [LayerSpec(u, act, ties.get(i)) for i, (u, act) in enumerate([*hidden, out])]
    return NetworkSpec(inputs, tuple(layers), loss=loss, reduction=reduction, init=init)


def targets(spec: NetworkSpec, K: int, rng: np.random.Generator, labels: bool = False
            ) -> np.ndarray:
    """Targets that suit the spec's loss: one-hot rows (or integer labels) for
    cross-entropy, 0/1 for binary cross-entropy, real numbers for squared error."""
    m = spec.outputs
    if spec.loss == "cross_entropy":
        lab = rng.integers(0, m, K)
        return lab if labels else np.eye(m)[lab]
    if spec.loss == "binary_cross_entropy":
        return rng.integers(0, 2, (K, m)).astype(np.float64)
    return rng.normal(size=(K, m))


def random_batch(spec: NetworkSpec, K: int, rng: np.random.Generator, labels: bool = False
                 ) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(K, spec.inputs)), targets(spec, K, rng, labels)


def random_net(spec: NetworkSpec, seed: int, dtype: str = "float64", backend: str = "numpy",
               bias_scale: float = 0.5) -> Network:
    """A network with random non-zero biases too (fresh ones start at zero, which
    would hide a bias bug)."""
    net = Network(spec, seed=seed, dtype=dtype, backend=backend)
    rng = np.random.default_rng(seed + 1000)
    w = net.get_weights()
    for k in w:
        if k.startswith("b"):
            w[k] = rng.normal(scale=bias_scale, size=w[k].shape)
    net.set_weights(w)
    return net


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    """``max|a − b| / max|b|`` (array-wise relative difference; 0 for two zero arrays)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    if a.size == 0:
        return 0.0
    scale = float(np.max(np.abs(b)))
    err = float(np.max(np.abs(a - b)))
    return err / scale if scale > 0 else err


def dataset(X: np.ndarray, y: np.ndarray, X_test: np.ndarray | None = None,
            y_test: np.ndarray | None = None, n_classes: int = 0) -> SimpleNamespace:
    """What the trainer needs of a data set."""
    if X_test is None:
        X_test, y_test = X[:0], y[:0]
    return SimpleNamespace(X_train=X, y_train=y, X_test=X_test, y_test=y_test,
                           n_classes=n_classes)


@pytest.fixture
def blobs3() -> SimpleNamespace:
    """Three separable Gaussian blobs in 2-D: 120 training and 60 test samples."""
    rng = np.random.default_rng(7)
    centres = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    y = rng.integers(0, 3, 180)
    X = centres[y] + 0.4 * rng.normal(size=(180, 2))
    return dataset(X[:120], y[:120], X[120:], y[120:], n_classes=3)


@pytest.fixture
def regression1() -> SimpleNamespace:
    """y = sin(x0) + x1/2 on 100 samples (one target), 40 test samples."""
    rng = np.random.default_rng(11)
    X = rng.uniform(-2, 2, (140, 2))
    y = (np.sin(X[:, 0]) + 0.5 * X[:, 1])[:, None]
    return dataset(X[:100], y[:100], X[100:], y[100:], n_classes=0)


# ---------------------------------------------------------------- the real window
@pytest.fixture
def circle_window(qtbot, tmp_path, monkeypatch):
    """The real Controller (training thread running) and MainWindow on the circle
    preset, shown offscreen with its own settings file; closed and stopped afterwards.
    Error dialogs are collected in ``win.errors`` instead of shown."""
    from PySide6.QtCore import QSettings

    from bpviz.gui.controller import Controller
    from bpviz.gui.main_window import MainWindow

    ctx = Controller("circle")
    win = MainWindow(ctx, settings=QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat),
                     restore_layout=False, save_layout=False)
    win.errors = []
    win.error_dialog = lambda title, text: win.errors.append(text)
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitExposed(win)
    yield ctx, win
    win.close()
    ctx.shutdown()
    assert not ctx.worker.isRunning()
