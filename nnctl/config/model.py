"""The ``model`` section: a list of dense layers, each with its activation and initializer.

The activation and initializer names are the keys of the engine's registries
(`nnctl.nn.activations.ACTIVATIONS`, `nnctl.nn.initializers.INITIALIZERS`), and the activations
that take ``alpha`` are those whose engine class has it among its defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from nnctl.config.keys import raise_problems
from nnctl.config.section import (
    Fraction,
    PositiveFloat,
    PositiveInt,
    Section,
    name_or_params,
    takers,
)
from nnctl.nn.activations import ACTIVATIONS
from nnctl.nn.initializers import INITIALIZERS

if TYPE_CHECKING:
    ActivationName = str
    InitializerName = str
else:
    ActivationName = Literal[tuple(ACTIVATIONS)]
    InitializerName = Literal[tuple(INITIALIZERS)]

TAKE_ALPHA = takers(ACTIVATIONS, "alpha")
"""The activations with a parameter ``alpha``: leaky_relu and elu."""


class ActivationConfig(Section):
    """An activation with parameters: {name: leaky_relu, alpha: 0.1}."""

    name: ActivationName = Field(description="The activation function.")
    alpha: PositiveFloat | None = Field(
        default=None,
        description="leaky_relu: the slope below 0; elu: the scale below 0; null: its default.",
    )

    @model_validator(mode="after")
    def _check(self) -> ActivationConfig:
        if self.alpha is not None and self.name not in TAKE_ALPHA:
            only = " and ".join(TAKE_ALPHA)
            raise_problems([(("alpha",), f"only {only} take alpha, not {self.name}")])
        return self


Activation = Annotated[
    Annotated[ActivationName, Tag("name")] | Annotated[ActivationConfig, Tag("params")],
    Discriminator(name_or_params),
]


class LayerConfig(Section):
    """A dense layer: units neurons, output = activation(input @ W + b)."""

    units: PositiveInt = Field(description="The number of neurons (the layer's output width).")
    activation: Activation = Field(
        default="linear", description="A name, or {name: ..., alpha: ...} for leaky_relu and elu."
    )
    dropout: Fraction = Field(
        default=0.0, description="Fraction of this layer's outputs zeroed during training."
    )
    initializer: InitializerName | None = Field(
        default=None, description="How W starts; null: the engine's default for the activation."
    )

    @property
    def activation_name(self) -> str:
        """The activation's name, whichever form it was given in."""
        return self.activation if isinstance(self.activation, str) else self.activation.name

    @property
    def activation_params(self) -> dict[str, float]:
        """The activation's parameters (``{"alpha": 0.1}``), empty for its defaults."""
        if isinstance(self.activation, str) or self.activation.alpha is None:
            return {}
        return {"alpha": self.activation.alpha}


class ModelConfig(Section):
    """The network: a list of dense layers; the input width comes from the data."""

    layers: Annotated[list[LayerConfig], Field(min_length=1)] = Field(
        description="The dense layers in order; the last one is the output layer."
    )
