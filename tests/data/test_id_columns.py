"""A feature column with a different value in every row (an identifier) is refused, or kept with a
warning when the config names it; its unseen values do not suggest ``unseen_categories: ignore``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from datahelp import make_config, write_text
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.data import inspect, load_training_data
from nnctl.data.encoding import Category, looks_like_identifier
from nnctl.errors import ConfigError, DataError, NnctlWarning


def _file(tmp_path: Path, n: int = 40, ids: str = "text") -> Path:
    """``id,x1,color,label``: an id column (text ``u0``.., or integers 1..n), numbers, text."""
    lines = ["id,x1,color,label"]
    for i in range(n):
        ident = f"u{i}" if ids == "text" else str(i + 1)
        lines.append(f"{ident},{(i * 7) % 11 / 3:.3f},{['red', 'blue'][i % 2]},{'ab'[i % 3 % 2]}")
    return write_text(tmp_path / "people.csv", "\n".join(lines) + "\n")


def _cfg(path: Path, **data: object) -> object:
    return make_config({"train": path, "target": "label", **data}, units=2)


@pytest.mark.parametrize("ids", ["text", "integers"])
def test_an_identifier_column_is_refused_with_the_features_to_paste(
    tmp_path: Path, ids: str
) -> None:
    path = _file(tmp_path, ids=ids)
    with pytest.raises(ConfigError) as caught:
        load_training_data(_cfg(path))  # type: ignore[arg-type]
    assert caught.value.exit_code == 2
    assert caught.value.message == (
        f"{path}: column 'id' has a different value in every row (an identifier?); leave it out "
        "with data.features: [x1, color]"
    )
    assert "data.features" in str(caught.value.hint)
    with pytest.raises(ConfigError, match="column 'id' has a different value"):
        inspect(_cfg(path))  # type: ignore[arg-type]


def test_the_features_in_the_message_are_yaml_that_trains(tmp_path: Path) -> None:
    lines = ["name,yes,a b,label"] + [f"n{i},{i % 4},{i % 5},{i % 2}" for i in range(30)]
    path = write_text(tmp_path / "odd.csv", "\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as caught:
        load_training_data(_cfg(path))  # type: ignore[arg-type]
    pasted = caught.value.message.split("data.features: ", 1)[1]
    features = yaml.safe_load(pasted)
    assert features == ["yes", "a b"]
    ds = load_training_data(_cfg(path, features=features))  # type: ignore[arg-type]
    assert ds.preprocessor.feature_columns == ["yes", "a b"]


def test_several_identifiers_are_named_together(tmp_path: Path) -> None:
    lines = ["row,id,x,label"] + [f"{i},k{i},{i % 3},{i % 2}" for i in range(25)]
    path = write_text(tmp_path / "two.csv", "\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as caught:
        load_training_data(_cfg(path))  # type: ignore[arg-type]
    assert "columns 'row', 'id' have a different value in every row (identifiers?)" in str(
        caught.value
    )
    assert caught.value.message.endswith("leave them out with data.features: [x]")


def test_only_identifiers_leaves_nothing_to_learn_from(tmp_path: Path) -> None:
    lines = ["id,label"] + [f"k{i},{i % 2}" for i in range(25)]
    path = write_text(tmp_path / "only.csv", "\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match="no other feature column to learn from"):
        load_training_data(_cfg(path))  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["features", "categorical"])
def test_a_listed_identifier_is_kept_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    path = _file(tmp_path, ids="integers")
    data = {"features": ["id", "x1"]} if key == "features" else {"categorical": ["id"]}
    with pytest.warns(NnctlWarning) as caught:
        ds = load_training_data(_cfg(path, unseen_categories="ignore", **data))  # type: ignore[arg-type]
    assert "id" in ds.preprocessor.feature_columns
    messages = [str(w.message) for w in caught if issubclass(w.category, NnctlWarning)]
    assert len(messages) == 1
    assert messages[0].startswith(f"{path}: column 'id' has a different value in every")
    assert capsys.readouterr().err == ""  # the library prints nothing: the CLI shows it


KEPT_WARNING = (
    "nnctl: warning: {path}: column 'id' has a different value in every row (an identifier?); "
    "kept because the config lists it, but a model cannot learn from it what holds for new rows\n"
)


def test_the_commands_show_the_warning_on_stderr_while_loading(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = _file(tmp_path, ids="integers")
    config = tmp_path / "c.yaml"
    config.write_text(
        f"""\
