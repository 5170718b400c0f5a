"""``nnctl draw`` on the command line: the file's path on stdout, SVG with ``-o -``, refusals."""

from __future__ import annotations

import hashlib
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.config.loader import load_config
from nnctl.workflows.train import train_run
from tests.helpers import iris_config


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("draw-cli")
    return train_run(load_config(iris_config(folder, epochs=2)), runs_dir=folder / "runs").path


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def test_dash_writes_the_svg_on_stdout(runner: CliRunner, run: Path) -> None:
    result = runner.invoke(app, ["draw", str(run), "-o", "-", "--row", "0"])
    assert result.exit_code == 0, result.stderr
    ids = [e.get("id", "") for e in ET.fromstring(result.stdout).iter()]
    assert sum(i.startswith("neuron-") for i in ids) == 4 + 8 + 3
    assert sum(i.startswith("connection-") for i in ids) == 4 * 8 + 8 * 3
    assert result.stderr == "drew 15 neurons and 56 connections\n"


def test_a_png_is_written_and_its_path_printed(
    runner: CliRunner, run: Path, tmp_path: Path
) -> None:
    before = digests(run)
    out = tmp_path / "net.png"
    result = runner.invoke(app, ["draw", str(run), "-o", str(out), "--max-units", "3"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{out}\n"
    # 3 of the 4 inputs, 3 of the 8 hidden units, the 3 outputs
    assert result.stderr == "drew 9 neurons and 18 connections, 6 more not drawn\n"
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert digests(run) == before  # the run and its checkpoints untouched


def test_without_o_net_svg_is_written_here(
    runner: CliRunner, run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["draw", str(run)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "net.svg\n"
    assert b"<svg" in (tmp_path / "net.svg").read_bytes()[:500]


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("net.npz", "cannot tell the picture format from '.npz'; expected one of .png, .svg, .pdf"),
        ("missing/net.png", "the folder"),
    ],
)
def test_a_bad_output_is_refused_in_one_line(
    runner: CliRunner, run: Path, tmp_path: Path, output: str, message: str
) -> None:
    result = runner.invoke(app, ["draw", str(run), "-o", str(tmp_path / output)])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_a_checkpoint_cannot_be_the_output(runner: CliRunner, run: Path) -> None:
    best = run / "checkpoints" / "best.npz"
    before = best.read_bytes()
    result = runner.invoke(app, ["draw", str(run), "-o", str(best)])
    assert result.exit_code == 2
    assert best.read_bytes() == before


def test_without_matplotlib_the_extra_is_named(
    runner: CliRunner, run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    result = runner.invoke(app, ["draw", str(run), "-o", str(tmp_path / "a.svg")])
    assert result.exit_code == 2
    assert "nnctl: hint: pip install 'nnctl[plot]'" in result.stderr
    assert not (tmp_path / "a.svg").exists()
