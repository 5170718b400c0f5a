"""Predictions of a trained model as CSV, chunk by chunk, in the original label names and units.

Rows are read, prepared with the model's stored preprocessing, predicted and written one chunk at a
time, so memory stays flat however long the input is, and output rows match input rows one to one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from nnctl.data import read_features_for_predict
from nnctl.data.encoding import describe_rows
from nnctl.errors import DataError, NnctlWarning, UsageError
from nnctl.store.bundle import locate_model, model_file
from nnctl.store.files import FILE_MODE
from nnctl.store.model import Model, load_model
from nnctl.store.runs import CHECKPOINTS, CONFIG_FILE, METRICS_FILE, RUN_FILE, SUMMARY_FILE
from nnctl.training.metrics import finite_rows, predicted_classes

CHUNK_ROWS = 50_000
RECORDS = (RUN_FILE, CONFIG_FILE, METRICS_FILE, SUMMARY_FILE)


def predict(
    model: Path,
    source: str,
    output: str,
    *,
    proba: bool = False,
    keep: Sequence[str] = (),
    runs_dir: Path | None = None,
    before_reading: Callable[[Model], None] | None = None,
) -> int:
    """``nnctl predict``: the predictions of ``model`` for ``source`` as CSV in ``output``.

    ``model`` is a MODEL argument (a run directory, a run's name, a checkpoint file);
    ``before_reading`` sees the loaded model before the first row is read (the command line says
    it reads a terminal). Returns the number of rows written.
    """
    located = locate_model(model, runs_dir)
    loaded = load_model(located)
    if before_reading is not None:
        before_reading(loaded)
    frames = prediction_frames(loaded, source, proba=proba, keep=keep)
    inputs: dict[str, str | Path] = {"input": source, "model file": model_file(located)}
    return write_predictions(frames, output, inputs=inputs)


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
    offset = 0
    for raw, X in read_features_for_predict(
        pre, source, chunk_rows, dtype=model.network.dtype.type
    ):
        output = model.network.predict(X.astype(model.network.dtype, copy=False))
        _warn_unfinished(source, lost_rows(model, output), offset, pre.input == "idx")
        offset += len(X)
        frame = pd.DataFrame(index=range(len(X)))
        for column in keep:
            if column not in raw.columns:
                raise DataError(
                    f"{_name(source)}: --keep column {column!r} is not in the input; "
                    f"columns found: {', '.join(map(str, raw.columns))}"
                )
            frame[column] = raw[column].to_numpy()
        yield output_frame(model, output, proba=proba, frame=frame)


def output_frame(
    model: Model, output: np.ndarray, *, proba: bool = False, frame: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Predict's columns for the network's ``output``: the prediction, then probabilities.

    The prediction column is named after the target (``label`` when it has no name) and holds
    the original labels, or values in the target's units; with ``proba`` (classification only)
    one ``proba_<class>`` column per class follows. The columns are added to ``frame`` when it
    is given (the kept columns), else to a new frame. ``nnctl serve`` answers with these same
    columns.
    """
    frame = pd.DataFrame(index=range(len(output))) if frame is None else frame
    frame[model.preprocessor.target_column or "label"] = _predicted(model, output)
    if proba and model.task != "regression":
        probabilities = _probabilities(model, output).T
        for name, column in zip(_class_names(model), probabilities, strict=True):
            frame[f"proba_{name}"] = column
    return frame


def lost_rows(model: Model, output: np.ndarray) -> np.ndarray:
    """The rows with no prediction: the network's output is not finite, or (regression) it is
    but overflows float64 in the target's units. As indices."""
    answered = finite_rows(output)
    if model.task == "regression":
        answered &= finite_rows(model.preprocessor.inverse_target(output))
    return np.flatnonzero(~answered)


def _warn_unfinished(source: str | Path, rows: np.ndarray, offset: int, images: bool) -> None:
    """Say which rows' outputs overflowed (their predictions are empty), once per chunk."""
    if len(rows):
        where = describe_rows(rows, offset)
        where = where.replace("row", "image", 1) if images else where
        warnings.warn(
            f"{_name(source)}: {where}: the network's output is not finite "
            "(its values are too large for the model's float type), so the prediction is empty",
            NnctlWarning,
            stacklevel=2,
        )


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
    """The predictions in the target's labels or units; a row whose output is not finite (the
    network overflowed) has none: NaN values, or no label (argmax would name the first class)."""
    pre, lost = model.preprocessor, lost_rows(model, output)
    if model.task == "regression":
        values = pre.inverse_target(output)
        values[lost] = np.nan  # infinity too: the output says nothing of the row
        return values[:, 0] if values.shape[1] == 1 else list(map(list, values))
    labels = pre.labels_for(predicted_classes(model.task, output))
    if len(lost):
        labels = labels.astype(object)
        labels[lost] = None
    return labels


def write_predictions(
    frames: Iterator[pd.DataFrame], output: str, *, inputs: Mapping[str, str | Path] | None = None
) -> int:
    """Write frames as one CSV to ``output`` (``-`` is stdout); return the number of rows.

    A file is written under a temporary name, flushed to disk and renamed when complete, so an
    interrupted or failed prediction (a full disk: exit 3) never leaves a partial file under the
    output name, nor any temporary file. A FIFO or device (``/dev/null``) is written directly,
    never replaced. Before anything is read, `check_output` refuses an output that would destroy
    something: one of ``inputs`` (``{"input": path, "model file": path}``), a checkpoint, a
    read-only file.
    """
    if output == "-":
        return _write_stream(frames, sys.stdout, "-")
    path = Path(output)
    try:
        if path.is_dir():
            raise UsageError(f"--output {output}: is a directory; give a file name")
        check_output(path, output, inputs or {})
        special = path.exists() and not path.is_file()
    except PermissionError:
        raise UsageError(
            f"--output {output}: permission denied: cannot look into its folder"
        ) from None
    if special:  # a FIFO or a device: written to, never replaced
        with _writing(output, atomic=False), path.open("w", newline="") as handle:
            return _write_stream(frames, handle, output)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"--output {output}: the folder {folder} does not exist")
    return _write_atomically(frames, path, output, folder)


