"""validate exits as train would on the values of numeric columns and a regression target."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import DATASETS, run_nnctl, write_config

IRIS_LINES = (DATASETS / "iris.csv").read_text().splitlines()


def _config(folder: Path, lines: list[str], extra: str = "") -> Path:
    (folder / "data.csv").write_text("\n".join(lines) + "\n")
    return write_config(
        folder,
        f"""
version: 1
data: {{train: data.csv, target: species{extra}}}
model: {{layers: [{{units: 3, activation: softmax}}]}}
loss: categorical_crossentropy
training: {{epochs: 1}}
""",
    )


def _same_as_train(config: Path, code: int, message: str, *more: str) -> None:
    for command in (["validate", config], ["train", config, "--runs-dir", config.parent / "r"]):
        result = run_nnctl(*command, *more)
        assert result.returncode == code, result.stderr
        assert message in result.stderr
        assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert not (config.parent / "r").exists() or not any((config.parent / "r").iterdir())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "column 'sepal_length' has 1 missing or infinite values (row 100)"),
        ("inf", "column 'sepal_length' has 1 missing or infinite values (row 100)"),
        ("1e300", "column 'sepal_length', row 100: 1e300 is out of the float32 range"),
    ],
)
def test_validate_checks_numeric_values_as_train_does(
    tmp_path: Path, value: str, message: str
) -> None:
    lines = list(IRIS_LINES)
    lines[100] = value + lines[100][lines[100].index(",") :]
    _same_as_train(_config(tmp_path, lines), 3, message)


def test_validate_checks_a_validation_file_s_numbers(tmp_path: Path) -> None:
    lines = list(IRIS_LINES)
    lines[5] = "," + lines[5].split(",", 1)[1]
    (tmp_path / "val.csv").write_text("\n".join(lines[:1] + lines[1:30]) + "\n")
    config = _config(tmp_path, IRIS_LINES, ", validation: val.csv")
    _same_as_train(config, 3, "val.csv: column 'sepal_length' has 1 missing or infinite values")


def test_a_missing_value_filled_by_data_missing_validates(tmp_path: Path) -> None:
    lines = list(IRIS_LINES)
    lines[100] = lines[100][lines[100].index(",") :]
    result = run_nnctl("validate", _config(tmp_path, lines, ", missing: mean"))
    assert result.returncode == 0, result.stderr


def test_a_target_whose_squared_units_overflow_is_refused(tmp_path: Path) -> None:
    rows = ["x,y", *(f"{i % 7},{(-1) ** i * 1e300}" for i in range(40))]
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    config = write_config(
        tmp_path,
        """
version: 1
data: {train: data.csv, target: y}
model: {layers: [{units: 1, activation: linear}]}
loss: mse
training: {epochs: 1, dtype: float64}
""",
    )
    _same_as_train(config, 3, "data.csv: the target column 'y': its standard deviation, 9.9e+299")
    result = run_nnctl("train", config, "--set", "loss=mae", "--runs-dir", tmp_path / "r2")
    assert result.returncode == 0, result.stderr
