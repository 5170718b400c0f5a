"""Loading: messages with file:line:column, all problems at once, paths, names, YAML details."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from config_helpers import VALID, Writer, problems_of

from nnctl.config.loader import Config, load_config, parse_config
from nnctl.errors import ConfigError


def test_the_messages_of_the_issue(write: Writer) -> None:
    text = VALID.replace("{units: 3, activation: softmax}", "{units: 3, activaton: softmax}")
    text = text.replace("learning_rate: 0.01", "learning_rate: -0.01")
    path = write(text)
    assert problems_of(path) == [
        f"{path}:8:18: model.layers[1].activaton: unknown key; did you mean 'activation'?",
        f"{path}:11:40: optimizer.learning_rate: must be greater than 0, got -0.01",
    ]


def test_every_problem_is_reported_at_once_in_file_order(write: Writer) -> None:
    text = (
        VALID.replace("target: species", "target: species\n  normalize: standart")
        .replace("{units: 16, activation: relu}", "{units: -1, activation: rleu}")
        .replace("metrics: [accuracy]", "metrics: [acuracy]")
        .replace("epochs: 100", "epochs: many")
    )
    problems = problems_of(write(text))
    assert [problem.split(": ")[1] for problem in problems] == [
        "data.normalize",
        "model.layers[0].units",
        "model.layers[0].activation",
        "metrics[0]",
        "training.epochs",
    ]


def test_the_path_in_messages_is_as_the_user_gave_it(
    write: Writer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write(VALID.replace("seed", "sead").replace("version: 1", "version: 1\nsead: 0"), "sub/x.yaml")
    monkeypatch.chdir(tmp_path)
    assert problems_of("sub/../sub/x.yaml")[0].startswith("sub/../sub/x.yaml:2:1: sead: ")


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: no such file"]


def test_a_directory_is_not_a_config(tmp_path: Path) -> None:
    assert problems_of(tmp_path) == [f"{tmp_path}: is a directory, expected a YAML config file"]


def test_data_paths_are_relative_to_the_config_folder(
    write: Writer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(VALID.replace("train: data/iris.csv", "train: ../d/iris.csv"), "cfg/c.yaml")
    monkeypatch.chdir("/")
    config = load_config(os.path.relpath(path, "/"))
    assert config.data.train == tmp_path / "d" / "iris.csv"


def test_an_override_of_a_data_path_is_relative_to_the_working_folder(
    write: Writer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(VALID, "cfg/c.yaml")
    monkeypatch.chdir(tmp_path)
    config = load_config(path, ["data.train=mine.csv", "data.test=/abs/test.csv"])
    assert (config.data.train, config.data.test) == (tmp_path / "mine.csv", Path("/abs/test.csv"))


def test_name_defaults_to_the_file_stem_and_may_be_given(write: Writer) -> None:
    assert load_config(write(VALID, "my iris (v2).yaml")).name == "my-iris-v2"
    assert load_config(write(VALID + "name: flowers\n")).name == "flowers"
    assert load_config(write(VALID), ["name=other"]).name == "other"


def test_the_config_is_immutable(write: Writer) -> None:
    config = load_config(write(VALID))
    with pytest.raises(ValueError, match="frozen"):
        config.seed = 3  # type: ignore[misc]


def test_defaults_are_filled_in(write: Writer) -> None:
    config = load_config(write(VALID))
    assert (config.version, config.seed, config.schedule) == (1, 0, None)
    assert (config.data.validation_split, config.data.test_split) == (0.15, 0.15)
    assert config.data.normalize == "standard"
    assert config.optimizer.name == "adam" and config.optimizer.beta_2 == 0.999
    assert config.training.checkpoint.monitor == "val_loss"
    assert (config.training.shuffle, config.training.dtype) == (True, "float32")


def test_without_validation_data_monitors_default_to_loss(write: Writer) -> None:
    text = VALID.replace("target: species", "target: species\n  validation_split: 0")
    text = text.replace("{monitor: val_loss, patience: 20}", "{patience: 20}")
    config = load_config(write(text + "schedule: {name: reduce_on_plateau}\n"))
    assert config.training.checkpoint.monitor == "loss"
    assert config.training.early_stopping is not None
    assert config.training.early_stopping.monitor == "loss"
    assert config.schedule is not None and config.schedule.name == "reduce_on_plateau"
    assert config.schedule.monitor == "loss"


def test_a_validation_file_makes_val_monitors_exist(write: Writer) -> None:
    text = VALID.replace("target: species", "target: species\n  validation_split: 0")
    text = text.replace("monitor: val_loss", "monitor: val_accuracy")
    assert "val_accuracy' will not exist" in problems_of(write(text))[0]
    config = load_config(write(text.replace("split: 0", "split: 0\n  validation: v.csv")))
    assert config.training.checkpoint.monitor == "val_accuracy"  # follows early stopping


def test_unknown_optimizer_key_lists_the_keys_that_optimizer_accepts(write: Writer) -> None:
    text = VALID.replace("learning_rate: 0.01}", "learning_rate: 0.01, beta1: 0.8}")
    assert problems_of(write(text))[0].endswith(
        "optimizer.beta1: unknown key for adam; did you mean 'beta_1'? adam accepts: name, "
        "learning_rate, beta_1, beta_2, epsilon, weight_decay"
    )


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ("{units: 3, activation: softmax}", "{units: 3, activation: relu}", "needs a softmax"),
        ("{units: 3, activation: softmax}", "{units: 1, activation: softmax}", "at least 2"),
        ("loss: categorical_crossentropy", "loss: mse", "the output layer needs 1 unit, got 3"),
        ("metrics: [accuracy]", "metrics: [accuracy, accuracy]", "accuracy is listed twice"),
        ("learning_rate: 0.01}", "learning_rate: 0.01, nesterov: true, name: sgd}", "duplicate"),
        ("name: adam, learning_rate: 0.01", "name: sgd, nesterov: true", "needs momentum > 0"),
        ("loss: categorical_crossentropy", "loss: {name: mae, delta: 1}", "only huber takes delta"),
        ("target: species", "target: species\n  scale: 255", "is used only with normalize: scale"),
        ("target: species", "target: species\n  normalize: scale", "normalize: scale divides"),
        ("target: species", "target: species\n  features: [a, species]", "is the target"),
        ("target: species", "target: y\n  format: csv\n  train_labels: y.gz", "only IDX data"),
        ("monitor: val_loss", "monitor: val_f1", "f1 is not in metrics"),
        ("version: 1", "version: 1\nschedule: {name: cosine, warmup_epochs: 100}", "less than"),
        ("version: 1", "version: 1\nschedule: {name: cosine, min_lr: 0.1}", "less than optim"),
        ("version: 1", "version: 1\nseed: .nan", "expected an integer, got nan"),
    ],
)
def test_cross_checks(write: Writer, replace: str, by: str, expected: str) -> None:
    assert replace in VALID
    problems = problems_of(write(VALID.replace(replace, by)))
    assert any(expected in problem for problem in problems), problems


def test_binary_crossentropy_with_one_sigmoid_unit_is_valid(write: Writer) -> None:
    text = VALID.replace("{units: 3, activation: softmax}", "{units: 1, activation: sigmoid}")
    config = load_config(write(text.replace("categorical_crossentropy", "binary_crossentropy")))
    assert config.task == "binary"


def test_a_regression_config_with_a_sigmoid_output_is_valid(write: Writer) -> None:
    text = VALID.replace("{units: 3, activation: softmax}", "{units: 1, activation: sigmoid}")
    text = text.replace("loss: categorical_crossentropy", "loss: {name: huber, delta: 2}")
    config = load_config(write(text.replace("[accuracy]", "[mae, r2]")))
    assert (config.task, config.loss_name, config.loss_params) == (
        "regression",
        "huber",
        {"delta": 2},
    )


def test_idx_data_is_recognised_and_checked(write: Writer) -> None:
    data = (
        "data:\n  train: train-images-idx3-ubyte.gz\n  train_labels: train-labels-idx1-ubyte.gz\n"
    )
    text = VALID.replace("data:\n  train: data/iris.csv\n  target: species\n", data)
    assert load_config(write(text)).data.resolved_format() == "idx"
    problems = problems_of(write(text + "  test: t.gz\n".replace("  test", "test")))
    assert "test: unknown key" in problems[0]


def test_yaml_details(write: Writer) -> None:
    text = VALID.replace("learning_rate: 0.01", "learning_rate: 1e-3")  # YAML 1.1 says string
    text = text.replace("{units: 16, activation: relu}", "&hidden {units: 16, activation: relu}")
    text = text.replace(
        "{units: 3, activation: softmax}", "{<<: *hidden, units: 3, activation: softmax}"
    )
    config = load_config(write("\ufeff" + text.replace("\n", "\r\n")))
    assert config.optimizer.learning_rate == 0.001
    assert [layer.units for layer in config.model.layers] == [16, 3]


def test_parse_config_reads_text_without_a_file() -> None:
    config = parse_config(VALID, source="<stdin>", name="x")
    assert (config.name, config.data.train) == ("x", Path("data/iris.csv"))
    with pytest.raises(ConfigError, match=r"^<stdin>:2:1: sead: unknown key; did you mean 'seed'"):
        parse_config(VALID.replace("data:", "sead: 1\ndata:", 1), source="<stdin>")


def test_a_config_built_in_python_is_checked_too() -> None:
    with pytest.raises(ValueError, match="needs a softmax output layer"):
        Config.model_validate(
            {
                "data": {"train": "x.csv", "target": "y"},
                "model": {"layers": [{"units": 3}]},
                "loss": "categorical_crossentropy",
            }
        )


def test_many_problems_are_capped(write: Writer) -> None:
    text = VALID + "".join(f"extra{i}: 1\n" for i in range(80))
    problems = problems_of(write(text))
    assert len(problems) == 51
    assert problems[-1] == "... and 30 more problems"
