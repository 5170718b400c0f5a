"""The sections of a config file, as typed, immutable pydantic models.

Every section forbids unknown keys, so a misspelled key is an error rather than a silent default.
The optimizers and schedules are in `nnctl.config.optimizer`;
the whole file is `nnctl.config.loader.Config`.
Checks that involve several keys at once are in `nnctl.config.checks`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from nnctl.config import checks, data_checks

PositiveInt = Annotated[int, Field(strict=True, gt=0)]
PositiveFloat = Annotated[float, Field(strict=True, gt=0)]
Fraction = Annotated[float, Field(strict=True, ge=0, lt=1)]


class Section(BaseModel):
    """A config section: immutable, unknown keys forbidden, numbers finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _name_or_params(value: Any) -> str:
    """Which form a name-or-mapping value has: ``relu`` or ``{name: leaky_relu, alpha: 0.1}``."""
    return "params" if isinstance(value, dict | BaseModel) else "name"


# --- data -----------------------------------------------------------------------------------------

Normalize = Literal["standard", "minmax", "scale", "none"]


def guess_format(fmt: Any, train: Path, has_labels: bool) -> Literal["csv", "idx"]:
    """``csv`` or ``idx``: ``fmt`` when given, else idx for a labels file or an IDX file name."""
    if fmt in ("csv", "idx"):
        return fmt  # type: ignore[no-any-return]
    name = train.name.lower()
    return "idx" if has_labels or "idx" in name or name.endswith("-ubyte.gz") else "csv"


def default_normalize(fmt: Literal["csv", "idx"]) -> Normalize:
    """What ``normalize: auto`` means: ``none`` for IDX images (read into [0, 1]), else standard.

    Images are pixels on one shared scale already; standardizing each pixel on its own
    magnifies the rarely lit border pixels (on handwritten digits it costs test loss).
    """
    return "none" if fmt == "idx" else "standard"


PATH_KEYS = ("train", "train_labels", "validation", "validation_labels", "test", "test_labels")


