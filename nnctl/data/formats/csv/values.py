"""A numeric column's values in the model's float type, or a `DataError` naming the bad row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nnctl.data.encoding import describe_rows
from nnctl.data.formats.csv.source import source_name
from nnctl.errors import DataError


def numeric_values(
    series: pd.Series[Any], source: str | Path, column: str, offset: int = 0
) -> NDArray[np.floating]:
    """A column as numbers; text that is not a number is a `DataError` naming column and row."""
    if series.dtype.kind in "iufb":
        return series.to_numpy()
    numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(np.isnan(numbers) & series.notna().to_numpy())
    if len(bad):
        value = series.iloc[int(bad[0])]
        raise DataError(
            f"{source_name(source)}: column '{column}', {describe_rows(bad, offset, 1)}: "
            f"'{value}' is not a number",
            hint=f"list '{column}' under data.categorical to one-hot encode it as text",
        )
    return numbers


def check_finite(
    values: NDArray[np.floating], source: str | Path, column: str, offset: int = 0
) -> None:
    """Raise a `DataError` naming the first rows where a numeric column is NaN or infinite."""
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise DataError(
            f"{source_name(source)}: column '{column}' has {len(bad)} missing or infinite "
            f"values ({describe_rows(bad, offset)})",
            hint="fill them in, or set data.missing to mean, median or most_frequent",
        )


def out_of_range(
    source: str | Path,
    column: str,
    rows: NDArray[np.intp],
    value: object,
    dtype: type[np.floating],
    offset: int = 0,
) -> DataError:
    """The `DataError` for a number of a numeric column that ``dtype`` cannot hold."""
    name = np.dtype(dtype).name
    largest = float(np.finfo(dtype).max)
    return DataError(
        f"{source_name(source)}: column '{column}', {describe_rows(rows, offset, 1)}: {value} is "
        f"out of the {name} range (largest magnitude {largest:.3g})",
        hint=(
            "set training.dtype: float64, or rescale the column"
            if largest < np.finfo(np.float64).max
            else "rescale the column"
        ),
    )


def as_dtype(
    values: NDArray[Any], dtype: type[np.floating], source: str | Path, column: str, offset: int = 0
) -> NDArray[np.floating]:
    """A numeric column's values in ``dtype``; a finite value beyond its range is a `DataError`."""
    if values.dtype == dtype:
        return values
    with np.errstate(over="ignore"):
        cast: NDArray[np.floating] = values.astype(dtype)
    if values.dtype.kind == "f" and values.dtype.itemsize > np.dtype(dtype).itemsize:
        bad = np.flatnonzero(np.isinf(cast) & np.isfinite(values))
        if len(bad):
            raise out_of_range(source, column, bad, values[bad[0]], dtype, offset)
    return cast
