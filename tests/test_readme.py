"""The README's Python tour runs as written and its two commands are the CI's."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_example_runs_and_sums_tied_gradients():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    rec = ns["rec"]
    assert rec.layers[0].delta.shape == (32, 8) and rec.layers[0].dW.shape == (8, 2)
    np.testing.assert_allclose(rec.grads["W1"], rec.layers[1].dW + rec.layers[2].dW)


def test_ci_runs_the_readme_test_command():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)\n```", text, re.S)
    test_command = blocks[1].strip()
    assert "pytest" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
