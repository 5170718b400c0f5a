"""``nnctl validate`` fails where ``nnctl train`` fails: same exit code, same message.

Each case is a config whose data cannot train. validate is run first, then train on the same
config: both must exit with the documented code and print the same lines on stderr, and train
must leave no run directory behind. Valid configs print the layer table with the input width.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.data.formats.idx import write_idx
from tests.helpers import CONFIGS, DATASETS, run_nnctl


def _rows(n: int = 40, tier: str = "abc") -> list[str]:
    """CSV rows ``x1,x2,color,tier``: numbers, a text column with 3 values, 3 text classes."""
    rng = np.random.default_rng(0)
    return [
        f"{rng.normal():.3f},{rng.integers(0, 5)},{['red', 'green', 'blue'][i % 3]},"
        f"{tier[i % len(tier)]}"
        for i in range(n)
    ]


def _csv(folder: Path, name: str = "tiers.csv", rows: list[str] | None = None) -> Path:
    path = folder / name
    path.write_text("\n".join(["x1,x2,color,tier", *(rows or _rows())]) + "\n")
    return path


CLASSIFY = """\
version: 1
data: {{train: {train}, target: {target}{extra}}}
model: {{layers: [{{units: 4, activation: relu}}, {{units: {units}, activation: {activation}}}]}}
loss: {loss}
training: {{epochs: 1}}
"""


def _config(
    folder: Path,
    train: str = "tiers.csv",
    target: str = "tier",
    units: int = 3,
    activation: str = "softmax",
    loss: str = "categorical_crossentropy",
    extra: str = "",
) -> Path:
    path = folder / "c.yaml"
    path.write_text(
        CLASSIFY.format(
            train=train,
            target=target,
            units=units,
            activation=activation,
            loss=loss,
            extra=extra,
        )
    )
    return path


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


def _invoke(runner: CliRunner, *args: str) -> Outcome:
    result = runner.invoke(app, list(args))
    return Outcome(result.exit_code, result.stdout, result.stderr)


def _both(runner: CliRunner, config: Path, *args: str) -> tuple[Outcome, Outcome]:
    """validate, then train, on ``config``; train's runs folder must stay empty."""
    runs = config.parent / "runs"
    checked = _invoke(runner, "validate", str(config), *args)
    trained = _invoke(runner, "train", str(config), "--runs-dir", str(runs), "--quiet", *args)
    if trained.code != 0:
        assert not runs.exists() or not any(runs.iterdir())
    return checked, trained


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _free_now(message: str) -> str:
    return re.sub(r"[0-9.]+ GiB of it free now", "N GiB of it free now", message)


def _same_failure(runner: CliRunner, config: Path, code: int, *args: str) -> str:
    """Check that validate and train fail alike, with ``code``; return validate's stderr."""
    files = {p: _digest(p) for p in config.parent.iterdir() if p.is_file()}
    checked, trained = _both(runner, config, *args)
    assert checked.code == code, checked.stderr
    assert trained.code == code, trained.stderr
    assert checked.stdout == ""
    # the same message, but for the memory free now, read afresh by each command
    assert _free_now(checked.stderr) == _free_now(trained.stderr)
    assert checked.stderr.startswith("nnctl: error: ")
    assert "Traceback" not in checked.stderr and "internal error" not in checked.stderr
    assert {p: _digest(p) for p in files} == files  # nothing was changed
    return checked.stderr


# --- the cases of the issue ----------------------------------------------------------------------


def test_a_target_spelt_with_another_case(runner: CliRunner, tmp_path: Path) -> None:
    _csv(tmp_path)
    stderr = _same_failure(runner, _config(tmp_path, target="Tier"), 3)
    assert f"{tmp_path / 'tiers.csv'}: no target column 'Tier'; did you mean 'tier'?" in stderr


def test_binary_crossentropy_on_three_classes(runner: CliRunner, tmp_path: Path) -> None:
    _csv(tmp_path)
    config = _config(tmp_path, units=1, activation="sigmoid", loss="binary_crossentropy")
    stderr = _same_failure(runner, config, 3)
    assert "binary_crossentropy needs two classes" in stderr and "has 3: a, b, c" in stderr


def test_mse_on_a_text_target(runner: CliRunner, tmp_path: Path) -> None:
    _csv(tmp_path)
    config = _config(tmp_path, units=1, activation="linear", loss="mse")
    stderr = _same_failure(runner, config, 3)
    assert "the target column 'tier', rows 1 and 39 more: 'a' is not a finite number" in stderr


