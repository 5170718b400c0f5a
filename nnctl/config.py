"""The config file as typed, immutable pydantic models.

Every section forbids unknown keys, so a misspelled key is an error rather than a silent default.
`load_config` (below, filled in by the config-loading work) turns a YAML file into a `Config`, with
errors that name the file, line and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, lt=1)]


class Section(BaseModel):
    """A config section: immutable, unknown keys forbidden."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- data -----------------------------------------------------------------------------------------


class DataConfig(Section):
    """Where the data lives and how it is prepared.

    CSV: ``train`` (and optionally ``validation``, ``test``) are CSV files and ``target`` names the
    column to predict. IDX: ``train`` is an idx3 images file and ``train_labels`` its idx1 labels
    file (likewise for validation and test); ``.gz`` files are read as they are. Paths are relative
    to the config file's folder; once loaded they are absolute.
    """

    format: Literal["auto", "csv", "idx"] = "auto"
    train: Path
    train_labels: Path | None = None
    validation: Path | None = None
    validation_labels: Path | None = None
    test: Path | None = None
    test_labels: Path | None = None
    target: str | None = None
    features: list[str] | None = None
    categorical: list[str] | None = None
    validation_split: Fraction = 0.15
    test_split: Fraction = 0.15
    normalize: Literal["standard", "minmax", "scale", "none"] = "standard"
    scale: PositiveFloat | None = None
    missing: Literal["error", "mean", "median", "most_frequent"] = "error"
    unseen_categories: Literal["error", "ignore"] = "error"
    delimiter: str = ","

    def resolved_format(self) -> Literal["csv", "idx"]:
        """``csv`` or ``idx``: the format given, or guessed from ``train_labels`` and file names."""
        if self.format != "auto":
            return self.format
        name = self.train.name.lower()
        if self.train_labels is not None or "idx" in name or name.endswith("-ubyte.gz"):
            return "idx"
        return "csv"


# --- model ----------------------------------------------------------------------------------------

ActivationName = Literal[
    "linear", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus", "softmax"
]
InitializerName = Literal[
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_normal", "zeros"
]


class ActivationConfig(Section):
    """An activation with parameters: ``{name: leaky_relu, alpha: 0.1}``."""

    name: ActivationName
    alpha: PositiveFloat | None = None


class LayerConfig(Section):
    """A dense layer: ``units`` neurons, ``output = activation(input @ W + b)``."""

    units: PositiveInt
    activation: ActivationName | ActivationConfig = "linear"
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0
    initializer: InitializerName | None = None

    @property
    def activation_name(self) -> str:
        return self.activation if isinstance(self.activation, str) else self.activation.name

    @property
    def activation_params(self) -> dict[str, float]:
        if isinstance(self.activation, str) or self.activation.alpha is None:
            return {}
        return {"alpha": self.activation.alpha}


class ModelConfig(Section):
    """The network: a list of dense layers; the input width comes from the data."""

    layers: Annotated[list[LayerConfig], Field(min_length=1)]


# --- loss -----------------------------------------------------------------------------------------

LossName = Literal["mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy"]


class LossConfig(Section):
    """A loss with parameters: ``{name: huber, delta: 1.0}``."""

    name: LossName
    delta: PositiveFloat | None = None


# --- optimizers: each accepts only its own keys ---------------------------------------------------


class SGDConfig(Section):
    name: Literal["sgd"]
    learning_rate: PositiveFloat = 0.01
    momentum: Annotated[float, Field(ge=0, lt=1)] = 0.0
    nesterov: bool = False
    weight_decay: Annotated[float, Field(ge=0)] = 0.0


class RMSpropConfig(Section):
    name: Literal["rmsprop"]
    learning_rate: PositiveFloat = 0.001
    rho: Annotated[float, Field(gt=0, lt=1)] = 0.9
    epsilon: PositiveFloat = 1e-7
    weight_decay: Annotated[float, Field(ge=0)] = 0.0


class AdagradConfig(Section):
    name: Literal["adagrad"]
    learning_rate: PositiveFloat = 0.01
    initial_accumulator: Annotated[float, Field(ge=0)] = 0.1
    epsilon: PositiveFloat = 1e-7
    weight_decay: Annotated[float, Field(ge=0)] = 0.0


class AdamConfig(Section):
    name: Literal["adam"]
    learning_rate: PositiveFloat = 0.001
    beta_1: Annotated[float, Field(ge=0, lt=1)] = 0.9
    beta_2: Annotated[float, Field(ge=0, lt=1)] = 0.999
    epsilon: PositiveFloat = 1e-7
    weight_decay: Annotated[float, Field(ge=0)] = 0.0


