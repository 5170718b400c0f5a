"""The README's onnxruntime example runs as written against an exported model."""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from nnctl.errors import NnctlWarning
from nnctl.export.onnx import export_onnx
from nnctl.store.model import Model
from tests.helpers import ROOT


def test_the_readme_onnxruntime_example_runs(
    make_model: Callable[..., Model], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Deploying a model") :]
    section = section[section.index("### ONNX") :]
    snippet = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert snippet is not None
    code = snippet.group(1)
    assert len(code.strip().splitlines()) <= 12
    model = make_model(labels="string")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NnctlWarning)
        export_onnx(model.path, tmp_path / "iris.onnx")
    monkeypatch.chdir(tmp_path)
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        exec(compile(code, "README.md", "exec"), {})
    lines = shown.getvalue().splitlines()
    assert lines[0] == "[['x0', 'x1', 'x2', 'x3']]"
    assert re.match(
        r"\['(setosa|versicolor|virginica)' '(setosa|versicolor|virginica)'\]", lines[1]
    )
