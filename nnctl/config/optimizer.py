"""The ``optimizer`` section: a ``name`` plus that optimizer's own parameters.

There is one section per entry of the engine's `nnctl.nn.optim.optimizers.OPTIMIZERS`, and its keys
are that class's parameters, in their order, with their defaults; what the config adds is each
parameter's range and description (`PARAMETERS`). The sections are joined in a union
discriminated by ``name``, so that every optimizer accepts only its own keys (``momentum`` is an
error for ``adam``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Field, model_validator

from nnctl.config.keys import raise_problems
from nnctl.config.section import (
    Described,
    NonNegative,
    PositiveFloat,
    Section,
    choice_section,
    engine_defaults,
)
from nnctl.nn.optim.optimizers import OPTIMIZERS

Unit = Annotated[float, Field(strict=True, ge=0, lt=1)]
OpenUnit = Annotated[float, Field(strict=True, gt=0, lt=1)]

SUMMARIES = {
    "sgd": "Stochastic gradient descent, with optional (Nesterov) momentum.",
    "rmsprop": "RMSprop: steps scaled by a moving average of squared gradients (Hinton 2012).",
    "adagrad": "Adagrad: steps scaled by the sum of all squared gradients (Duchi et al. 2011).",
    "adam": "Adam (Kingma & Ba 2014).",
    "adamw": "AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019).",
}
PARAMETERS: dict[str, Described] = {
    "learning_rate": (PositiveFloat, "The step size."),
    "momentum": (Unit, "Fraction of the last step kept in the next one."),
    "nesterov": (bool, "Use Nesterov momentum (needs momentum > 0)."),
    "rho": (OpenUnit, "Decay of the average of squared gradients."),
    "initial_accumulator": (NonNegative, "Starting value of the sum of squared gradients."),
    "beta_1": (Unit, "Decay of the first-moment (mean) estimate."),
    "beta_2": (Unit, "Decay of the second-moment (variance) estimate."),
    "epsilon": (PositiveFloat, "Added to the denominator for numerical stability."),
    "weight_decay": (
        NonNegative,
        "L2 penalty added to the gradient (AdamW: decoupled, applied to the weights).",
    ),
}


class OptimizerSection(Section):
    """What every optimizer's section has: its name and a learning rate."""

    name: str
    learning_rate: float

    @model_validator(mode="after")
    def _check(self) -> OptimizerSection:
        options: dict[str, Any] = self.model_dump()
        if options.get("nesterov") and options.get("momentum") == 0:
            raise_problems([(("nesterov",), "Nesterov momentum needs momentum > 0")])
        return self


OPTIMIZER_SECTIONS: dict[str, type[OptimizerSection]] = {
    name: choice_section(
        OptimizerSection,
        f"{cls.__name__}Config",
        name,
        SUMMARIES[name],
        engine_defaults(cls),
        PARAMETERS,
    )
    for name, cls in OPTIMIZERS.items()
}
"""The section of each optimizer, by name: ``SGDConfig``, ``AdamConfig``, ..."""

if TYPE_CHECKING:
    OptimizerConfig = OptimizerSection
else:
    OptimizerConfig = Annotated[
        Union[tuple(OPTIMIZER_SECTIONS.values())],  # noqa: UP007 (a union of a tuple's types)
        Field(discriminator="name"),
    ]
