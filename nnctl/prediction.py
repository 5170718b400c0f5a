"""Predictions of a trained model as CSV, chunk by chunk, in the original label names and units.

Rows are read, prepared with the model's stored preprocessing, predicted and written one chunk at a
time, so memory stays flat however long the input is, and output rows match input rows one to one.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from nnctl.data import read_features_for_predict
from nnctl.errors import DataError, UsageError
from nnctl.model import Model
from nnctl.runs import FILE_MODE

CHUNK_ROWS = 50_000


def prediction_frames(
    model: Model,
    source: str | Path,
    *,
    proba: bool = False,
    keep: Sequence[str] = (),
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """One output frame per input chunk: kept columns, the prediction, then probabilities."""
    pre = model.preprocessor
    target = pre.target_column or "label"
    if target in keep:
        raise UsageError(
            f"--keep {target}: the predictions are written in a column named {target!r}; "
            "keep another column (an id), or compare with the true labels by nnctl evaluate"
        )
    for raw, X in read_features_for_predict(
        pre, source, chunk_rows, dtype=model.network.dtype.type
    ):
        output = model.network.predict(X.astype(model.network.dtype, copy=False))
        frame = pd.DataFrame(index=range(len(X)))
        for column in keep:
            if column not in raw.columns:
                raise DataError(
                    f"{_name(source)}: --keep column {column!r} is not in the input; "
                    f"columns found: {', '.join(map(str, raw.columns))}"
                )
            frame[column] = raw[column].to_numpy()
        frame[target] = _predicted(model, output)
        if proba and model.task != "regression":
            probabilities = _probabilities(model, output).T
            for name, column in zip(_class_names(model), probabilities, strict=True):
                frame[f"proba_{name}"] = column
        yield frame


def _name(source: str | Path) -> str:
    return "<stdin>" if str(source) == "-" else str(source)


def _class_names(model: Model) -> list[str]:
    pre = model.preprocessor
    return list(pre.class_names or [str(k) for k in range(max(pre.n_outputs, 2))])


def _probabilities(model: Model, output: np.ndarray) -> np.ndarray:
    if model.task == "binary":
        p = output.reshape(-1, 1)
        return np.hstack([1.0 - p, p])
    return output


def _predicted(model: Model, output: np.ndarray) -> Any:
    pre = model.preprocessor
    if model.task == "regression":
        values = pre.inverse_target(output)
        return values[:, 0] if values.shape[1] == 1 else list(map(list, values))
    if model.task == "binary":
        indices = (output.reshape(-1) >= 0.5).astype(np.int64)
    else:
        indices = np.argmax(output, axis=1)
    return pre.labels_for(indices)


def write_predictions(frames: Iterator[pd.DataFrame], output: str) -> int:
    """Write frames as one CSV to ``output`` (``-`` is stdout); return the number of rows.

    A file is written under a temporary name and renamed when complete, so an interrupted
    prediction never leaves a partial file under the output name.
    """
    if output == "-":
        return _write_csv(frames, sys.stdout)
    path = Path(output)
    if path.is_dir():
        raise UsageError(f"--output {output}: is a directory; give a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"--output {output}: the folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise UsageError(
            f"--output {output}: cannot create a file in {folder}: {error.strerror or error}"
        ) from None
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "w", newline="") as handle:
            rows = _write_csv(frames, handle)
        try:
            os.replace(tmp, path)
        except OSError as error:
            raise UsageError(f"--output {output}: cannot write it: {error.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return rows


def _write_csv(frames: Iterator[pd.DataFrame], handle: IO[str]) -> int:
    rows = 0
    for frame in frames:
        frame.to_csv(handle, header=rows == 0, index=False, lineterminator="\n")
        rows += len(frame)
        handle.flush()
    return rows