def test_a_regression_target_with_text_in_one_row(runner: CliRunner, tmp_path: Path) -> None:
    rows = [f"{i % 5},{i % 3},red,{i * 1.5}" for i in range(40)]
    rows[25] = "1,2,red,unknown"
    _csv(tmp_path, rows=rows)
    config = _config(tmp_path, units=1, activation="linear", loss="mse")
    stderr = _same_failure(runner, config, 3)
    assert "the target column 'tier', row 26: 'unknown' is not a finite number" in stderr


def test_a_missing_feature_column(runner: CliRunner, tmp_path: Path) -> None:
    _csv(tmp_path)
    config = _config(tmp_path, extra=", features: [x1, colour]")
    stderr = _same_failure(runner, config, 3)
    assert "no feature column 'colour'; did you mean 'color'?" in stderr


def test_a_misspelt_data_path(runner: CliRunner, tmp_path: Path) -> None:
    _csv(tmp_path)
    stderr = _same_failure(runner, _config(tmp_path, train="tier.csv"), 3)
    assert stderr.startswith(f"nnctl: error: {tmp_path / 'tier.csv'}: no such file")


def test_the_output_layer_against_the_classes(runner: CliRunner, tmp_path: Path) -> None:
    _csv(tmp_path)
    config = _config(tmp_path, units=4)
    stderr = _same_failure(runner, config, 2)
    assert stderr == (
        f"nnctl: error: {config}: model.layers[1].units: the data has 3 classes, so the output "
        "layer needs 3 units, got 4 (a, b, c)\n"
    )


@pytest.mark.parametrize(("separator", "written"), [(";", "';'"), ("\t", '"\\t"')])
def test_a_file_with_another_delimiter(
    runner: CliRunner, tmp_path: Path, separator: str, written: str
) -> None:
    rows = [row.replace(",", separator) for row in ["x1,x2,color,tier", *_rows()]]
    (tmp_path / "tiers.csv").write_text("\n".join(rows) + "\n")
    stderr = _same_failure(runner, _config(tmp_path), 3)
    assert f"the file looks separated by {written}, not ','" in stderr
    assert stderr.endswith(f"nnctl: hint: set data.delimiter: {written}\n")
    fixed = f"data.delimiter={written}"
    assert runner.invoke(app, ["validate", str(tmp_path / "c.yaml"), "--set", fixed]).exit_code == 0


# --- siblings: other files, IDX ------------------------------------------------------------------


def test_a_validation_file_with_other_columns(runner: CliRunner, tmp_path: Path) -> None:
    _csv(tmp_path)
    (tmp_path / "val.csv").write_text("x1,x2,colour,tier\n1,2,red,a\n")
    stderr = _same_failure(runner, _config(tmp_path, extra=", validation: val.csv"), 3)
    assert "val.csv: no needed column 'color'; did you mean 'colour'?" in stderr


def test_a_test_file_with_a_label_training_never_saw(runner: CliRunner, tmp_path: Path) -> None:
    _csv(tmp_path)
    (tmp_path / "test.csv").write_text("x1,x2,color,tier\n1,2,red,a\n1,2,red,z\n")
    stderr = _same_failure(runner, _config(tmp_path, extra=", test: test.csv"), 3)
    assert "test.csv: column 'tier', row 2: label 'z' was not in the training data" in stderr


def test_a_test_file_with_an_unseen_category(runner: CliRunner, tmp_path: Path) -> None:
    _csv(tmp_path)
    (tmp_path / "test.csv").write_text("x1,x2,color,tier\n1,2,red,a\n1,2,mauve,b\n")
    stderr = _same_failure(runner, _config(tmp_path, extra=", test: test.csv"), 3)
    assert "test.csv: column 'color', row 2: category 'mauve' was not in the training" in stderr
    assert "unseen_categories: ignore" in stderr


def _idx(folder: Path, prefix: str, n: int, classes: int, side: int = 4) -> tuple[Path, Path]:
    rng = np.random.default_rng(n)
    images, labels = folder / f"{prefix}-images.idx3", folder / f"{prefix}-labels.idx1"
    write_idx(images, rng.integers(0, 256, size=(n, side, side), dtype=np.uint8))
    write_idx(labels, (np.arange(n) % classes).astype(np.uint8))
    return images, labels


IDX = """\
version: 1
data: {{train: train-images.idx3, train_labels: train-labels.idx1{extra}}}
model: {{layers: [{{units: {units}, activation: softmax}}]}}
loss: categorical_crossentropy
training: {{epochs: 1}}
"""


def test_idx_labels_against_the_output_units(runner: CliRunner, tmp_path: Path) -> None:
    _idx(tmp_path, "train", 60, classes=3)
    config = tmp_path / "c.yaml"
    config.write_text(IDX.format(units=10, extra=""))
    stderr = _same_failure(runner, config, 2)
    assert "the data has 3 classes, so the output layer needs 3 units, got 10 (0, 1, 2)" in stderr


