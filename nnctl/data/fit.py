"""Fitting the preprocessing on one training file's training split, and transforming all splits.

Both readers follow the same steps: read the training file, split its rows (seeded, stratified for
class labels), gather the rows in split order -- train, then validation, then test -- into one
array, fit the preprocessing on the leading training rows and transform the whole array in place.
Each split is then a view of that one array, so the features exist once in memory.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nnctl.data.encoding import (
    Category,
    TargetMap,
    describe_rows,
    is_missing,
    label_keys,
    regression_values,
)
from nnctl.data.files import NotOneMember, inflate_in_pieces, is_gzip, release_freed_memory
from nnctl.data.formats.csv import plan_columns, read_table
from nnctl.data.formats.idx import (
    check_counts,
    check_image_type,
    claim_problem,
    parse_header,
    read_idx,
    read_labels,
)
from nnctl.data.numeric import NumericTransform, chunk_rows, row_chunks
from nnctl.data.preprocess import (
    Preprocessor,
    byte_block,
    image_error,
    numeric_block,
    text_columns,
)
from nnctl.data.scaled import ScaledOutOfRange
from nnctl.data.split import SplitIndices, split_rows
from nnctl.errors import DataError, UsageError
from nnctl.training.metrics import target_scale_problem
from nnctl.training.split import Split as Split  # data.load takes it from here

if TYPE_CHECKING:
    from nnctl.config.loader import Config


@dataclass(frozen=True)
class Fitted:
    """The training file's splits (validation/test may be empty) and the fitted preprocessor."""

    preprocessor: Preprocessor
    train: Split
    validation: Split
    test: Split


def fractions(cfg: Config) -> tuple[float, float]:
    """The validation and test fractions of the training file (0 when a separate file is given)."""
    data = cfg.data
    validation = 0.0 if data.validation is not None else data.validation_split
    test = 0.0 if data.test is not None else data.test_split
    return validation, test


def split_targets(values: NDArray[Any], cfg: Config, source: str) -> SplitIndices:
    """Split the training file's rows by their target values (stratified for class labels)."""
    missing = is_missing(values)
    if missing.any():
        raise DataError(
            f"{source}: the target column '{cfg.data.target}' has {int(missing.sum())} missing "
            f"values ({describe_rows(np.flatnonzero(missing))})",
            hint="every training row needs a target value",
        )
    if cfg.task == "regression":
        # Checked on every row before the split, so that a message names rows of the file.
        regression_values(values, source, cfg.data.target)
    strata = None
    if cfg.task != "regression":
        strata = pd.factorize(label_keys(values))[0]
    validation, test = fractions(cfg)
    try:
        return split_rows(len(values), validation, test, cfg.seed, strata)
    except DataError as error:
        raise DataError(
            f"{source}: {error.message}",
            hint=error.hint or "use more rows, or lower data.validation_split and data.test_split",
        ) from None


def fit_target(
    values: NDArray[Any], cfg: Config, source: str, column: str | None = None
) -> TargetMap:
    """The target fitted on the training rows; a regression target whose squared units overflow
    float64 for the config's loss or metrics (`target_scale_problem`) is a `DataError`."""
    target = TargetMap.fit(values, cfg.task, source, column)
    problem = target_scale_problem([cfg.loss_name, *cfg.metrics], target.std)
    if cfg.task == "regression" and problem is not None:
        named = f"the target column '{column}'" if column else "the target"
        raise DataError(
            f"{source}: {named}: {problem}",
            hint="rescale the target (divide it by a power of ten), or use only mae",
        )
    return target


def _cut(X: NDArray[np.floating], y: NDArray[Any], splits: SplitIndices) -> tuple[Split, ...]:
    """Views of the train, validation and test rows of arrays gathered in split order."""
    a = len(splits.train)
    b = a + len(splits.validation)
    return Split(X[:a], y[:a]), Split(X[a:b], y[a:b]), Split(X[b:], y[b:])


def scaling_error(
    error: ScaledOutOfRange,
    source: str,
    names: list[str],
    order: NDArray[np.intp],
    cfg: Config,
    dtype: type[np.floating],
) -> DataError:
    """The `DataError` of a training file's row, of ``order``, that its scaling overflows."""
    where = describe_rows(order[[error.row]])
    column = f"column '{names[error.column]}'"
    return error.data_error(source, column, where, None, dtype, cfg.data.resolved_normalize())


