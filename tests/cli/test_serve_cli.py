"""``nnctl serve``'s command line: a missing extra and bad options say what to do (exit 2)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnctl.cli import app


def test_without_the_serve_extra_it_says_what_to_install(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # what `import` gives when it is absent
    result = runner.invoke(app, ["serve", str(tmp_path), "--port", "0"])
    assert result.exit_code == 2
    assert "pip install 'nnctl[serve]'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--workers", "0"], "--workers 0: expected 1 or more"),
        (["--port", "70000"], "--port 70000: expected 0"),
        (["--max-rows", "0"], "must be 1 or more"),
    ],
)
def test_bad_options_are_usage_errors(
    runner: CliRunner, tmp_path: Path, option: list[str], message: str
) -> None:
    """Checked before the model is even looked for."""
    result = runner.invoke(app, ["serve", str(tmp_path / "no-model"), *option])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