def _write_atomically(frames: Iterator[pd.DataFrame], path: Path, output: str, folder: Path) -> int:
    """Write the CSV to a temporary file in ``folder``, flush it to disk, rename it to ``path``."""
    # The name is chosen before the file is created, so that a Ctrl-C at any moment (even inside
    # the call that creates it) still finds the file to remove.
    tmp = folder / f".{path.name}.{secrets.token_hex(8)}.tmp"
    try:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        except OSError as error:
            raise UsageError(
                f"--output {output}: cannot create a file in {folder}: {error.strerror or error}"
            ) from None
        with _writing(output):
            with os.fdopen(fd, "w", newline="") as handle:
                rows = _write_csv(frames, handle)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.replace(tmp, path)
            except OSError as error:
                raise UsageError(f"--output {output}: cannot write it: {error.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return rows


@contextlib.contextmanager
def _writing(output: str, atomic: bool = True) -> Iterator[None]:
    """Turn a failed write (a full disk, an I/O error) into a `DataError` (exit 3)."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as error:
        intact = "nothing was written under that name; a previous file there is intact"
        raise DataError(
            f"--output {output}: cannot write: {error.strerror or error}",
            hint=intact if atomic else None,
        ) from None


def check_output(path: Path, output: str, inputs: Mapping[str, str | Path]) -> None:
    """Refuse (`UsageError`, exit 2) an ``--output`` that would destroy a file nnctl needs.

    The input data or the model file itself (the same file, by inode, also through stdin), any
    ``.npz`` file, anything in a run's ``checkpoints/`` folder or a run's records (``run.json``,
    ``config.yaml``, ``metrics.csv``, ``summary.json`` beside a ``run.json``), and an existing
    file that is read-only (its mode has no write bit, or the user may not write it).
    """
    for what, source in inputs.items():
        if _same_file(path, source):
            shown = "stdin" if str(source) == "-" else str(source)
            raise UsageError(
                f"--output {output}: is the {what} ({shown}); writing it would destroy it",
                hint="write the predictions to another file",
            )
    resolved = path.resolve()
    if resolved.suffix == ".npz" or resolved.parent.name == CHECKPOINTS:
        raise UsageError(
            f"--output {output}: is a checkpoint (a .npz file or a file in a run's "
            f"{CHECKPOINTS}/ folder); nnctl never writes predictions over a model",
            hint="write the predictions to a .csv file outside the run's checkpoints",
        )
    if resolved.name in RECORDS and (resolved.parent / RUN_FILE).is_file():
        raise UsageError(
            f"--output {output}: is a record of the run {resolved.parent}; "
            "writing it would destroy the run's record",
        )
    if path.is_file():
        mode = path.stat().st_mode
        if not mode & 0o222 or not os.access(path, os.W_OK):
            raise UsageError(
                f"--output {output}: permission denied: the file is read-only "
                f"(mode {stat.filemode(mode)}); nnctl does not replace it",
                hint="remove it, make it writable (chmod u+w), or write to another file",
            )


def _same_file(path: Path, source: str | Path) -> bool:
    try:
        if str(source) == "-":
            there = os.fstat(sys.stdin.fileno())
            here = path.stat()
            return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
        return os.path.samefile(path, source)
    except (OSError, ValueError, AttributeError):
        return False


def _write_stream(frames: Iterator[pd.DataFrame], handle: IO[str], name: str) -> int:
    with _writing(name, atomic=False):
        rows = _write_csv(frames, handle)
        handle.flush()
    return rows


def _write_csv(frames: Iterator[pd.DataFrame], handle: IO[str]) -> int:
    rows = 0
    for frame in frames:
        frame.to_csv(handle, header=rows == 0, index=False, lineterminator="\n")
        rows += len(frame)
        handle.flush()
    return rows