def test_idx_test_images_of_another_size(runner: CliRunner, tmp_path: Path) -> None:
    _idx(tmp_path, "train", 60, classes=3)
    _idx(tmp_path, "test", 10, classes=3, side=5)
    config = tmp_path / "c.yaml"
    extra = ", test: test-images.idx3, test_labels: test-labels.idx1"
    config.write_text(IDX.format(units=3, extra=extra))
    stderr = _same_failure(runner, config, 3)
    assert "test-images.idx3: images of 5 x 5 pixels" in stderr


def test_idx_test_labels_of_another_count(runner: CliRunner, tmp_path: Path) -> None:
    _idx(tmp_path, "train", 60, classes=3)
    images, _ = _idx(tmp_path, "test", 10, classes=3)
    write_idx(tmp_path / "test-labels.idx1", np.zeros(9, dtype=np.uint8))
    config = tmp_path / "c.yaml"
    extra = ", test: test-images.idx3, test_labels: test-labels.idx1"
    config.write_text(IDX.format(units=3, extra=extra))
    stderr = _same_failure(runner, config, 3)
    assert f"{images} has 10 images but" in stderr


# --- valid configs, --no-data ---------------------------------------------------------------------


def test_a_valid_config_prints_the_table_with_the_input_width(
    runner: CliRunner, tmp_path: Path
) -> None:
    _csv(tmp_path)
    checked, trained = _both(runner, _config(tmp_path))
    assert checked.code == 0 and trained.code == 0, checked.stderr + trained.stderr
    assert checked.stderr == ""
    rows = [line.split() for line in checked.stdout.splitlines()]
    assert ["input", "5", "(None,", "5)"] in rows  # x1, x2 and three colors


def test_no_data_checks_the_config_alone(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(_config(tmp_path, train="nowhere.csv"))])
    assert result.exit_code == 3
    result = runner.invoke(
        app, ["validate", str(_config(tmp_path, train="nowhere.csv")), "--no-data"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert ["input", "?", "(None,", "?)"] in [line.split() for line in result.stdout.splitlines()]


def test_no_data_still_reports_config_mistakes(runner: CliRunner, tmp_path: Path) -> None:
    config = _config(tmp_path, train="nowhere.csv", units=1)
    result = runner.invoke(app, ["validate", str(config), "--no-data"])
    assert result.exit_code == 2
    assert "needs one output unit per class" in result.stderr


@pytest.mark.parametrize("name", ["iris", "diabetes", "digits"])
def test_every_shipped_config_with_its_data_validates(runner: CliRunner, name: str) -> None:
    result = runner.invoke(app, ["validate", str(CONFIGS / f"{name}.yaml")])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "?" not in result.stdout  # the input width is known


def test_mnist_without_its_download(runner: CliRunner) -> None:
    if (DATASETS / "mnist").exists():
        pytest.skip("the MNIST files have been downloaded")
    result = runner.invoke(app, ["validate", str(CONFIGS / "mnist.yaml")])
    assert result.exit_code == 3
    assert "no such file" in result.stderr
    assert "nnctl data fetch mnist" in result.stderr
    assert runner.invoke(app, ["validate", str(CONFIGS / "mnist.yaml"), "--no-data"]).exit_code == 0


def test_the_real_command_exits_as_train_does(tmp_path: Path) -> None:
    _csv(tmp_path)
    config = _config(tmp_path, target="Tier")
    checked = run_nnctl("validate", config)
    trained = run_nnctl("train", config, "--runs-dir", tmp_path / "runs")
    assert checked.returncode == trained.returncode == 3
    # train's stderr also says which file it is loading (its progress): the error is the same
    loading, *error = trained.stderr.splitlines(keepends=True)
    assert loading.startswith("loading ")
    assert checked.stderr == "".join(error)
    assert "did you mean 'tier'?" in checked.stderr
    assert checked.stdout == ""


def test_a_network_too_big_for_this_machine(runner: CliRunner, tmp_path: Path) -> None:
    """``units: 10**9`` is refused before anything is allocated, by validate as by train."""
    _csv(tmp_path)
    config = _config(tmp_path)
    error = _same_failure(runner, config, 2, "--set", "model.layers.0.units=1000000000")
    assert "model.layers[0].units: 1000000000 units on" in error
    assert "GiB" in error
    alone = _invoke(runner, "validate", str(config), "--no-data",
                    "--set", "model.layers.0.units=1000000000")  # fmt: skip
    assert alone.code == 2 and "GiB" in alone.stderr and alone.stdout == ""
