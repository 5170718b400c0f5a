"""The data layer's entry points: training data, evaluation data, prediction input, inspection.

Training, evaluation and prediction all go through one fitted `Preprocessor`, so they see
features prepared in exactly the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nnctl.data.fit import (
    Fitted,
    Split,
    fit_csv,
    fit_idx,
    images_in_order,
    read_idx_pair,
    split_targets,
)
from nnctl.data.formats.csv import CsvColumns, read_chunks, read_table, source_name
from nnctl.data.formats.idx import check_image_shape, check_image_type, read_idx
from nnctl.data.numeric import float_type
from nnctl.data.preprocess import Preprocessor
from nnctl.errors import DataError, UsageError

if TYPE_CHECKING:
    from nnctl.config.loader import Config


@dataclass(frozen=True)
class Datasets:
    """Everything training needs: the splits, the fitted preprocessor and the files read."""

    train: Split
    validation: Split | None
    test: Split | None
    preprocessor: Preprocessor
    files: list[Path] = field(default_factory=list)


def _files(cfg: Config) -> list[Path]:
    data = cfg.data
    paths = [data.train, data.train_labels, data.validation, data.validation_labels]
    return [p for p in [*paths, data.test, data.test_labels] if p is not None]


def load_training_data(
    cfg: Config, rng: np.random.Generator | None = None, dtype: type[np.floating] | None = None
) -> Datasets:
    """Read, split and prepare the data of a config.

    Parameters
    ----------
    cfg
        The loaded config (absolute data paths).
    rng
        Not used: the split draws from its own stream of ``cfg.seed`` (see `nnctl.data.split`),
        so it does not depend on the caller's generator. Accepted for symmetry with other steps.
    dtype
        The float type of ``X`` (and of ``y`` for binary and regression tasks); default the
        model's, ``cfg.training.dtype``, so that the data is read in the precision and range
        the network trains in.

    Returns
    -------
    Datasets
        ``train``, ``validation`` and ``test`` splits (``None`` when empty), the preprocessor
        fitted on the training split, and every file read.
    """
    del rng
    if dtype is None:
        dtype = float_type(cfg.training.dtype)
    fitted = fit_csv(cfg, dtype) if cfg.data.resolved_format() == "csv" else fit_idx(cfg, dtype)
    pre = fitted.preprocessor
    validation = _split_or_file(fitted.validation, pre, cfg, "validation", dtype)
    test = _split_or_file(fitted.test, pre, cfg, "test", dtype)
    return Datasets(fitted.train, validation, test, pre, _files(cfg))


def _split_or_file(
    split: Split, pre: Preprocessor, cfg: Config, role: str, dtype: type[np.floating]
) -> Split | None:
    """The split from its own file when the config names one, else the fraction (or None)."""
    path: Path | None = getattr(cfg.data, role)
    if path is None:
        return split if len(split) else None
    return read_split(pre, path, getattr(cfg.data, f"{role}_labels"), role, dtype)


def read_split(
    pre: Preprocessor,
    data: Path,
    labels: Path | None,
    role: str,
    dtype: type[np.floating],
) -> Split:
    """Features and targets of a CSV with the target column, or of an IDX images+labels pair.

    ``dtype`` is the model's float type: the features are read and prepared in it.
    """
    if pre.input == "idx":
        raw, label_values = read_idx_pair(data, labels, role)
        check_image_shape(data, raw, pre.image_shape)
        X = pre.transform_images(images_in_order(raw, None, dtype), str(data))
        return Split(X, pre.target.encode(label_values, str(labels), dtype))
    columns = CsvColumns(
        numeric=pre.numeric_columns,
        categorical=[c.column for c in pre.categories],
        target=pre.target_column,
    )
    frame = read_table(data, columns, pre.delimiter, dtype)
    X = pre.transform_features(frame, dtype, str(data))
    targets = frame[str(pre.target_column)].to_numpy(dtype=object)
    return Split(X, pre.target.encode(targets, str(data), dtype))


def load_eval_data(
    pre: Preprocessor,
    data: Path | None = None,
    labels: Path | None = None,
    *,
    cfg: Config | None = None,
    dtype: type[np.floating],
) -> Split:
    """The data ``nnctl evaluate`` scores: ``--data`` (and ``--labels``), else the run's test split.

    Without ``data``, the config's ``data.test`` file is read if it names one, else the test
    fraction of the training file is split off again (the same rows: the split is seeded).
    ``dtype`` is the model's float type (its network's, not the config's: the model decides).
    """
    if data is not None:
        if labels is not None and pre.input == "csv":
            raise UsageError(
                f"--labels {labels}: only IDX data has a labels file; the model reads CSV "
                f"files, and the target column '{pre.target_column}' of --data {data}"
            )
        return read_split(pre, data, labels, "evaluation", dtype)
    if cfg is None:
        raise DataError("no evaluation data: give --data PATH")
    if cfg.data.test is not None:
        return read_split(pre, cfg.data.test, cfg.data.test_labels, "test", dtype)
    test = test_split(pre, cfg, dtype)
    if test is None:
        raise DataError(
            "the run has no test split (data.test_split is 0 and data.test is not set)",
            hint="give the data to evaluate on with --data PATH",
        )
    return test


def test_split(pre: Preprocessor, cfg: Config, dtype: type[np.floating]) -> Split | None:
    """The test fraction of a run's training file, prepared by the model's own preprocessor.

    The rows are those training held out (the split depends only on the seed and the targets);
    they are prepared with ``pre``, never with a preprocessor fitted again, so a training file
    that changed since (another column, other labels) gives an error naming the file, not a
    crash or silently renumbered classes. ``None`` when the config has no test fraction (and no
    ``data.test`` file: then that file's rows, `run_split`).
    """
    found = run_split(pre, cfg, "test", dtype)
    return None if found is None else found.split


ROLES = ("train", "validation", "test")


@dataclass(frozen=True)
class RunSplit:
    """One split of a run's data as its model sees it, and where its rows come from.

    ``raw`` (CSV only, else None) holds the rows as read, in the split's order, with the model's
    columns; ``rows`` their positions in ``source`` (None: every row of ``source``, in order).
    """

    split: Split
    source: Path
    raw: pd.DataFrame | None
    rows: NDArray[np.intp] | None


def run_split(
    pre: Preprocessor, cfg: Config, role: str, dtype: type[np.floating]
) -> RunSplit | None:
    """The run's ``role`` split (``train``, ``validation``, ``test``), as training made it.

    A ``data.validation`` or ``data.test`` file is read whole; otherwise the rows are the ones
    the seeded split of the training file gives ``role`` (`split_targets`), prepared with the
    model's preprocessor ``pre``. ``None`` when the split has no rows.
    """
    data = cfg.data
    own_file = role != "train" and getattr(data, role) is not None
    path: Path = getattr(data, role) if own_file else data.train
    labels: Path | None = getattr(data, f"{role}_labels") if own_file else data.train_labels
    if pre.input == "idx":
        images, values = read_idx_pair(path, labels, role)
        check_image_shape(path, images, pre.image_shape)
        rows = None if own_file else getattr(split_targets(values, cfg, str(labels)), role)
        if rows is not None and not len(rows):
            return None
        X = pre.transform_images(images_in_order(images, rows, dtype), str(path), rows)
        values = values if rows is None else values[rows]
        return RunSplit(Split(X, pre.target.encode(values, str(labels), dtype)), path, None, rows)
    columns = CsvColumns(
        numeric=pre.numeric_columns,
        categorical=[c.column for c in pre.categories],
        target=pre.target_column,
    )
    frame = read_table(path, columns, pre.delimiter, dtype)
    targets = frame[str(pre.target_column)].to_numpy(dtype=object)
    rows = None if own_file else getattr(split_targets(targets, cfg, str(path)), role)
    if rows is not None and not len(rows):
        return None
    X = pre.transform_features(frame, dtype, str(path))
    y = pre.target.encode(targets, str(path), dtype)
    if rows is not None:
        X, y, frame = X[rows], y[rows], frame.iloc[rows].reset_index(drop=True)
    return RunSplit(Split(X, y), path, frame, rows)


def read_features_for_predict(
    pre: Preprocessor,
    source: str | Path,
    chunk_rows: int = 65536,
    *,
    dtype: type[np.floating],
) -> Iterator[tuple[pd.DataFrame, NDArray[np.floating]]]:
    """Prediction input as ``(raw rows, X)`` chunks, so memory stays flat on any number of rows.

    A CSV (a path, or ``-`` for stdin) is read ``chunk_rows`` rows at a time, all columns kept in
    the raw chunk for passing through; the target column may be absent and extra columns are
    ignored. An IDX images file is one chunk, its raw frame has no columns. ``X`` is in
    ``dtype``, the model's float type.
    """
    if pre.input == "idx":
        path = Path(source)
        raw = read_idx(path, ndim=3, what="images file")
        check_image_type(path, raw)
        check_image_shape(path, raw, pre.image_shape)
        X = pre.transform_images(images_in_order(raw, None, dtype), str(path))  # type: ignore[arg-type]
        yield pd.DataFrame(index=pd.RangeIndex(len(X))), X
        return
    offset = 0
    text = [c.column for c in pre.categories]
    for chunk in read_chunks(source, pre.delimiter, chunk_rows, text):
        X = pre.transform_features(chunk, dtype, source_name(source), offset)
        yield chunk, X
        offset += len(chunk)


__all__ = [
    "Datasets",
    "Fitted",
    "RunSplit",
    "Split",
    "load_eval_data",
    "load_training_data",
    "read_features_for_predict",
    "read_split",
    "run_split",
    "test_split",
]
