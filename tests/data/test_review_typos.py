"""A column of numbers with a stray text value is numeric: the text is reported with its row."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import DATASETS, run_nnctl, write_config

IRIS_LINES = (DATASETS / "iris.csv").read_text().splitlines()


def _config(folder: Path, lines: list[str]) -> Path:
    (folder / "data.csv").write_text("\n".join(lines) + "\n")
    return write_config(
        folder,
        """
version: 1
data: {train: data.csv, target: species}
model: {layers: [{units: 3, activation: softmax}]}
loss: categorical_crossentropy
training: {epochs: 1}
""",
    )


@pytest.mark.parametrize("value", ["abc", "?"])
def test_text_among_the_first_rows_of_a_numeric_column_is_reported(
    tmp_path: Path, value: str
) -> None:
    lines = list(IRIS_LINES)
    lines[140] = value + lines[140][lines[140].index(",") :]
    config = _config(tmp_path, lines)
    for command in (["validate", config], ["train", config, "--runs-dir", tmp_path / "r"]):
        result = run_nnctl(*command)
        assert result.returncode == 3, result.stderr
        assert f"column 'sepal_length', row 140: '{value}' is not a number" in result.stderr
        assert "list 'sepal_length' under data.categorical" in result.stderr
        assert "unseen_categories" not in result.stderr
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_distinct_measurements_with_a_typo_are_not_called_an_identifier(tmp_path: Path) -> None:
    rows = ["x,species", *(f"{i * 0.37 + 0.001 * i * i:.4f},{'ab'[i % 2]}" for i in range(60))]
    rows[30] = "n/a?," + rows[30].split(",")[1]
    config = _config(tmp_path, rows)
    result = run_nnctl("validate", config)
    assert result.returncode == 3, result.stderr
    assert "column 'x', row 30: 'n/a?' is not a number" in result.stderr
    assert "identifier" not in result.stderr


def test_a_text_column_stays_text(tmp_path: Path) -> None:
    lines = [IRIS_LINES[0] + ",colour"]
    lines += [f"{line},{'red' if i % 3 else '7'}" for i, line in enumerate(IRIS_LINES[1:])]
    result = run_nnctl("validate", _config(tmp_path, lines))
    assert result.returncode == 0, result.stderr
    assert "4 features" not in result.stdout
