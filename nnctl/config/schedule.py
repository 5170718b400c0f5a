"""The ``schedule`` section: how the learning rate changes, stepped once per epoch.

There is one section per entry of the engine's `nnctl.nn.optim.schedules.SCHEDULES`, and its keys
are that class's parameters (but ``base_lr``, which is ``optimizer.learning_rate``, and ``epochs``,
which is ``training.epochs``), in their order, with their defaults; what the config adds is each
parameter's range and description (`PARAMETERS`). The sections are joined in a union
discriminated by ``name``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field

from nnctl.config.section import (
    Described,
    NonNegative,
    NonNegativeInt,
    PositiveInt,
    Section,
    choice_section,
    engine_defaults,
)
from nnctl.nn.optim.schedules import SCHEDULES

Factor = Annotated[float, Field(strict=True, gt=0, le=1)]
"""A factor in (0, 1]."""

FROM_ELSEWHERE = ("base_lr", "epochs")
"""The engine's parameters that come from other sections."""

SUMMARIES = {
    "constant": "Keep the optimizer's learning rate.",
    "step": "Multiply the rate by gamma every step_size epochs.",
    "exponential": "Multiply the rate by gamma every epoch.",
    "cosine": "Linear warm-up for warmup_epochs, then cosine decay to min_lr at the last epoch.",
    "reduce_on_plateau": (
        "Multiply the rate by factor when monitor has not improved for patience epochs."
    ),
}
PARAMETERS: dict[str, dict[str, Described]] = {
    "constant": {},
    "step": {
        "step_size": (PositiveInt, "Epochs between two reductions."),
        "gamma": (Factor, "The factor of each reduction."),
    },
    "exponential": {"gamma": (Factor, "The factor applied every epoch.")},
    "cosine": {
        "warmup_epochs": (
            NonNegativeInt,
            "Epochs of linear warm-up from 0 (less than training.epochs).",
        ),
        "min_lr": (NonNegative, "The rate at the last epoch."),
    },
    "reduce_on_plateau": {
        "monitor": (
            str,
            "The value watched, as for early stopping; default val_loss, or loss when "
            "there is no validation data.",
        ),
        "factor": (Annotated[float, Field(strict=True, gt=0, lt=1)], "The reduction factor."),
        "patience": (NonNegativeInt, "Epochs without improvement before a reduction."),
        "min_delta": (NonNegative, "The smallest change that counts."),
        "min_lr": (NonNegative, "The rate is never reduced below this."),
    },
}


class ScheduleSection(Section):
    """What every schedule's section has: its name."""

    name: str


SCHEDULE_SECTIONS: dict[str, type[ScheduleSection]] = {
    name: choice_section(
        ScheduleSection,
        f"{cls.__name__}Schedule",
        name,
        SUMMARIES[name],
        engine_defaults(cls, skip=FROM_ELSEWHERE),
        PARAMETERS[name],
    )
    for name, cls in SCHEDULES.items()
}
"""The section of each schedule, by name: ``StepSchedule``, ``CosineSchedule``, ..."""

if TYPE_CHECKING:
    ScheduleConfig = ScheduleSection
else:
    ScheduleConfig = Annotated[
        Union[tuple(SCHEDULE_SECTIONS.values())],  # noqa: UP007 (a union of a tuple's types)
        Field(discriminator="name"),
    ]
