"""The ``optimizer`` and ``schedule`` sections: a ``name`` plus that choice's own parameters.

Each choice is its own model, joined in a union discriminated by ``name``, so that every optimizer
accepts only its own keys (``momentum`` is an error for ``adam``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from nnctl.config import checks
from nnctl.config.sections import PositiveFloat, PositiveInt, Section

_LR = "The step size."
_DECAY = "L2 penalty added to the gradient (AdamW: decoupled, applied to the weights)."
_EPS = "Added to the denominator for numerical stability."
Unit = Annotated[float, Field(strict=True, ge=0, lt=1)]
NonNegative = Annotated[float, Field(strict=True, ge=0)]


class SGDConfig(Section):
    """Stochastic gradient descent, with optional (Nesterov) momentum."""

    name: Literal["sgd"]
    learning_rate: PositiveFloat = Field(default=0.01, description=_LR)
    momentum: Unit = Field(
        default=0.0, description="Fraction of the last step kept in the next one."
    )
    nesterov: bool = Field(default=False, description="Use Nesterov momentum (needs momentum > 0).")
    weight_decay: NonNegative = Field(default=0.0, description=_DECAY)

    @model_validator(mode="after")
    def _check(self) -> SGDConfig:
        if self.nesterov and self.momentum == 0:
            checks.raise_problems([(("nesterov",), "Nesterov momentum needs momentum > 0")])
        return self


class RMSpropConfig(Section):
    """RMSprop: steps scaled by a moving average of squared gradients (Hinton 2012)."""

    name: Literal["rmsprop"]
    learning_rate: PositiveFloat = Field(default=0.001, description=_LR)
    rho: Annotated[float, Field(strict=True, gt=0, lt=1)] = Field(
        default=0.9, description="Decay of the average of squared gradients."
    )
    epsilon: PositiveFloat = Field(default=1e-7, description=_EPS)
    weight_decay: NonNegative = Field(default=0.0, description=_DECAY)


class AdagradConfig(Section):
    """Adagrad: steps scaled by the sum of all squared gradients (Duchi et al. 2011)."""

    name: Literal["adagrad"]
    learning_rate: PositiveFloat = Field(default=0.01, description=_LR)
    initial_accumulator: NonNegative = Field(
        default=0.1, description="Starting value of the sum of squared gradients."
    )
    epsilon: PositiveFloat = Field(default=1e-7, description=_EPS)
    weight_decay: NonNegative = Field(default=0.0, description=_DECAY)


class AdamConfig(Section):
    """Adam (Kingma & Ba 2014)."""

    name: Literal["adam"]
    learning_rate: PositiveFloat = Field(default=0.001, description=_LR)
    beta_1: Unit = Field(default=0.9, description="Decay of the first-moment (mean) estimate.")
    beta_2: Unit = Field(
        default=0.999, description="Decay of the second-moment (variance) estimate."
    )
    epsilon: PositiveFloat = Field(default=1e-7, description=_EPS)
    weight_decay: NonNegative = Field(default=0.0, description=_DECAY)


class AdamWConfig(Section):
    """AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019)."""

    name: Literal["adamw"]
    learning_rate: PositiveFloat = Field(default=0.001, description=_LR)
    beta_1: Unit = Field(default=0.9, description="Decay of the first-moment (mean) estimate.")
    beta_2: Unit = Field(
        default=0.999, description="Decay of the second-moment (variance) estimate."
    )
    epsilon: PositiveFloat = Field(default=1e-7, description=_EPS)
    weight_decay: NonNegative = Field(default=0.01, description=_DECAY)


OptimizerConfig = Annotated[
    SGDConfig | RMSpropConfig | AdagradConfig | AdamConfig | AdamWConfig,
    Field(discriminator="name"),
]


# --- learning-rate schedules (stepped once per epoch) ---------------------------------------------


class ConstantSchedule(Section):
    """Keep the optimizer's learning rate."""

    name: Literal["constant"]


class StepSchedule(Section):
    """Multiply the rate by gamma every step_size epochs."""

    name: Literal["step"]
    step_size: PositiveInt = Field(default=10, description="Epochs between two reductions.")
    gamma: Annotated[float, Field(strict=True, gt=0, le=1)] = Field(
        default=0.1, description="The factor of each reduction."
    )


class ExponentialSchedule(Section):
    """Multiply the rate by gamma every epoch."""

    name: Literal["exponential"]
    gamma: Annotated[float, Field(strict=True, gt=0, le=1)] = Field(
        default=0.95, description="The factor applied every epoch."
    )


class CosineSchedule(Section):
    """Linear warm-up for warmup_epochs, then cosine decay to min_lr at the last epoch."""

    name: Literal["cosine"]
    warmup_epochs: Annotated[int, Field(strict=True, ge=0)] = Field(
        default=0, description="Epochs of linear warm-up from 0 (less than training.epochs)."
    )
    min_lr: NonNegative = Field(default=0.0, description="The rate at the last epoch.")


class ReduceOnPlateauSchedule(Section):
    """Multiply the rate by factor when monitor has not improved for patience epochs."""

    name: Literal["reduce_on_plateau"]
    monitor: str = Field(
        default="val_loss",
        description="The value watched, as for early stopping; default val_loss, or loss when "
        "there is no validation data.",
    )
    factor: Annotated[float, Field(strict=True, gt=0, lt=1)] = Field(
        default=0.1, description="The reduction factor."
    )
    patience: Annotated[int, Field(strict=True, ge=0)] = Field(
        default=5, description="Epochs without improvement before a reduction."
    )
    min_delta: NonNegative = Field(default=0.0, description="The smallest change that counts.")
    min_lr: NonNegative = Field(default=0.0, description="The rate is never reduced below this.")


ScheduleConfig = Annotated[
    ConstantSchedule
    | StepSchedule
    | ExponentialSchedule
    | CosineSchedule
    | ReduceOnPlateauSchedule,
    Field(discriminator="name"),
]
