"""Review of ``nnctl draw`` on careless input: options that mean nothing alone are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.config.loader import load_config
from nnctl.workflows.train import train_run
from tests.helpers import DATASETS, iris_config


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("review_draw")
    return train_run(load_config(iris_config(folder, epochs=1)), runs_dir=folder / "runs").path


@pytest.mark.parametrize("option", [["--split", "train"], ["--input", str(DATASETS / "iris.csv")]])
def test_split_or_input_without_a_row_is_a_usage_error(
    run: Path, tmp_path: Path, option: list[str]
) -> None:
    out = tmp_path / "net.svg"
    result = CliRunner().invoke(app, ["draw", str(run), *option, "-o", str(out)])
    assert result.exit_code == 2  # was 0: the option silently ignored, an unfilled picture
    assert f"{option[0]} " in result.stderr and "--row" in result.stderr
    assert not out.exists()
    with_row = CliRunner().invoke(app, ["draw", str(run), *option, "--row", "0", "-o", str(out)])
    assert with_row.exit_code == 0, with_row.stderr
    assert out.stat().st_size > 0
