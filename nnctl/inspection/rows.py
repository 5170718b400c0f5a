"""One row for ``nnctl trace``: from a run's split or a file, raw and prepared, with its label."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nnctl.data.encoding import is_missing
from nnctl.errors import DataError, UsageError
from nnctl.inspection.sources import Opened, file_chunks, plain, split_of


@dataclass
class PickedRow:
    """One input: ``x`` (shape ``(1, n_features)``), its raw values and its target, if known.

    ``raw`` maps column names to the values read (None for IDX images); ``y`` is the encoded
    target (the network's ``y`` for one row) or None when the row has no target.
    """

    source: str
    row: int
    x: np.ndarray
    raw: dict[str, Any] | None
    y: np.ndarray | None


def pick_row(opened: Opened, row: int, split: str | None, input_path: Path | None) -> PickedRow:
    """Row ``row`` (counting from 0) of ``--input`` or of the run's ``split`` (default test)."""
    if row < 0:
        raise UsageError(f"--row {row}: expected a row number from 0")
    if input_path is not None:
        if split is not None:
            raise UsageError(
                "--split and --input: give one of them (a split of the run, or a file)"
            )
        return _file_row(opened, input_path, row)
    role = split or "test"
    found = split_of(opened, role, "--split")
    if row >= len(found.split):
        raise UsageError(f"--row {row}: the {role} split has {len(found.split)} rows (0 to "
                         f"{len(found.split) - 1})")  # fmt: skip
    raw = None if found.raw is None else _raw(found.raw.iloc[row])
    source = f"{role} split of {opened.run} (row {row} of the split"
    if found.rows is not None:
        source += f", row {int(found.rows[row])} of {found.source}"
    return PickedRow(
        source + ")", row, found.split.X[row : row + 1], raw, found.split.y[row : row + 1]
    )


def _file_row(opened: Opened, path: Path, row: int) -> PickedRow:
    """Row ``row`` of a CSV or IDX file; its target when the CSV has the target column."""
    pre = opened.model.preprocessor
    seen = 0
    for frame, X in file_chunks(opened, path):
        if row < seen + len(X):
            at = row - seen
            x = X[at : at + 1]
            if pre.input == "idx":
                return PickedRow(str(path), row, x, None, None)
            values = frame.iloc[at]
            target = str(pre.target_column)
            y = None
            if (
                target in frame.columns
                and not is_missing(np.asarray([values[target]], dtype=object)).any()
            ):
                y = pre.target.encode(np.asarray([values[target]], dtype=object), str(path),
                                      opened.dtype)  # fmt: skip
            return PickedRow(str(path), row, x, _raw(values), y)
        seen += len(X)
    if seen == 0:
        raise DataError(f"--input {path}: expected at least one row of data, found none")
    raise UsageError(f"--row {row}: {path} has {seen} rows (0 to {seen - 1})")


def _raw(values: pd.Series) -> dict[str, Any]:
    """Column -> value; a float32 number as its shortest decimal (``7.2``, not ``7.19999981``)."""
    return {
        str(k): float(str(v)) if isinstance(v, np.float32) else plain(v) for k, v in values.items()
    }