version: 1
data: {{train: {path.name}, target: label, features: [id, x1]}}
model: {{layers: [{{units: 1, activation: sigmoid}}]}}
loss: binary_crossentropy
training: {{epochs: 1}}
"""
    )
    warning = KEPT_WARNING.format(path=path)
    checked = runner.invoke(app, ["validate", str(config)])
    assert checked.exit_code == 0, checked.output
    assert checked.stderr == warning
    runs = str(tmp_path / "runs")
    quiet = runner.invoke(app, ["train", str(config), "--runs-dir", runs, "--quiet"])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == warning
    trained = runner.invoke(app, ["train", str(config), "--runs-dir", runs])
    assert trained.exit_code == 0, trained.output
    lines = trained.stderr.splitlines(keepends=True)
    assert lines[0].startswith("loading ") and lines[0].endswith("...\n")
    assert lines[1] == warning  # between "loading" and "loaded", as it is raised
    assert lines[2].startswith("loaded ")
    assert trained.stderr.count("nnctl: warning:") == 1


def test_the_unseen_hint_of_an_identifier_does_not_suggest_ignore(tmp_path: Path) -> None:
    path = _file(tmp_path)
    with pytest.raises(DataError) as caught, pytest.warns(NnctlWarning, match="column 'id'"):
        load_training_data(_cfg(path, features=["id", "x1"]))  # type: ignore[arg-type]
    assert "column 'id'" in caught.value.message and "was not in the training data" in str(
        caught.value
    )
    assert "ignore" not in str(caught.value.hint)
    assert "leave it out of data.features" in str(caught.value.hint)


def test_the_unseen_hint_of_an_ordinary_column_suggests_ignore() -> None:
    category = Category.fit("color", np.array(["red", "blue"] * 15, dtype=object), False)
    assert not category.identifier
    with pytest.raises(DataError) as caught:
        category.transform(np.array(["mauve"], dtype=object), "f.csv", "error")
    assert "unseen_categories: ignore" in str(caught.value.hint)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([f"k{i}" for i in range(20)], True),  # text, all distinct
        ([f"k{i}" for i in range(19)] + ["k0"], True),  # 19 of 20 distinct: 95%
        ([f"k{i}" for i in range(18)] + ["k0", "k1"], False),  # 18 of 20: 90%
        ([f"k{i}" for i in range(19)], False),  # too few rows to tell
        (list(range(100, 130)), True),  # integers counting up: a row number
        (list(range(30, 0, -1)), False),  # counting down
        ([(i * 7919) % 1000 for i in range(30)], False),  # distinct integers: maybe a price
        ([i + 0.5 for i in range(30)], False),  # floats: measurements
        ([f"k{i}" for i in range(25)] + [None] * 10, True),  # missing values left out
    ],
)
def test_what_looks_like_an_identifier(values: list[object], expected: bool) -> None:
    kind = object if any(isinstance(v, str) or v is None for v in values) else None
    assert looks_like_identifier(np.array(values, dtype=kind)) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("customer_id", True), ("PassengerId", True), ("ID", True), ("price", False), ("paid", False)],
)
def test_shuffled_distinct_integers_are_an_identifier_by_their_name(
    name: str, expected: bool
) -> None:
    shuffled = np.random.default_rng(0).permutation(np.arange(1000, 1040))
    assert looks_like_identifier(shuffled, name) is expected
    repeated = np.concatenate([shuffled[:30], shuffled[:10]])
    assert not looks_like_identifier(repeated, name)


def test_a_column_of_few_rows_is_never_an_identifier(tmp_path: Path) -> None:
    path = _file(tmp_path, n=12)
    ds = load_training_data(_cfg(path, validation_split=0, test_split=0))  # type: ignore[arg-type]
    assert "id" in ds.preprocessor.feature_columns


def test_train_and_validate_refuse_it_alike(runner: CliRunner, tmp_path: Path) -> None:
    path = _file(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text(
        f"""\
version: 1
data: {{train: {path.name}, target: label}}
model: {{layers: [{{units: 1, activation: sigmoid}}]}}
loss: binary_crossentropy
training: {{epochs: 1}}
"""
    )
    before = path.read_bytes()
    checked = runner.invoke(app, ["validate", str(config)])
    runs = tmp_path / "runs"
    trained = runner.invoke(app, ["train", str(config), "--runs-dir", str(runs), "--quiet"])
    assert checked.exit_code == trained.exit_code == 2
    assert checked.stdout == ""
    assert checked.stderr == trained.stderr
    assert checked.stderr.startswith(
        f"nnctl: error: {path}: column 'id' has a different value in every row"
    )
    assert not runs.exists() or not any(runs.iterdir())
    assert path.read_bytes() == before
    ok = runner.invoke(app, ["validate", str(config), "--set", "data.features=[x1, color]"])
    assert ok.exit_code == 0, ok.output
