"""``--set KEY=VALUE``: any key by dotted path, list items by index, values parsed as YAML."""

from __future__ import annotations

import pytest
from config_helpers import VALID, Writer, problems_of

from nnctl.config.loader import load_config


def test_overrides_set_keys_by_path_and_index(write: Writer) -> None:
    config = load_config(
        write(VALID),
        [
            "model.layers.0.units=64",
            "model.layers[1].dropout=0.5",
            "optimizer.learning_rate=1e-3",
            "training.shuffle=false",
            "metrics=[accuracy, f1]",
        ],
    )
    assert config.model.layers[0].units == 64
    assert config.model.layers[1].dropout == 0.5
    assert config.optimizer.learning_rate == 0.001
    assert config.training.shuffle is False
    assert config.metrics == ["accuracy", "f1"]


def test_an_override_may_create_a_valid_key_absent_from_the_file(write: Writer) -> None:
    text = VALID.replace("  early_stopping: {monitor: val_loss, patience: 20}\n", "")
    config = load_config(
        write(text),
        ["training.early_stopping.patience=3", "schedule.name=cosine", "schedule.min_lr=0.0001"],
    )
    assert config.training.early_stopping is not None
    assert config.training.early_stopping.patience == 3
    assert config.schedule is not None and config.schedule.name == "cosine"


def test_an_override_turns_a_name_into_a_mapping(write: Writer) -> None:
    config = load_config(
        write(VALID),
        ["loss=huber", "loss.delta=2", "model.layers.1.units=1", "model.layers.1.activation=linear",
         "model.layers.0.activation.name=leaky_relu", "model.layers.0.activation.alpha=0.2",
         "metrics=[mae]"],
    )  # fmt: skip
    assert config.loss_params == {"delta": 2.0}
    assert config.model.layers[0].activation_params == {"alpha": 0.2}


def test_an_index_one_past_the_end_adds_a_layer(write: Writer) -> None:
    config = load_config(
        write(VALID),
        ["model.layers.1.activation=relu", "model.layers.2={units: 3, activation: softmax}"],
    )
    assert [layer.units for layer in config.model.layers] == [16, 3, 3]


def test_later_overrides_win_and_null_clears(write: Writer) -> None:
    config = load_config(
        write(VALID), ["training.epochs=5", "training.epochs=7", "training.early_stopping="]
    )
    assert config.training.epochs == 7
    assert config.training.early_stopping is None


def test_an_unknown_key_in_an_override_names_the_override(write: Writer) -> None:
    assert problems_of(write(VALID), ["model.layers.0.unitz=3"]) == [
        "--set model.layers.0.unitz=3: unknown key; did you mean 'units'?"
    ]
    assert problems_of(write(VALID), ["trainng.epochs=3"]) == [
        "--set trainng.epochs=3: trainng: unknown key; did you mean 'training'?"
    ]


def test_a_bad_value_in_an_override_names_the_override(write: Writer) -> None:
    assert problems_of(write(VALID), ["optimizer.learning_rate=-1", "training.dtype=float16"]) == [
        "--set optimizer.learning_rate=-1: must be greater than 0, got -1",
        "--set training.dtype=float16: must be one of: float32, float64, got 'float16'; "
        "did you mean 'float64'?",
    ]
    assert problems_of(write(VALID), ["optimizer.name=adm"]) == [
        "--set optimizer.name=adm: must be one of: sgd, rmsprop, adagrad, adam, adamw, got 'adm'; "
        "did you mean 'adam'?",
    ]


def test_problems_of_file_and_overrides_come_together(write: Writer) -> None:
    path = write(VALID.replace("seed", "x").replace("version: 1", "version: 1\nsed: 1"))
    assert problems_of(path, ["training.batch_size=0"]) == [
        f"{path}:2:1: sed: unknown key; did you mean 'seed'?",
        "--set training.batch_size=0: must be greater than 0, got 0",
    ]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("epochs", "expected KEY=VALUE, such as training.epochs=50"),
        ("=3", "expected KEY=VALUE, the key is empty"),
        ("training..epochs=3", "'training..epochs' has an empty part"),
        ("model.layers.x.units=3", "model.layers is a list: expected an index, got 'x'"),
        ("model.layers.5.units=3", "model.layers has 2 items: expected an index from 0 to 1, or 2"),
        ("seed.value=3", "seed is 0, not a mapping with keys"),
        ("training.epochs=[1, 2", "the value is not valid YAML: expected ',' or ']'"),
        ("training.epochs=!!python/name:os.system", "the value is not valid YAML: unsupported"),
    ],
)
def test_a_malformed_override_is_a_config_error(write: Writer, override: str, message: str) -> None:
    problems = problems_of(write(VALID.replace("version: 1", "version: 1\nseed: 0")), [override])
    assert problems[0].startswith(f"--set {override}: {message}"), problems