def fit_csv(cfg: Config, dtype: type[np.floating]) -> Fitted:
    """Read and split the training CSV, fit the preprocessing, transform every split."""
    data = cfg.data
    path = data.train
    columns = plan_columns(path, data.delimiter, data.target, data.features, data.categorical)
    frame = read_table(path, columns, data.delimiter, dtype)
    targets = frame[str(columns.target)].to_numpy()
    splits = split_targets(targets, cfg, str(path))
    order, n_train = splits.order(), len(splits.train)
    raw = byte_block(frame, columns.numeric)
    if raw is None:
        block = numeric_block(frame, columns.numeric, dtype, str(path), data.missing, rows=order)
    text = text_columns(frame, columns.categorical)
    del frame  # the numbers are in `raw` or `block` now: free pandas' copy before the next one
    release_freed_memory()
    try:
        if raw is None:
            numeric = NumericTransform.fit_apply(
                block, n_train, data.resolved_normalize(), data.scale, data.missing
            )
        else:
            # Bytes: fit on them as read, then gather, convert and scale the rows in one pass.
            numeric = NumericTransform.fit_bytes(
                raw, splits.train, data.resolved_normalize(), data.scale, data.missing
            )
            block = numeric.apply_to_bytes(raw, order, dtype)
            del raw
    except ScaledOutOfRange as error:  # a row outside the training rows, or an extreme scale
        raise scaling_error(error, str(path), columns.numeric, order, cfg, dtype) from None
    impute = data.missing != "error"
    pre = Preprocessor(
        input="csv",
        numeric_columns=columns.numeric,
        numeric=numeric,
        categories=[Category.fit(c, text[c][splits.train], impute) for c in columns.categorical],
        target=fit_target(targets[splits.train], cfg, str(path), columns.target),
        target_column=columns.target,
        missing=data.missing,
        unseen_categories=data.unseen_categories,
        delimiter=data.delimiter,
    )
    X = pre.append_categories(block, text, str(path), rows=order)
    del block
    y = pre.target.encode(targets, str(path), dtype)[order]
    return Fitted(pre, *_cut(X, y, splits))


def images_in_order(
    images: NDArray[np.uint8], rows: NDArray[np.intp] | None, dtype: type[np.floating]
) -> NDArray[np.floating]:
    """``images[rows] / 255`` as one (n, pixels) array of ``dtype``, permuting the bytes first.

    A chunk of rows at a time is gathered and divided straight into the result: ``np.divide``
    with ``dtype=dtype`` converts each byte to ``dtype`` before dividing, so the values are those
    of ``images[rows].astype(dtype) / dtype(255)``, without the full-size intermediate arrays.
    (``np.take`` copies a source that is not row-major whole, hence the row-major view.)
    """
    flat = np.ascontiguousarray(images.reshape(images.shape[0], -1))
    n = flat.shape[0] if rows is None else len(rows)
    out = np.empty((n, flat.shape[1]), dtype=dtype)
    for chunk in row_chunks(n, chunk_rows(flat.shape[1], out.itemsize)):
        part = flat[chunk] if rows is None else np.take(flat, rows[chunk], axis=0)
        np.divide(part, dtype(255), out=out[chunk], dtype=dtype)
    return out


def read_idx_pair(images_path: Path, labels_path: Path | None, role: str) -> tuple[Any, Any]:
    """Raw images (uint8, (n, rows, cols)) and labels (int64, (n,)) of one split's files."""
    if labels_path is None and role == "evaluation":
        raise UsageError(
            f"--data {images_path}: an IDX images file needs its labels file: "
            "give it with --labels PATH"
        )
    if labels_path is None:
        raise DataError(
            f"{images_path}: an IDX images file needs its labels file; "
            f"data.{role}_labels is not set"
        )
    images = read_idx(images_path, ndim=3, what="images file")
    check_image_type(images_path, images)
    labels = read_labels(labels_path)
    check_counts(images_path, len(images), labels_path, len(labels))
    return images, labels


