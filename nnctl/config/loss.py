"""The ``loss`` and ``metrics`` keys: what training minimizes and what it reports.

The loss names are the keys of the engine's `nnctl.nn.losses.LOSSES`, and the metric names those
of `nnctl.training.metrics`. Which output layer a loss needs is the engine's table (each loss's
``activation``); `nnctl.config.checks` holds the config's checks of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from nnctl.config.keys import raise_problems
from nnctl.config.section import PositiveFloat, Section, name_or_params, takers
from nnctl.nn.losses import LOSSES
from nnctl.training.metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS, Task

if TYPE_CHECKING:
    LossName = str
    MetricName = str
else:
    LossName = Literal[tuple(LOSSES)]
    MetricName = Literal[CLASSIFICATION_METRICS + REGRESSION_METRICS]

TASKS: dict[str | None, Task] = {
    "softmax": "classification",
    "sigmoid": "binary",
    None: "regression",
}
"""The task a loss implies, by the output activation it is fused with (None: any)."""

TAKE_DELTA = takers(LOSSES, "delta")
"""The losses with a parameter ``delta``: huber."""


class LossConfig(Section):
    """A loss with parameters: {name: huber, delta: 1.0}."""

    name: LossName = Field(description="The loss function.")
    delta: PositiveFloat | None = Field(
        default=None,
        description="huber: where the loss turns from quadratic to linear; null: its default.",
    )

    @model_validator(mode="after")
    def _check(self) -> LossConfig:
        if self.delta is not None and self.name not in TAKE_DELTA:
            only = " and ".join(TAKE_DELTA)
            verb = "takes" if len(TAKE_DELTA) == 1 else "take"
            raise_problems([(("delta",), f"only {only} {verb} delta, not {self.name}")])
        return self


Loss = Annotated[
    Annotated[LossName, Tag("name")] | Annotated[LossConfig, Tag("params")],
    Discriminator(name_or_params),
]


def task_of(loss_name: str) -> Task:
    """``classification`` (softmax), ``binary`` (sigmoid) or ``regression``, as the loss implies."""
    return TASKS[LOSSES[loss_name].activation]
