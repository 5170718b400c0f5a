"""Numeric features: imputation and scaling, fitted on training rows, applied in place.

A numeric block is an array of shape (n_rows, n_columns). The fitted transform is

    x_filled = fill           where x is NaN or infinite (only when data.missing imputes)
    x_out    = (x_filled - shift) / divide

with, per column, ``shift, divide`` = ``mean, std`` (standard), ``min, max - min`` (minmax),
``0, scale`` (scale) or ``0, 1`` (none). A constant column has ``std = 0`` or ``max - min = 0``;
its divisor becomes 1 so that it maps to 0 rather than NaN. Statistics are accumulated in float64
over a few columns at a time, so a float32 block is never copied whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from nnctl.errors import ConfigError

Normalize = Literal["standard", "minmax", "scale", "none"]
Missing = Literal["error", "mean", "median", "most_frequent"]
Float64 = NDArray[np.float64]
Block = NDArray[np.floating]

COLUMNS_PER_BLOCK = 64
CONSTANT_RTOL = 1e-10  # a std this small relative to |mean| is rounding noise: a constant column


def column_blocks(block: Block) -> Iterator[tuple[slice, Block]]:
    """``(columns, view)`` for ``COLUMNS_PER_BLOCK`` adjacent columns at a time."""
    for start in range(0, block.shape[1], COLUMNS_PER_BLOCK):
        columns = slice(start, start + COLUMNS_PER_BLOCK)
        yield columns, block[:, columns]


def _as_float64(part: Block) -> Float64:
    """A float64 copy of a few columns."""
    return part.astype(np.float64)


def mean_std(block: Block) -> tuple[Float64, Float64]:
    """Per-column mean and population std, two-pass in float64 over a few columns at a time."""
    mean = np.zeros(block.shape[1])
    std = np.zeros(block.shape[1])
    for columns, part in column_blocks(block):
        x = _as_float64(part)
        mean[columns] = x.mean(axis=0)
        x -= mean[columns]
        std[columns] = np.sqrt(np.mean(x * x, axis=0))
    return mean, std


def _column_fill(column: Float64, missing: Missing) -> float:
    """The value that replaces a missing entry of one column (0 when it has no finite value)."""
    finite = column[np.isfinite(column)]
    if finite.size == 0:
        return 0.0
    if missing == "mean":
        return float(finite.mean())
    if missing == "median":
        return float(np.median(finite))
    values, counts = np.unique(finite, return_counts=True)
    return float(values[np.argmax(counts)])  # ties: the smallest value


def fit_fill(train: Block, missing: Missing) -> Float64:
    """Per-column imputation values from the training rows; NaN where ``missing`` is ``error``."""
    fill = np.full(train.shape[1], np.nan)
    if missing == "error":
        return fill
    for columns, part in column_blocks(train):
        x = _as_float64(part)
        fill[columns] = [_column_fill(column, missing) for column in x.T]
    return fill


def impute(block: Block, fill: Float64) -> None:
    """Replace NaN and infinite entries of ``block`` in place by ``fill`` of their column."""
    for columns, part in column_blocks(block):
        bad = ~np.isfinite(part)
        if bad.any():
            part[bad] = np.broadcast_to(fill[columns].astype(part.dtype), part.shape)[bad]


def fit_scaling(train: Block, normalize: Normalize, scale: float | None) -> tuple[Float64, Float64]:
    """Per-column ``shift`` and ``divide`` from the (imputed) training rows."""
    k = train.shape[1]
    if normalize == "none":
        return np.zeros(k), np.ones(k)
    if normalize == "scale":
        if scale is None:
            raise ConfigError(
                "data.normalize is 'scale' but data.scale is not set",
                hint="give the divisor, e.g. data.scale: 255 for 8-bit pixels",
            )
        return np.zeros(k), np.full(k, float(scale))
    if train.shape[0] == 0:
        return np.zeros(k), np.ones(k)
    if normalize == "minmax":
        low = np.min(train, axis=0).astype(np.float64)
        span = np.max(train, axis=0).astype(np.float64) - low
        return low, np.where(span > 0, span, 1.0)
    mean, std = mean_std(train)
    constant = std <= CONSTANT_RTOL * np.abs(mean)
    return mean, np.where(constant | (std == 0), 1.0, std)


@dataclass(frozen=True)
class NumericTransform:
    """A fitted imputation and scaling of numeric columns, applied in place."""

    fill: Float64
    shift: Float64
    divide: Float64

    @classmethod
    def fit_apply(
        cls, block: Block, n_train: int, normalize: Normalize, scale: float | None, missing: Missing
    ) -> NumericTransform:
        """Fit on ``block[:n_train]``, then transform the whole ``block`` in place."""
        fill = fit_fill(block[:n_train], missing)
        if missing != "error":
            impute(block, fill)
        shift, divide = fit_scaling(block[:n_train], normalize, scale)
        fitted = cls(fill=fill, shift=shift, divide=divide)
        fitted.scale(block)
        return fitted

    def scale(self, block: Block) -> None:
        """``block = (block - shift) / divide``, in place (no imputation)."""
        if np.any(self.shift != 0):
            block -= self.shift.astype(block.dtype)
        if np.any(self.divide != 1):
            block /= self.divide.astype(block.dtype)

    def apply(self, block: Block) -> Block:
        """Impute (when the fill values are finite) and scale ``block`` in place; return it."""
        if np.isfinite(self.fill).all():
            impute(block, self.fill)
        self.scale(block)
        return block
