"""The shipped configs validate, survive a YAML round trip, and point at the committed schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from config_helpers import CONFIGS
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.config.loader import Config, config_differences, config_to_yaml, load_config

SHIPPED = sorted(p for p in CONFIGS.glob("*.yaml") if not p.stem.endswith("-sweep"))
"""The example configs; `*-sweep.yaml` are sweep files (tests/sweep/test_sweep_file.py)."""
OVERRIDES = [
    "model.layers.0.units=64",
    "optimizer.learning_rate=0.02",
    "training.early_stopping.patience=3",
    "schedule.name=cosine",
    "model.layers.0.activation={name: leaky_relu, alpha: 0.1}",
    "metrics=[accuracy, f1]",
]


def test_the_examples_are_shipped() -> None:
    assert {path.name for path in SHIPPED} >= {"iris.yaml", "digits.yaml"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_a_shipped_config_validates_without_its_data(path: Path) -> None:
    config = load_config(path)
    assert config.name == path.stem
    for key in ("train", "train_labels", "validation", "test", "test_labels"):
        value = getattr(config.data, key)
        assert value is None or value.is_absolute()
    assert config.data.train.is_relative_to(CONFIGS.parent / "datasets")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_a_shipped_config_points_at_the_committed_schema(path: Path) -> None:
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=nnctl.schema.json"


@pytest.mark.parametrize("overrides", [[], OVERRIDES], ids=["as-is", "overridden"])
@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_the_resolved_config_round_trips(path: Path, overrides: list[str], tmp_path: Path) -> None:
    if overrides and load_config(path).task == "regression":
        overrides = [o if not o.startswith("metrics=") else "metrics=[mae, r2]" for o in overrides]
    config = load_config(path, overrides)
    resolved = tmp_path / "elsewhere" / "config.yaml"
    resolved.parent.mkdir()
    resolved.write_text(config_to_yaml(config), encoding="utf-8")
    again = load_config(resolved)
    assert again == config
    assert config_differences(config, again) == []
    assert config_to_yaml(again) == config_to_yaml(config)


def test_overrides_change_what_they_name() -> None:
    config = load_config(CONFIGS / "iris.yaml", OVERRIDES)
    assert config.model.layers[0].units == 64
    assert config.model.layers[0].activation_name == "leaky_relu"
    assert config.model.layers[0].activation_params == {"alpha": 0.1}
    assert config.optimizer.learning_rate == 0.02
    assert config.training.early_stopping is not None
    assert config.training.early_stopping.patience == 3
    assert config.schedule is not None and config.schedule.name == "cosine"
    assert config_differences(load_config(CONFIGS / "iris.yaml"), config)[:2] == [
        "model.layers[0].units: 16 -> 64",
        """model.layers[0].activation: 'relu' -> {"name": "leaky_relu", "alpha": 0.1}""",
    ]


def test_the_iris_example_is_what_the_issue_asks_for() -> None:
    config = load_config(CONFIGS / "iris.yaml")
    assert config.data.train == CONFIGS.parent / "datasets" / "iris.csv"
    assert config.data.target == "species"
    assert [(layer.units, layer.activation_name) for layer in config.model.layers] == [
        (16, "relu"),
        (3, "softmax"),
    ]
    assert (config.loss_name, config.metrics, config.task) == (
        "categorical_crossentropy",
        ["accuracy"],
        "classification",
    )
    assert (config.optimizer.name, config.optimizer.learning_rate) == ("adam", 0.01)
    assert (config.training.epochs, config.training.batch_size) == (100, 16)
    assert config.training.early_stopping is not None
    assert config.training.early_stopping.patience == 20


def test_the_digits_example_is_what_the_issue_asks_for() -> None:
    config = load_config(CONFIGS / "digits.yaml")
    folder = CONFIGS.parent / "datasets" / "digits"
    assert config.data.resolved_format() == "idx"
    assert config.data.train == folder / "train-images-idx3-ubyte.gz"
    assert config.data.train_labels == folder / "train-labels-idx1-ubyte.gz"
    assert config.data.test == folder / "test-images-idx3-ubyte.gz"
    assert config.data.test_labels == folder / "test-labels-idx1-ubyte.gz"
    assert (config.data.normalize, config.data.validation_split) == ("none", 0.1)
    assert [(layer.units, layer.activation_name) for layer in config.model.layers] == [
        (128, "relu"),
        (10, "softmax"),
    ]
    assert (config.optimizer.name, config.optimizer.learning_rate) == ("adam", 0.001)
    assert (config.training.epochs, config.training.batch_size) == (60, 32)


def test_the_committed_schema_is_what_nnctl_schema_prints(runner: CliRunner) -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    committed = (CONFIGS / "nnctl.schema.json").read_text(encoding="utf-8")
    assert result.stdout == committed, "regenerate: nnctl schema > configs/nnctl.schema.json"


def test_the_schema_describes_every_key() -> None:
    schema = json.loads((CONFIGS / "nnctl.schema.json").read_text(encoding="utf-8"))
    assert schema["additionalProperties"] is False
    missing = [
        f"{name}.{key}"
        for name, definition in [("Config", schema), *schema["$defs"].items()]
        for key, prop in definition.get("properties", {}).items()
        if key != "name" or name == "Config"
        if "description" not in prop
    ]
    assert missing == []
    assert set(schema["properties"]) == set(Config.model_fields)
