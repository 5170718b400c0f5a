"""Property-based: no mutation of a valid config raises anything but a ConfigError."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from config_helpers import VALID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnctl.config.loader import Config, config_to_yaml, load_config, parse_config
from nnctl.errors import ConfigError

BASE: dict[str, Any] = yaml.safe_load(VALID)
KEYS = [
    "version", "name", "seed", "data", "train", "target", "features", "validation", "test",
    "train_labels", "validation_split", "test_split", "normalize", "scale", "model", "layers",
    "units", "activation", "alpha", "dropout", "initializer", "loss", "delta", "metrics",
    "optimizer", "learning_rate", "momentum", "schedule", "training", "epochs", "batch_size",
    "early_stopping", "monitor", "patience", "checkpoint", "dtype", "relu", "adam", "unknown",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(KEYS),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), scalars), children, max_size=3),
    ),
    max_leaves=8,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    """The valid config with a few keys replaced, added or deleted."""
    data: Any = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_paths(data)))
        action = draw(st.sampled_from(["replace", "add", "delete"]))
        if not path:
            data = draw(values) if action == "replace" else data
            continue
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.one_of(st.sampled_from(KEYS), scalars))] = draw(values)
    return data


def _load_or_config_error(text: str, overrides: list[str] | None = None) -> Config | None:
    try:
        return parse_config(text, source="c.yaml", base_dir="/configs", overrides=overrides or [])
    except ConfigError as error:
        assert error.problems and all(isinstance(p, str) and p for p in error.problems)
        return None


@settings(max_examples=300, deadline=None)
@given(mutated())
def test_a_mutated_config_loads_or_is_a_config_error(data: Any) -> None:
    text = yaml.safe_dump(data, sort_keys=False)
    config = _load_or_config_error(text)
    if config is not None:  # whatever loads also round-trips
        assert parse_config(config_to_yaml(config), source="again.yaml") == config


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_mutated_text_loads_or_is_a_config_error(data: st.DataObject) -> None:
    text = VALID
    for _ in range(data.draw(st.integers(1, 3))):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, min(len(text), start + 8)))
        text = text[:start] + data.draw(st.text(max_size=6)) + text[end:]
    _load_or_config_error(text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(
                st.one_of(st.sampled_from(KEYS), st.sampled_from(["0", "1", "7"])), max_size=4
            ),
            st.one_of(st.text(max_size=10), values.map(lambda v: yaml.safe_dump(v).strip())),
        ).map(lambda pair: ".".join(pair[0]) + "=" + pair[1]),
        max_size=3,
    )
)
def test_random_overrides_load_or_are_a_config_error(overrides: list[str]) -> None:
    _load_or_config_error(VALID, overrides)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=200))
def test_any_bytes_in_a_file_load_or_are_a_config_error(folder: Path, content: bytes) -> None:
    path = folder / "c.yaml"
    path.write_bytes(content)
    try:
        load_config(path)
    except ConfigError as error:
        assert error.problems[0].startswith(str(path))
