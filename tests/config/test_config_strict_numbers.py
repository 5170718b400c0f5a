"""Numbers in a config are numbers: YAML's true, false and quoted text are not 1, 0 or 0.1.

pydantic's lax mode took ``units: true`` as 1 unit and ``learning_rate: "0.1"`` as 0.1, so a
config that says something else than it means validated and trained.
"""

from __future__ import annotations

import pytest
from config_helpers import VALID, Writer, problems_of

from nnctl.config.loader import load_config


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("model.layers.0.units", "true", "expected an integer, got true"),
        ("training.epochs", "true", "expected an integer, got true"),
        ("training.batch_size", "'32'", "expected an integer, got '32'"),
        ("seed", "false", "expected an integer, got false"),
        ("optimizer.learning_rate", "true", "expected a number, got true"),
        ("optimizer.learning_rate", "'0.1'", "expected a number, got '0.1'"),
        ("data.validation_split", "true", "expected a number, got true"),
        ("model.layers.0.dropout", "'0.5'", "expected a number, got '0.5'"),
    ],
)
def test_true_and_quoted_text_are_not_numbers(
    write: Writer, key: str, value: str, expected: str
) -> None:
    problems = problems_of(write(VALID), [f"{key}={value}"])
    assert any(expected in problem for problem in problems), problems


def test_an_integer_is_still_a_number_where_a_float_is_expected(write: Writer) -> None:
    config = load_config(write(VALID), ["optimizer.learning_rate=1", "data.test_split=0"])
    assert config.optimizer.learning_rate == 1.0
    assert config.data.test_split == 0.0