class DataConfig(Section):
    """Where the data lives and how it is prepared.

    CSV: train (and optionally validation, test) are CSV files and target names the column to
    predict. IDX: train is an idx3 images file and train_labels its idx1 labels file (likewise for
    validation and test); .gz files are read as they are. Paths are relative to the config file's
    folder; once loaded they are absolute.
    """

    format: Literal["auto", "csv", "idx"] = Field(
        default="auto",
        description="csv, idx, or auto: idx when train_labels is given or the name says so.",
    )
    train: Path = Field(description="The training data: a CSV file, or an IDX images file.")
    train_labels: Path | None = Field(default=None, description="IDX: the labels file of train.")
    validation: Path | None = Field(
        default=None,
        description="Validation data; without it, validation_split of train is held out.",
    )
    validation_labels: Path | None = Field(
        default=None, description="IDX: the labels file of validation."
    )
    test: Path | None = Field(
        default=None, description="Test data; without it, test_split of train is held out."
    )
    test_labels: Path | None = Field(default=None, description="IDX: the labels file of test.")
    target: str | None = Field(
        default=None, description="CSV: the column to predict (required for CSV)."
    )
    features: list[str] | None = Field(
        default=None, description="CSV: the input columns; default every column but the target."
    )
    categorical: list[str] | None = Field(
        default=None,
        description="CSV: columns to one-hot encode; default the columns that are not numeric.",
    )
    validation_split: Fraction = Field(
        default=0.15,
        description="Fraction of train held out for validation when there is no validation.",
    )
    test_split: Fraction = Field(
        default=0.15,
        description="Fraction of train held out for testing when there is no test file.",
    )
    normalize: Literal["standard", "minmax", "scale", "none", "auto"] | None = Field(
        default="auto",
        description="Feature scaling fitted on the training split: standard (zero mean, unit "
        "variance), minmax ([0, 1]), scale (divide by scale), none; auto (or null): none for IDX "
        "images, which are read into [0, 1], standard for CSV. A loaded config holds the "
        "resolved value.",
    )
    scale: PositiveFloat | None = Field(
        default=None, description="The divisor of normalize: scale."
    )
    missing: Literal["error", "mean", "median", "most_frequent"] = Field(
        default="error", description="CSV: what to do with empty cells: error, or fill them."
    )
    unseen_categories: Literal["error", "ignore"] = Field(
        default="error",
        description="A category not seen in training: error, or encode it as all zeros.",
    )
    delimiter: str = Field(",", min_length=1, description="CSV: the field separator.")

    @field_validator(*PATH_KEYS)
    @classmethod
    def _relative_to_config_folder(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        """Resolve a relative path against ``base_dir`` of the validation context, if given."""
        context = info.context if isinstance(info.context, dict) else {}
        base_dir = context.get("base_dir")
        if path is None or base_dir is None:
            return path
        return Path(os.path.normpath(Path(base_dir) / path.expanduser()))

    @model_validator(mode="before")
    @classmethod
    def _resolve_normalize(cls, data: Any) -> Any:
        """Replace ``normalize: auto`` (or null, or no key) by what it means for the format.

        So the config a run records in its ``config.yaml`` says what was done (``none`` or
        ``standard``), whatever a later version's default, and a config that leaves the key out
        equals one that spells the same choice.
        """
        if not isinstance(data, dict) or data.get("normalize", "auto") not in ("auto", None):
            return data
        train, labels = data.get("train"), data.get("train_labels")
        if not isinstance(train, str | os.PathLike):
            return data  # reported as a problem of data.train
        fmt = guess_format(data.get("format", "auto"), Path(train), labels is not None)
        return {**data, "normalize": default_normalize(fmt)}

    @model_validator(mode="after")
    def _check(self) -> DataConfig:
        checks.raise_problems(data_checks.data_problems(self))
        return self

    def resolved_format(self) -> Literal["csv", "idx"]:
        """``csv`` or ``idx``: the format given, or guessed from ``train_labels`` and file names."""
        return guess_format(self.format, self.train, self.train_labels is not None)

    def resolved_normalize(self) -> Normalize:
        """The feature scaling: ``normalize``, with ``auto`` as `default_normalize` resolves it.

        A validated config already holds the resolved value; this only narrows its type.
        """
        if self.normalize in ("auto", None):
            return default_normalize(self.resolved_format())
        return self.normalize  # type: ignore[return-value]

    @property
    def has_validation_data(self) -> bool:
        """Whether training will see validation data (a file, or a split greater than 0)."""
        return self.validation is not None or self.validation_split > 0


# --- model ----------------------------------------------------------------------------------------

ActivationName = Literal[
    "linear", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus", "softmax"
]
InitializerName = Literal[
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_normal", "zeros"
]


class ActivationConfig(Section):
    """An activation with parameters: {name: leaky_relu, alpha: 0.1}."""

    name: ActivationName = Field(description="The activation function.")
    alpha: PositiveFloat | None = Field(
        default=None,
        description="leaky_relu: the slope below 0; elu: the scale below 0; null: its default.",
    )

    @model_validator(mode="after")
    def _check(self) -> ActivationConfig:
        if self.alpha is not None and self.name not in ("leaky_relu", "elu"):
            checks.raise_problems(
                [(("alpha",), f"only leaky_relu and elu take alpha, not {self.name}")]
            )
        return self


Activation = Annotated[
    Annotated[ActivationName, Tag("name")] | Annotated[ActivationConfig, Tag("params")],
    Discriminator(_name_or_params),
]


class LayerConfig(Section):
    """A dense layer: units neurons, output = activation(input @ W + b)."""

    units: PositiveInt = Field(description="The number of neurons (the layer's output width).")
    activation: Activation = Field(
        default="linear", description="A name, or {name: ..., alpha: ...} for leaky_relu and elu."
    )
    dropout: Annotated[float, Field(strict=True, ge=0, lt=1)] = Field(
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


# --- loss -----------------------------------------------------------------------------------------

LossName = Literal["mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy"]


class LossConfig(Section):
    """A loss with parameters: {name: huber, delta: 1.0}."""

    name: LossName = Field(description="The loss function.")
    delta: PositiveFloat | None = Field(
        default=None,
        description="huber: where the loss turns from quadratic to linear; null: its default.",
    )

    @model_validator(mode="after")
    def _check(self) -> LossConfig:
        if self.delta is not None and self.name != "huber":
            checks.raise_problems([(("delta",), f"only huber takes delta, not {self.name}")])
        return self


Loss = Annotated[
    Annotated[LossName, Tag("name")] | Annotated[LossConfig, Tag("params")],
    Discriminator(_name_or_params),
]


# --- training -------------------------------------------------------------------------------------

_MONITOR = (
    "A value training reports: loss, val_loss, or a configured metric with or without val_ "
    "(accuracy, val_accuracy, ...). Default val_loss, or loss when there is no validation data."
)
_MODE = "min or max: whether smaller or larger is better; auto: max for accuracy-like metrics."


class EarlyStoppingConfig(Section):
    """Stop when monitor has not improved by min_delta for patience epochs."""

    monitor: str = Field(default="val_loss", description=_MONITOR)
    patience: Annotated[int, Field(strict=True, ge=0)] = Field(
        default=10, description="Epochs without improvement before training stops."
    )
    min_delta: Annotated[float, Field(strict=True, ge=0)] = Field(
        default=0.0, description="The smallest change that counts as an improvement."
    )
    mode: Literal["auto", "min", "max"] = Field(default="auto", description=_MODE)
    restore_best_weights: bool = Field(
        default=True, description="On stopping, go back to the weights of the best epoch."
    )


class CheckpointConfig(Section):
    """Which value decides the best checkpoint (checkpoints/best.npz)."""

    monitor: str = Field(
        default="val_loss",
        description=_MONITOR.replace("Default", "Default: early_stopping's monitor and mode; else"),
    )
    mode: Literal["auto", "min", "max"] = Field(default="auto", description=_MODE)


class TrainingConfig(Section):
    """How long and in what batches to train."""

    epochs: PositiveInt = Field(default=100, description="Passes over the training data (at most).")
    batch_size: PositiveInt = Field(default=32, description="Samples per gradient step.")
    shuffle: bool = Field(default=True, description="Shuffle the training data every epoch.")
    early_stopping: EarlyStoppingConfig | None = Field(
        default=None,
        description="Stop when a monitored value stops improving; null: train every epoch.",
    )
    checkpoint: CheckpointConfig = Field(
        default=CheckpointConfig(), description="Which value decides the best checkpoint."
    )
    clip_grad_norm: PositiveFloat | None = Field(
        default=None, description="Rescale the gradients when their global L2 norm exceeds this."
    )
    dtype: Literal["float32", "float64"] = Field(
        default="float32", description="The floating-point type of weights and data."
    )
