"""The corpus of broken configs: each one is a ConfigError naming file:line:column and key path.

Through the command line each exits 2, prints nothing on stdout and no traceback on stderr.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from config_helpers import BROKEN, problems_of
from typer.testing import CliRunner

from nnctl.cli import app

# file -> (line:column, the start of the first problem after "file:line:column: ")
EXPECTED: dict[str, tuple[str | None, str]] = {
    "alpha_for_relu": ("7:51", "model.layers[0].activation.alpha: only leaky_relu and elu take"),
    "binary": (None, "a binary file, expected a YAML config file"),
    "comments_only": ("1:1", "the file is empty"),
    "csv_without_target": ("2:1", "data.target: missing required key: CSV data needs the column"),
    "dropout_one": ("7:46", "model.layers[0].dropout: must be less than 1, got 1.0"),
    "duplicate_key": ("17:3", "training.epochs: duplicate key; 'epochs' is also given at line 15"),
    "empty": ("1:1", "the file is empty"),
    "empty_layers": ("6:11", "model.layers: must have at least 1 item, got 0"),
    "epochs_fraction": ("15:11", "training.epochs: expected an integer, got 2.5"),
    "idx_without_labels": ("2:1", "data.train_labels: missing required key: IDX data needs"),
    "latin1": (None, "not UTF-8 text (byte 0xe9 at offset 9)"),
    "metric_for_other_task": ("10:21", "metrics[1]: r2 does not fit a classification task"),
    "missing_data": ("1:1", "data: missing required key"),
    "missing_train": ("2:1", "data.train: missing required key"),
    "misspelled_activation": (
        "7:31",
        "model.layers[0].activation: must be one of: linear, relu, leaky_relu, elu, gelu, "
        "sigmoid, tanh, softplus, softmax, got 'rleu'; did you mean 'relu'?",
    ),
    "misspelled_loss": ("9:7", "loss: must be one of: mse, mae, huber, binary_crossentropy"),
    "misspelled_metric": ("10:11", "metrics[0]: must be one of: accuracy, precision"),
    "misspelled_normalize": ("5:14", "data.normalize: must be one of: standard, minmax, scale"),
    "misspelled_optimizer": (
        "12:9",
        "optimizer.name: must be one of: sgd, rmsprop, adagrad, adam, adamw, got 'adm'; "
        "did you mean 'adam'?",
    ),
    "monitor_unknown": (
        "17:29",
        "training.early_stopping.monitor: must be one of: loss, accuracy, val_loss, val_accuracy, "
        "got 'val_acc'; did you mean 'val_accuracy'?",
    ),
    "monitor_without_validation": (
        "18:29",
        "training.early_stopping.monitor: 'val_loss' will not exist: there is no validation data",
    ),
    "negative_learning_rate": (
        "13:18",
        "optimizer.learning_rate: must be greater than 0, got -0.01",
    ),
    "negative_seed": ("2:7", "seed: must be at least 0, got -3"),
    "not_yaml": ("2:18", "invalid YAML: mapping values are not allowed here"),
    "optimizer_as_string": ("11:12", "optimizer: expected a mapping of keys to values, got 'adam'"),
    "python_tag": ("1:10", "unsupported YAML tag '!!python/object/apply:os.system'"),
    "shuffle_not_bool": ("17:12", "training.shuffle: expected true or false, got 'maybe'"),
    "sigmoid_with_categorical_loss": (
        "8:30",
        "model.layers[1].activation: categorical_crossentropy needs a softmax output layer",
    ),
    "softmax_with_binary_loss": (
        "8:15",
        "model.layers[1].units: binary_crossentropy needs 1 output",
    ),
    "splits_leave_nothing": (
        "5:21",
        "data.validation_split: validation_split + test_split must be",
    ),
    "tab_indented": ("3:1", "invalid YAML: a tab character; indent YAML with spaces, not tabs"),
    "target_not_string": ("4:11", "data.target: expected a string, got a list"),
    "top_level_list": ("1:1", "expected a mapping of config keys, got a list"),
    "top_level_string": ("1:1", "expected a mapping of config keys, got 'just some text'"),
    "two_documents": ("18:1", "invalid YAML: a second document ('---')"),
    "unclosed_bracket": ("11:10", "invalid YAML: expected ',' or ']'"),
    "units_not_integer": ("7:15", "model.layers[0].units: expected an integer, got 'abc'"),
    "unknown_key_data": ("4:3", "data.targt: unknown key; did you mean 'target'?"),
    "unknown_key_early_stopping": (
        "17:39",
        "training.early_stopping.patiense: unknown key; did you mean 'patience'?",
    ),
    "unknown_key_layer": (
        "9:7",
        "model.layers[1].activaton: unknown key; did you mean 'activation'?",
    ),
    "unknown_key_optimizer": (
        "14:3",
        "optimizer.momentum: unknown key for adam; adam accepts: name, learning_rate, beta_1, "
        "beta_2, epsilon, weight_decay (momentum is for sgd)",
    ),
    "unknown_key_schedule": (
        "14:26",
        "schedule.gamma: unknown key for cosine; cosine accepts: name, warmup_epochs, min_lr",
    ),
    "unknown_key_top": ("11:1", "optimiser: unknown key; did you mean 'optimizer'?"),
    "unknown_key_training": ("15:3", "training.epoch: unknown key; did you mean 'epochs'?"),
    "version_2": ("1:10", "version: must be one of: 1, got 2"),
    "zero_batch_size": ("16:15", "training.batch_size: must be greater than 0, got 0"),
    "zero_units": ("7:15", "model.layers[0].units: must be greater than 0, got 0"),
}

CORPUS = sorted(BROKEN.glob("*.yaml"))


def _expected_start(path: Path) -> str:
    position, message = EXPECTED[path.stem]
    where = str(path) if position is None else f"{path}:{position}"
    return f"{where}: {message}"


def test_every_broken_config_has_an_expectation() -> None:
    assert len(CORPUS) >= 25
    assert sorted(path.stem for path in CORPUS) == sorted(EXPECTED)


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.stem)
def test_a_broken_config_is_a_config_error_at_its_line(path: Path) -> None:
    problems = problems_of(path)
    assert problems[0].startswith(_expected_start(path)), problems


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.stem)
def test_a_broken_config_exits_2_through_the_cli(runner: CliRunner, path: Path) -> None:
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(f"nnctl: error: {_expected_start(path)}")
    assert "Traceback" not in result.stderr
    assert all(line.startswith("nnctl: error: ") for line in result.stderr.splitlines())
