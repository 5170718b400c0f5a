"""``nnctl report`` on the command line: the path on stdout, refusals with exit 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnctl.cli import app
from tests.helpers import iris_config


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report-cli")
    result = CliRunner().invoke(
        app, ["train", str(iris_config(folder, epochs=2)), "--runs-dir", str(folder / "runs"),
              "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return Path(result.stdout.strip())


def test_report_prints_the_page_path_and_nothing_else(runner: CliRunner, run: Path) -> None:
    result = runner.invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{run / 'report.html'}\n"
    assert (run / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_by_name_with_runs_dir_and_output(
    runner: CliRunner, run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "page.html"
    result = runner.invoke(app, ["report", run.name, "--runs-dir", str(run.parent), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{out}\n" and out.stat().st_size > 10_000


def test_report_refuses_a_missing_run_and_a_non_html_output(
    runner: CliRunner, run: Path, tmp_path: Path
) -> None:
    missing = runner.invoke(app, ["report", str(tmp_path / "nothere")])
    assert missing.exit_code == 2 and "no such run" in missing.stderr
    before = (run / "config.yaml").read_bytes()
    refused = runner.invoke(app, ["report", str(run), "-o", str(run / "config.yaml")])
    assert refused.exit_code == 2
    assert refused.stderr.startswith(f"nnctl: error: -o {run / 'config.yaml'}: expected a file")
    assert "Traceback" not in refused.stderr and refused.stdout == ""
    assert (run / "config.yaml").read_bytes() == before


def test_report_without_matplotlib_says_which_extra(
    runner: CliRunner, run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = runner.invoke(app, ["report", str(run), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "nnctl: hint: pip install 'nnctl[plot]'" in result.stderr
    assert not (tmp_path / "r.html").exists()