class AdamWConfig(Section):
    name: Literal["adamw"]
    learning_rate: PositiveFloat = 0.001
    beta_1: Annotated[float, Field(ge=0, lt=1)] = 0.9
    beta_2: Annotated[float, Field(ge=0, lt=1)] = 0.999
    epsilon: PositiveFloat = 1e-7
    weight_decay: Annotated[float, Field(ge=0)] = 0.01


OptimizerConfig = Annotated[
    SGDConfig | RMSpropConfig | AdagradConfig | AdamConfig | AdamWConfig,
    Field(discriminator="name"),
]


# --- learning-rate schedules (stepped once per epoch) ---------------------------------------------


class ConstantSchedule(Section):
    name: Literal["constant"]


class StepSchedule(Section):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs."""

    name: Literal["step"]
    step_size: PositiveInt = 10
    gamma: Annotated[float, Field(gt=0, le=1)] = 0.1


class ExponentialSchedule(Section):
    """Multiply the rate by ``gamma`` every epoch."""

    name: Literal["exponential"]
    gamma: Annotated[float, Field(gt=0, le=1)] = 0.95


class CosineSchedule(Section):
    """Linear warm-up for ``warmup_epochs``, then cosine decay to ``min_lr`` at the last epoch."""

    name: Literal["cosine"]
    warmup_epochs: Annotated[int, Field(ge=0)] = 0
    min_lr: Annotated[float, Field(ge=0)] = 0.0


class ReduceOnPlateauSchedule(Section):
    """Multiply the rate by ``factor`` when ``monitor`` has not improved for ``patience`` epochs."""

    name: Literal["reduce_on_plateau"]
    monitor: str = "val_loss"
    factor: Annotated[float, Field(gt=0, lt=1)] = 0.1
    patience: Annotated[int, Field(ge=0)] = 5
    min_delta: Annotated[float, Field(ge=0)] = 0.0
    min_lr: Annotated[float, Field(ge=0)] = 0.0


ScheduleConfig = Annotated[
    ConstantSchedule
    | StepSchedule
    | ExponentialSchedule
    | CosineSchedule
    | ReduceOnPlateauSchedule,
    Field(discriminator="name"),
]


# --- training -------------------------------------------------------------------------------------


class EarlyStoppingConfig(Section):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    monitor: str = "val_loss"
    patience: Annotated[int, Field(ge=0)] = 10
    min_delta: Annotated[float, Field(ge=0)] = 0.0
    mode: Literal["auto", "min", "max"] = "auto"
    restore_best_weights: bool = True


class CheckpointConfig(Section):
    """Which value decides the best checkpoint (``checkpoints/best.npz``)."""

    monitor: str = "val_loss"
    mode: Literal["auto", "min", "max"] = "auto"


class TrainingConfig(Section):
    epochs: PositiveInt = 100
    batch_size: PositiveInt = 32
    shuffle: bool = True
    early_stopping: EarlyStoppingConfig | None = None
    checkpoint: CheckpointConfig = CheckpointConfig()
    clip_grad_norm: PositiveFloat | None = None
    dtype: Literal["float32", "float64"] = "float32"


# --- the whole file -------------------------------------------------------------------------------

MetricName = Literal["accuracy", "precision", "recall", "f1", "mse", "rmse", "mae", "r2"]


class Config(Section):
    """A whole config file, validated; see the README's config reference."""

    version: Literal[1] = 1
    name: str | None = None
    seed: Annotated[int, Field(ge=0)] = 0
    data: DataConfig
    model: ModelConfig
    loss: LossName | LossConfig
    metrics: list[MetricName] = []
    optimizer: OptimizerConfig = AdamConfig(name="adam")
    schedule: ScheduleConfig | None = None
    training: TrainingConfig = TrainingConfig()

    @property
    def loss_name(self) -> str:
        return self.loss if isinstance(self.loss, str) else self.loss.name

    @property
    def loss_params(self) -> dict[str, float]:
        if isinstance(self.loss, str) or self.loss.delta is None:
            return {}
        return {"delta": self.loss.delta}

    @property
    def task(self) -> Literal["classification", "binary", "regression"]:
        """What the loss implies: multi-class, binary (one sigmoid unit), or regression."""
        if self.loss_name == "categorical_crossentropy":
            return "classification"
        if self.loss_name == "binary_crossentropy":
            return "binary"
        return "regression"

    @model_validator(mode="after")
    def _splits_leave_training_data(self) -> Config:
        split = self.data.validation_split + self.data.test_split
        if split >= 1:
            raise ValueError(
                f"data.validation_split + data.test_split must be less than 1, got {split:g}"
            )
        return self
