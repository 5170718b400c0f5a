"""The ``training`` section: epochs, batches, early stopping and the best checkpoint."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nnctl.config.section import NonNegative, NonNegativeInt, PositiveFloat, PositiveInt, Section

_MONITOR = (
    "A value training reports: loss, val_loss, or a configured metric with or without val_ "
    "(accuracy, val_accuracy, ...). Default val_loss, or loss when there is no validation data."
)
_MODE = "min or max: whether smaller or larger is better; auto: max for accuracy-like metrics."


class EarlyStoppingConfig(Section):
    """Stop when monitor has not improved by min_delta for patience epochs."""

    monitor: str = Field(default="val_loss", description=_MONITOR)
    patience: NonNegativeInt = Field(
        default=10, description="Epochs without improvement before training stops."
    )
    min_delta: NonNegative = Field(
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