def fit_idx(cfg: Config, dtype: type[np.floating]) -> Fitted:
    """Read and split the training IDX pair, fit the preprocessing, transform every split."""
    data = cfg.data
    streamed = _images_while_inflating(cfg, dtype)
    if streamed is not None:
        X, labels, splits, image_shape = streamed
    else:
        raw, labels = read_idx_pair(data.train, data.train_labels, "train")
        splits = split_targets(labels, cfg, str(data.train_labels))
        image_shape = tuple(int(s) for s in raw.shape[1:])
        X = images_in_order(raw, splits.order(), dtype)
        del raw
    order, n_train = splits.order(), len(splits.train)
    try:
        numeric = NumericTransform.fit_apply(
            X, n_train, data.resolved_normalize(), data.scale, "error"
        )
    except ScaledOutOfRange as error:  # only an extreme data.scale does this to pixels
        normalize = data.resolved_normalize()
        raise image_error(error, str(data.train), order, dtype, normalize) from None
    pre = Preprocessor(
        input="idx",
        numeric_columns=[],
        numeric=numeric,
        categories=[],
        target=fit_target(labels[splits.train], cfg, str(data.train_labels)),
        missing="error",
        image_shape=image_shape,
    )
    y = pre.target.encode(labels, str(data.train_labels), dtype)[order]
    return Fitted(pre, *_cut(X, y, splits))


Streamed = tuple[NDArray[np.floating], NDArray[np.int64], SplitIndices, tuple[int, ...]]


def _images_while_inflating(cfg: Config, dtype: type[np.floating]) -> Streamed | None:
    """`fit_idx`'s images in split order, labels, splits and image shape, or None.

    For the usual gzip images file (one member of unsigned-byte images): a helper thread inflates
    it (`inflate_in_pieces`) while this thread reads the labels, splits the rows and converts each
    inflated piece of rows into its place in the result, so most of the conversion overlaps the
    inflation. Each value is computed as `images_in_order` computes it. Anything unusual or wrong
    -- another layout, a damaged file, labels that do not fit -- gives None, and the caller reads
    the files one after the other as usual, which names the first problem as it always has.
    """
    data = cfg.data
    path, labels_path = data.train, data.train_labels
    try:
        if labels_path is None or not path.is_file() or not labels_path.is_file():
            return None
        if not is_gzip(path):
            return None  # nothing to inflate: the usual read is as fast, and reads it once
        raw = path.read_bytes()
    except OSError:
        return None
    pieces = inflate_in_pieces(raw)
    try:
        return _convert_pieces(pieces, cfg, path, labels_path, dtype)
    except (DataError, NotOneMember, ValueError, EOFError, OSError):
        return None
    finally:
        pieces.close()


def _convert_pieces(
    pieces: Generator[bytes, None, None],
    cfg: Config,
    path: Path,
    labels_path: Path,
    dtype: type[np.floating],
) -> Streamed | None:
    head = b""
    for piece in pieces:
        head += piece
        if len(head) >= 16:
            break
    value_type, shape, offset = parse_header(head, path)
    if value_type != np.uint8 or len(shape) != 3 or offset != 16 or 0 in shape:
        return None
    if claim_problem(path, math.prod(shape), offset, shape, True, path.stat().st_size):
        return None  # the usual read names the problem, before taking memory
    labels = read_labels(labels_path)
    if len(labels) != shape[0]:
        return None
    splits = split_targets(labels, cfg, str(labels_path))
    order = splits.order()
    n, pixels = shape[0], shape[1] * shape[2]
    place = np.full(n, -1, dtype=np.intp)  # where each image goes in the result
    place[order] = np.arange(len(order))
    everything = len(order) == n
    flat = np.empty(n * pixels, dtype=np.uint8)
    out = np.empty((len(order), pixels), dtype=dtype)
    size = chunk_rows(pixels, out.itemsize)
    filled = done = 0  # bytes of pixels received, rows converted

    def take(piece: bytes | memoryview) -> None:
        nonlocal filled, done
        if len(piece) > len(flat) - filled:
            raise ValueError("more data than the header promises")
        flat[filled : filled + len(piece)] = np.frombuffer(piece, dtype=np.uint8)
        filled += len(piece)
        ready = filled // pixels
        for rows in row_chunks(ready - done, size):
            first, last = done + rows.start, done + rows.stop
            part = flat[first * pixels : last * pixels].reshape(-1, pixels)
            to = place[first:last]
            if not everything:
                keep = to >= 0
                part, to = part[keep], to[keep]
            out[to] = np.divide(part, dtype(255), dtype=dtype)
        done = ready

    take(memoryview(head)[offset:])
    del head
    for piece in pieces:
        take(piece)
    if filled != len(flat):
        return None
    return out, labels, splits, tuple(int(s) for s in shape[1:])
