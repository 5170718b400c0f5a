"""Numeric features: imputation and scaling, fitted on training rows, applied in place.

A numeric block is an array of shape (n_rows, n_columns). The fitted transform is

    x_filled = fill           where x is NaN or infinite (only when data.missing imputes)
    x_out    = (x_filled - shift) / divide

with, per column, ``shift, divide`` = ``mean, std`` (standard), ``min, max - min`` (minmax),
``0, scale`` (scale) or ``0, 1`` (none). A constant column (all its training values equal) has
``std = 0`` (or a rounding error) or ``max - min = 0``; its divisor becomes 1 so that it maps to 0
rather than NaN. Statistics are accumulated in float64
over a few columns or rows at a time, so a float32 block is never copied whole, and the transform
is applied a chunk of rows at a time, while the chunk is in the processor's cache.

The statistics can also be fitted on the training rows as read, before conversion: bytes (pixels)
give the same minimum, maximum, mean and std as their float copy, bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from nnctl.data.scaled import ScaledOutOfRange
from nnctl.errors import ConfigError

Normalize = Literal["standard", "minmax", "scale", "none"]
Missing = Literal["error", "mean", "median", "most_frequent"]
Float64 = NDArray[np.float64]
Block = NDArray[np.floating]
Values = NDArray[np.floating] | NDArray[np.uint8]  # training rows: floats, or bytes as read

COLUMNS_PER_BLOCK = 64
CHUNK_BYTES = 1 << 19  # 512 kB of rows at a time: well inside a core's L2 cache
CONSTANT_RTOL = 1e-10  # a std this small relative to |mean| may be rounding: see constant_columns


def float_type(name: str) -> type[np.floating]:
    """The NumPy float type a config or a network names: ``"float64"`` -> ``np.float64``."""
    kind: type[np.floating] = np.dtype(name).type
    if not issubclass(kind, np.floating):
        raise ConfigError(f"training.dtype must be float32 or float64, got {name!r}")
    return kind


def column_blocks(block: Values) -> Iterator[tuple[slice, Values]]:
    """``(columns, view)`` for ``COLUMNS_PER_BLOCK`` adjacent columns at a time."""
    for start in range(0, block.shape[1], COLUMNS_PER_BLOCK):
        columns = slice(start, start + COLUMNS_PER_BLOCK)
        yield columns, block[:, columns]


def chunk_rows(n_columns: int, itemsize: int) -> int:
    """How many rows of ``n_columns`` values of ``itemsize`` bytes make about `CHUNK_BYTES`."""
    return max(1, CHUNK_BYTES // max(1, n_columns * itemsize))


def row_chunks(n_rows: int, size: int) -> Iterator[slice]:
    """Slices of ``size`` consecutive rows (the last one shorter) covering ``n_rows`` rows."""
    for start in range(0, n_rows, size):
        yield slice(start, min(start + size, n_rows))


def _as_float64(part: Values) -> Float64:
    """A float64 copy of a few columns."""
    return part.astype(np.float64)


def _summed_by_column(block: Values) -> bool:
    """Whether NumPy sums ``block.astype(np.float64)`` along axis 0 pairwise, column by column.

    The copy keeps the memory order of ``block``. When a column's values end up next to each
    other (a column-major block, or a single column), NumPy adds each column pairwise; otherwise
    (row-major) it adds the rows one after another, and the rounding differs.
    """
    return block.shape[1] == 1 or abs(block.strides[0]) < abs(block.strides[1])


def _mean_std_by_column(block: Values) -> tuple[Float64, Float64]:
    """Mean and std of each column, one contiguous float64 column at a time (pairwise sums)."""
    mean = np.empty(block.shape[1])
    std = np.empty(block.shape[1])
    for j in range(block.shape[1]):
        x = block[:, j].astype(np.float64)
        mean[j] = np.add.reduce(x) / len(x)
        x -= mean[j]
        np.multiply(x, x, out=x)
        std[j] = np.sqrt(np.add.reduce(x) / len(x))
    return mean, std


def _sum_by_row(block: Values, shift: Float64 | None = None) -> Float64:
    """``sum(block, axis=0)``, or ``sum((block - shift) ** 2, axis=0)``, in float64, row by row.

    The rows are added one after another, as NumPy adds a row-major float64 block, but a chunk of
    rows at a time: each chunk is copied in below the running sum (row 0 of the buffer), so that
    reducing the buffer continues the same sequence of additions, and the block is never copied
    whole.
    """
    n, k = block.shape
    size = chunk_rows(k, 8)
    buffer = np.empty((min(n, size) + 1, k))
    total = np.zeros(k)
    for rows in row_chunks(n, size):
        first = rows.start == 0  # the first row starts the sum, as in NumPy's: no carry yet
        x = buffer[1 : 1 + rows.stop - rows.start]
        if shift is None:
            x[...] = block[rows]
        else:
            np.subtract(block[rows], shift, out=x)
            np.multiply(x, x, out=x)
        buffer[0] = total
        total = np.add.reduce(x if first else buffer[: len(x) + 1], axis=0)
    return total


def mean_std(block: Values) -> tuple[Float64, Float64]:
    """Per-column mean and population std, two-pass in float64, without a float64 copy.

    The results are, bit for bit, those nnctl has always computed: ``x.mean(axis=0)`` and
    ``np.mean((x - mean) ** 2, axis=0)`` with ``x = block[:, columns].astype(np.float64)`` for
    `COLUMNS_PER_BLOCK` columns at a time, whose order of additions depends on the memory layout
    (see `_summed_by_column`). So a column-major block is summed one column at a time, and a
    row-major one a chunk of rows at a time -- except a last block of a single column, which
    NumPy summed pairwise.
    """
    n, k = block.shape
    with np.errstate(over="ignore", invalid="ignore"):  # near the float64 limit: `_rescaled`
        if _summed_by_column(block):
            mean, std = _mean_std_by_column(block)
        else:
            mean = _sum_by_row(block) / n
            std = np.sqrt(_sum_by_row(block, mean) / n)
            if k % COLUMNS_PER_BLOCK == 1:
                mean[-1:], std[-1:] = _mean_std_by_column(block[:, -1:])
    for j in np.flatnonzero(~(np.isfinite(mean) & np.isfinite(std))):
        mean[j], std[j] = _rescaled(block[:, j])
    return mean, std


def _rescaled(column: Values) -> tuple[float, float]:
    """Mean and std of a finite column whose sums overflow float64 (values near 1e300).

    With ``m = max |x|``: ``mean = m * mean(x / m)`` and ``std = m * std(x / m)``, whose sums of
    values in [-1, 1] cannot overflow.
    """
    x = column.astype(np.float64)
    m = float(np.max(np.abs(x)))
    if not np.isfinite(m) or m == 0:
        return float("nan"), float("nan")
    x /= m
    mean = np.add.reduce(x) / len(x)
    x -= mean
    np.multiply(x, x, out=x)
    return float(m * mean), float(m * np.sqrt(np.add.reduce(x) / len(x)))


def _column_fill(column: Float64, missing: Missing) -> float:
    """The value that replaces a missing entry of one column (0 when it has no finite value)."""
    finite = column[np.isfinite(column)]
    if finite.size == 0:
        return 0.0
    if missing in ("mean", "median"):
        average = np.mean if missing == "mean" else np.median
        with np.errstate(over="ignore", invalid="ignore"):
            value = float(average(finite))
            if not np.isfinite(value):  # sums near the float64 limit: by a power of two, exactly
                power = 2.0 ** np.floor(np.log2(np.max(np.abs(finite))))
                value = float(average(finite / power)) * power
        return value
    values, counts = np.unique(finite, return_counts=True)
    return float(values[np.argmax(counts)])  # ties: the smallest value


def fit_fill(train: Values, missing: Missing) -> Float64:
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


def fit_scaling(
    train: Values, normalize: Normalize, scale: float | None
) -> tuple[Float64, Float64]:
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
        with np.errstate(over="ignore"):  # -1.7e308..1.7e308: `NumericTransform.scale` says so
            span = np.max(train, axis=0).astype(np.float64) - low
        return low, np.where(span > 0, span, 1.0)
    mean, std = mean_std(train)
    return mean, np.where(constant_columns(train, mean, std), 1.0, std)


def constant_columns(train: Values, mean: Float64, std: Float64) -> NDArray[np.bool_]:
    """Which columns hold one value in every training row (``std`` is 0 or rounding noise).

    A std within `CONSTANT_RTOL` of the mean may be the rounding of equal values, or real
    variation below that (``1 + k * 1e-12`` read in float64); those few columns are told apart by
    their values, so only a column whose values are all equal counts as constant.
    """
    constant: NDArray[np.bool_] = std == 0
    for j in np.flatnonzero(~constant & (std <= CONSTANT_RTOL * np.abs(mean))):
        column = train[:, j]
        constant[j] = bool(np.min(column) == np.max(column))
    return constant


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

    @classmethod
    def fit_bytes(
        cls,
        source: NDArray[np.uint8],
        train: NDArray[np.intp],
        normalize: Normalize,
        scale: float | None,
        missing: Missing,
    ) -> NumericTransform:
        """Fit on the training rows ``source[train]`` of bytes, before any conversion to floats.

        Bytes are never missing, so there is nothing to impute, and their statistics are exactly
        those `fit_apply` finds on their float copy: the minimum and maximum are the same numbers,
        and the training rows are gathered column-major, as `nnctl.data.preprocess.numeric_block`
        lays them out, so that `mean_std` adds them in the same order. A fixed divisor with no
        imputation looks at no value, so then nothing is gathered.
        """
        if normalize in ("standard", "minmax") or missing != "error":
            rows = np.take(np.asfortranarray(source).T, train, axis=1).T
        else:
            rows = source[:0]  # only the number of columns is used
        fill = fit_fill(rows, missing)
        shift, divide = fit_scaling(rows, normalize, scale)
        return cls(fill=fill, shift=shift, divide=divide)

    def scale(self, block: Block) -> None:
        """``block = (block - shift) / divide`` in place (no imputation), a chunk of rows at a time.

        Each element is computed as on the whole block at once (subtract, then divide, in the
        block's dtype); chunks only keep the rows in cache between the two operations. Where the
        dtype may not do it, a column is computed in float64, then rounded to the dtype: its shift
        or divisor is beyond the dtype (a float32 column from -3e38 to 3e38 spans 6e38) or rounds
        to 0 in it, or its shift is so large (over 1e31 in float32) that ``x - shift`` might
        overflow though the result would not.

        Raises
        ------
        ScaledOutOfRange
            Where a value, scaled, is beyond the dtype's range (a row far from the training rows).
        """
        shift, divide, wide = self.in_type(block.dtype)
        shift[wide], divide[wide] = 0, 1
        shifts, divides = bool(np.any(shift != 0)), bool(np.any(divide != 1))
        columns = np.flatnonzero(wide)
        if not (shifts or divides or len(columns)):
            return
        size = chunk_rows(block.shape[1], block.itemsize)
        with np.errstate(over="raise"):  # NumPy raises once the whole pass is done
            for rows in row_chunks(block.shape[0], size):
                part, start = block[rows], rows.start or 0
                in_float64 = self._in_float64(part, columns, start) if len(columns) else {}
                try:
                    if shifts:
                        part -= shift
                    if divides:
                        part /= divide
                except FloatingPointError:
                    self._overflowed(part, start, wide)
                for j, values in in_float64.items():
                    part[:, j] = values

    def in_type(self, dtype: np.dtype[Any]) -> tuple[Block, Block, NDArray[np.bool_]]:
        """The shift and divisor rounded to ``dtype``, and which columns it cannot scale itself.

        Those are computed in float64 (by `scale`; the ONNX graph refuses them): a shift or
        divisor beyond the type, a divisor that rounds to 0 or to a subnormal, and a shift of at
        least half a unit in the last place of the largest float. A smaller shift cannot take a
        value out of range (``x - shift`` rounds back to at most the largest); a larger one may,
        though the result fits.
        """
        with np.errstate(over="ignore", under="ignore"):
            shift, divide = self.shift.astype(dtype), self.divide.astype(dtype)
        info = np.finfo(dtype)
        top = float(info.max - np.nextafter(info.max, 0)) / 2
        wide = ~(np.isfinite(shift) & np.isfinite(divide)) | (np.abs(divide) < info.tiny)
        wide |= (np.abs(self.shift) >= top) | (np.abs(shift) >= top)
        return shift, divide, wide

    def _in_float64(self, part: Block, columns: NDArray[np.intp], start: int) -> dict[int, Block]:
        """The scaled ``columns`` of ``part``, computed in float64 and rounded to its dtype."""
        scaled = {}
        for j in columns:
            x, shift, divide = part[:, j], self.shift[j], self.divide[j]
            with np.errstate(over="ignore", invalid="ignore"):
                values = ((x.astype(np.float64) - shift) / divide).astype(x.dtype)
                lost = ~np.isfinite(values) & np.isfinite(x)
                if lost.any() and np.isfinite(divide):  # x - shift beyond float64: divide first
                    values[lost] = (x[lost].astype(np.float64) / divide - shift / divide).astype(
                        x.dtype
                    )
            bad = np.flatnonzero(~np.isfinite(values) & np.isfinite(x))
            if len(bad):
                raise self._error(start + int(bad[0]), int(j))
            scaled[int(j)] = values
        return scaled

    def _overflowed(self, part: Block, start: int, wide: NDArray[np.bool_]) -> None:
        """Raise `ScaledOutOfRange` for the first value of ``part`` divided to infinity, outside
        the ``wide`` columns (computed in float64, and checked there)."""
        where = np.argwhere(np.isinf(part) & ~wide)
        if len(where):
            raise self._error(start + int(where[0][0]), int(where[0][1]))

    def _error(self, row: int, column: int) -> ScaledOutOfRange:
        return ScaledOutOfRange(row, column, float(self.shift[column]), float(self.divide[column]))

    def apply_to_bytes(
        self, source: NDArray[np.uint8], rows: NDArray[np.intp], dtype: type[np.floating]
    ) -> Block:
        """``(source[rows] - shift) / divide`` as a new row-major array of ``dtype``.

        ``source`` holds bytes, shape (n_source, k); the rows are gathered, converted and scaled
        a chunk at a time, so that the only full-size arrays made are the result and, when
        ``source`` is column-major, a row-major copy of the bytes (``np.take`` would otherwise
        copy the whole source for every chunk).
        """
        source = np.ascontiguousarray(source)
        out = np.empty((len(rows), source.shape[1]), dtype=dtype)
        for chunk in row_chunks(len(rows), chunk_rows(out.shape[1], out.itemsize)):
            out[chunk] = np.take(source, rows[chunk], axis=0)
            try:
                self.scale(out[chunk])
            except ScaledOutOfRange as error:
                raise error.moved(chunk.start or 0) from None
        return out

    def apply(self, block: Block) -> Block:
        """Impute (when the fill values are finite) and scale ``block`` in place; return it."""
        if np.isfinite(self.fill).all():
            impute(block, self.fill)
        self.scale(block)
        return block
