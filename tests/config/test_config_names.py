"""The config's names and parameters are the engine's: the schema shows the registries' keys."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from config_helpers import VALID, Writer

from nnctl.config.loader import config_json_schema, load_config
from nnctl.errors import ConfigError
from nnctl.nn.activations import ACTIVATIONS
from nnctl.nn.initializers import INITIALIZERS
from nnctl.nn.losses import LOSSES
from nnctl.nn.optim.optimizers import OPTIMIZERS
from nnctl.nn.optim.schedules import SCHEDULES
from nnctl.training.metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS

SCHEMA = config_json_schema()
DEFS = SCHEMA["$defs"]


def _name_enum(one_of: list[dict[str, Any]]) -> list[str]:
    """The ``enum`` of the plain-name arm of a name-or-mapping value."""
    return next(arm["enum"] for arm in one_of if "enum" in arm)


def test_the_schema_enums_are_the_registry_keys() -> None:
    layer = DEFS["LayerConfig"]["properties"]
    assert _name_enum(layer["activation"]["oneOf"]) == list(ACTIVATIONS)
    assert DEFS["ActivationConfig"]["properties"]["name"]["enum"] == list(ACTIVATIONS)
    assert _name_enum(layer["initializer"]["anyOf"]) == list(INITIALIZERS)
    assert _name_enum(SCHEMA["properties"]["loss"]["oneOf"]) == list(LOSSES)
    assert DEFS["LossConfig"]["properties"]["name"]["enum"] == list(LOSSES)
    metrics = SCHEMA["properties"]["metrics"]["items"]["enum"]
    assert metrics == [*CLASSIFICATION_METRICS, *REGRESSION_METRICS]


def test_the_schema_choices_are_the_optimizers_and_schedules() -> None:
    optimizer = SCHEMA["properties"]["optimizer"]["discriminator"]["mapping"]
    schedule = SCHEMA["properties"]["schedule"]["anyOf"][0]["discriminator"]["mapping"]
    assert sorted(optimizer) == sorted(OPTIMIZERS)
    assert sorted(schedule) == sorted(SCHEDULES)


def _engine_parameters(cls: type, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    parameters = inspect.signature(cls).parameters.values()
    return {p.name: p.default for p in parameters if p.name not in skip}


@pytest.mark.parametrize(
    ("registry", "section", "skip"),
    [(OPTIMIZERS, "optimizer", ()), (SCHEDULES, "schedule", ("base_lr", "epochs"))],
)
def test_each_choice_has_the_engine_classes_parameters_and_defaults(
    registry: dict[str, type], section: str, skip: tuple[str, ...]
) -> None:
    prop = SCHEMA["properties"][section]
    mapping = (prop if "discriminator" in prop else prop["anyOf"][0])["discriminator"]["mapping"]
    for name, cls in registry.items():
        model = DEFS[mapping[name].rpartition("/")[2]]
        keys = {key: value.get("default") for key, value in model["properties"].items()}
        assert keys.pop("name") is None  # required
        assert keys == _engine_parameters(cls, skip), name
        assert list(keys) == list(_engine_parameters(cls, skip)), name  # in the engine's order
        assert all(
            value["description"] for key, value in model["properties"].items() if key != "name"
        )


@pytest.mark.parametrize("loss", list(LOSSES))
def test_the_output_layer_a_loss_needs_is_the_engines(write: Writer, loss: str) -> None:
    required = LOSSES[loss].activation
    units = 3 if loss == "categorical_crossentropy" else 1
    good = required or "linear"
    text = VALID.replace("loss: categorical_crossentropy", f"loss: {loss}")
    text = text.replace("metrics: [accuracy]", "metrics: []")
    text = text.replace(
        "{units: 3, activation: softmax}", f"{{units: {units}, activation: {good}}}"
    )
    assert load_config(write(text)).loss_name == loss
    if required is not None:
        bad = text.replace(f"activation: {good}}}", "activation: tanh}")
        with pytest.raises(ConfigError) as raised:
            load_config(write(bad))
        assert f"{loss} needs a {required} output layer, got tanh" in raised.value.message
