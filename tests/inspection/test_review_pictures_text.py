"""Review of the pictures: a ``$`` in a class or column name is text, not matplotlib's math."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.config.loader import load_config
from nnctl.workflows.train import train_run
from tests.helpers import write_config

#: Names matplotlib's math parser fails on (exit 1 before the fix) or would typeset.
CLASSES = ("$5^$", "under $_5$")


@pytest.fixture(scope="module")
def dollar_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("review_dollar")
    rows = [f"{(k % 7) / 7:.3f},{(k % 5) / 5:.3f},{CLASSES[k % 2]}" for k in range(60)]
    (folder / "prices.csv").write_text("tax$^$,size$_m^2$,label\n" + "\n".join(rows) + "\n")
    config = write_config(
        folder,
        f"""
version: 1
seed: 0
data: {{train: {folder / "prices.csv"}, target: label}}
model: {{layers: [{{units: 3, activation: tanh}}, {{units: 1, activation: sigmoid}}]}}
loss: binary_crossentropy
metrics: [accuracy]
training: {{epochs: 1, batch_size: 16}}
""",
    )
    return train_run(load_config(config), runs_dir=folder / "runs").path


@pytest.mark.parametrize(
    "command",
    [
        ["plot", "-o", "{out}/curves.svg"],
        ["draw", "--row", "0", "-o", "{out}/net.svg"],
        ["report", "-o", "{out}/report.html"],
    ],
)
def test_dollar_signs_in_names_are_drawn_as_written(
    dollar_run: Path, tmp_path: Path, command: list[str]
) -> None:
    args = [command[0], str(dollar_run), *(a.format(out=tmp_path) for a in command[1:])]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output  # was 1: matplotlib's math parser failed
    written = Path(result.stdout.strip()).read_bytes()
    assert len(written) > 1000
    if command[0] == "draw":  # SVG text is drawn as paths; the figure's ids say what is there
        assert b'id="neuron-0-0"' in written
