"""What ``nnctl validate`` learns of a config's data, checked as training checks it, cheaply.

`inspect` runs the checks that training runs on the data and that need only a small part of it,
through the same functions, so that it fails where ``nnctl train`` would fail, with the same
message and exit code. A CSV file: the header (the target, feature and categorical columns, an
identifier column), the first rows (which columns are numbers), and the target and text columns
(targets missing, text in a regression target, the split, the classes, a category or label that
only the held-out rows have), and the numeric columns' values (`numeric_block`'s checks, in the
model's dtype: text, missing values, numbers beyond the dtype); a validation or test file: its
header and the same columns. An IDX pair: the images file's header (dimensions, type, image
size, the size it claims against the file's, as `nnctl.data.formats.idx.read_idx` checks it) and the
labels; only trailing bytes in a gzip images file are found by training alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nnctl.data.encoding import Category, TargetMap
from nnctl.data.fit import fit_target, scaling_error, split_targets
from nnctl.data.formats.csv import (
    CsvColumns,
    plan_columns,
    read_header,
    read_table,
    require_columns,
)
from nnctl.data.formats.idx import (
    check_counts,
    check_dims,
    check_image_shape,
    check_image_type,
    claim_problem,
    extra_bytes,
    parse_header,
    read_labels,
)
from nnctl.data.inputs import open_input
from nnctl.data.numeric import NumericTransform, float_type
from nnctl.data.preprocess import numeric_block, scale_block
from nnctl.data.scaled import ScaledOutOfRange
from nnctl.data.split import SplitIndices
from nnctl.errors import DataError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from nnctl.config.loader import Config


@dataclass(frozen=True)
class DataFacts:
    """The input width of a config's data and its classes (``None`` for regression).

    Unpacks as ``n_inputs, n_classes = inspect(cfg)`` and compares equal to that pair.
    """

    n_inputs: int
    classes: list[str] | None
    n_train: int | None = None
    """The training split's rows (a batch holds at most that many)."""

    @property
    def n_classes(self) -> int | None:
        """How many classes the training data has (2 for binary); ``None`` for regression."""
        return None if self.classes is None else len(self.classes)

    def __iter__(self) -> Iterator[int | None]:
        return iter((self.n_inputs, self.n_classes))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, tuple):
            return (self.n_inputs, self.n_classes) == other
        if isinstance(other, DataFacts):
            return (self.n_inputs, self.classes) == (other.n_inputs, other.classes)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.n_inputs, self.n_classes))


def inspect(cfg: Config) -> DataFacts:
    """The input width and classes of a config's data, after training's checks that are cheap.

    Raises
    ------
    DataError
        A data file is missing or unreadable, or does not fit the config (exit 3), with the
        message training would give.
    ConfigError
        A CSV feature column is an identifier (`nnctl.data.formats.csv.plan_columns`) (exit 2).
    """
    if cfg.data.resolved_format() == "idx":
        return _inspect_idx(cfg)
    return _inspect_csv(cfg)


def _inspect_csv(cfg: Config) -> DataFacts:
    """`nnctl.data.fit.fit_csv`'s checks, on the header, the first rows and the text columns."""
    data = cfg.data
    columns = plan_columns(data.train, data.delimiter, data.target, data.features, data.categorical)
    dtype = float_type(cfg.training.dtype)
    frame = read_table(data.train, columns, data.delimiter, dtype)
    targets = frame[str(columns.target)].to_numpy()
    source = str(data.train)
    splits = split_targets(targets, cfg, source)
    train = splits.train
    _check_numbers(frame, columns, cfg, source)
    numeric = _check_scaling(frame, columns, cfg, source, splits)
    impute = data.missing != "error"
    text = {name: frame[name].to_numpy(dtype=object) for name in columns.categorical}
    categories = [Category.fit(name, values[train], impute) for name, values in text.items()]
    target = fit_target(targets[train], cfg, source, columns.target)
    for category in categories:  # every row: the held-out ones may have unseen categories
        category.codes(text[category.column], source, data.unseen_categories)
    target.encode(targets, source, dtype)
    for role in ("validation", "test"):
        path: Path | None = getattr(data, role)
        if path is not None:
            _check_csv_file(path, columns, categories, target, cfg, numeric)
    width = len(columns.numeric) + sum(len(c.vocabulary) for c in categories)
    return DataFacts(width, target.class_names, len(train))


def _check_numbers(frame: pd.DataFrame, columns: CsvColumns, cfg: Config, source: str) -> None:
    """Training's checks of the numeric columns' values (`numeric_block`), a column at a time:
    text that is not a number, and (unless ``data.missing`` fills them) missing values."""
    dtype = float_type(cfg.training.dtype)
    for name in columns.numeric:
        numeric_block(frame, [name], dtype, source, cfg.data.missing)


def _check_scaling(
    frame: pd.DataFrame, columns: CsvColumns, cfg: Config, source: str, splits: SplitIndices
) -> NumericTransform:
    """`nnctl.data.fit.fit_csv`'s scaling, fitted on the training rows: a held-out row that it
    takes out of the float type's range is the error training gives."""
    dtype, order = float_type(cfg.training.dtype), splits.order()
    block = numeric_block(frame, columns.numeric, dtype, source, cfg.data.missing, rows=order)
    normalize, missing = cfg.data.resolved_normalize(), cfg.data.missing
    try:
        return NumericTransform.fit_apply(
            block, len(splits.train), normalize, cfg.data.scale, missing
        )
    except ScaledOutOfRange as error:
        raise scaling_error(error, source, columns.numeric, order, cfg, dtype) from None


def _check_csv_file(
    path: Path,
    columns: CsvColumns,
    categories: list[Category],
    target: TargetMap,
    cfg: Config,
    numeric: NumericTransform,
) -> None:
    """`nnctl.data.load.read_split`'s checks of a validation or test CSV."""
    delimiter = cfg.data.delimiter
    wanted = [*columns.features, str(columns.target)]
    require_columns(path, read_header(path, delimiter), wanted, "needed")
    dtype = float_type(cfg.training.dtype)
    frame = read_table(path, columns, delimiter, dtype)
    _check_numbers(frame, columns, cfg, str(path))
    block = numeric_block(frame, columns.numeric, dtype, str(path), cfg.data.missing)
    scale_block(numeric, block, frame, columns.numeric, str(path))
    for category in categories:
        values = frame[category.column].to_numpy(dtype=object)
        category.codes(values, str(path), cfg.data.unseen_categories)
    target.encode(
        frame[str(columns.target)].to_numpy(dtype=object), str(path), float_type(cfg.training.dtype)
    )


def _inspect_idx(cfg: Config) -> DataFacts:
    """`nnctl.data.fit.fit_idx`'s checks, on the images files' headers and the labels."""
    data = cfg.data
    shape, labels = _idx_pair(data.train, data.train_labels, "train")
    _check_pixel_scale(cfg)
    source = str(data.train_labels)
    train = split_targets(labels, cfg, source).train
    target = fit_target(labels[train], cfg, source)
    target.encode(labels, source, float_type(cfg.training.dtype))
    for role in ("validation", "test"):
        path: Path | None = getattr(data, role)
        if path is None:
            continue
        labels_path = getattr(data, f"{role}_labels")
        images, values = _idx_pair(path, labels_path, role)
        check_image_shape(path, np.empty((0, *images[1:]), dtype=np.uint8), shape[1:])
        target.encode(values, str(labels_path), float_type(cfg.training.dtype))
    return DataFacts(math.prod(shape[1:]), target.class_names, len(train))


def _check_pixel_scale(cfg: Config) -> None:
    """A `DataError` for a data.scale so small that pixels (read into [0, 1]) overflow the float
    type, which training finds on the first such pixel (`nnctl.data.fit.fit_idx`)."""
    dtype, scale = float_type(cfg.training.dtype), cfg.data.scale
    largest = float(np.finfo(dtype).max)
    if cfg.data.resolved_normalize() == "scale" and scale is not None and 1 / scale > largest:
        raise DataError(
            f"{cfg.data.train}: data.scale: {scale:g} takes a pixel of 1 to {1 / scale:.3g}, out "
            f"of the {np.dtype(dtype).name} range (largest magnitude {largest:.3g})",
            hint=f"data.scale is too small for {np.dtype(dtype).name}: give a larger divisor",
        )


def _idx_pair(images: Path, labels: Path | None, role: str) -> tuple[tuple[int, ...], NDArray[Any]]:
    """The images' shape and the labels, read and checked as `nnctl.data.fit.read_idx_pair`
    reads and checks them, but for the pixels: only the images file's header is read."""
    if labels is None:
        raise DataError(
            f"{images}: an IDX images file needs its labels file; data.{role}_labels is not set"
        )
    shape = _images_shape(images)
    values = read_labels(labels)
    check_counts(images, shape[0], labels, len(values))
    return shape, values


def _images_shape(path: Path) -> tuple[int, ...]:
    """The shape in an images file's header, checked as `nnctl.data.formats.idx.read_idx` and
    `nnctl.data.formats.idx.check_image_type` check it, without reading the pixels."""
    what = "images file"
    with open_input(path, what) as opened:
        head = opened.stream.read(4 + 4 * 255)
        gzip, stored = opened.gzip, opened.size
    value_type, shape, offset = parse_header(head, path)
    check_dims(path, shape, 3, what)
    check_image_type(path, np.empty(0, dtype=value_type))
    expected = math.prod(shape) * value_type.itemsize
    problem = claim_problem(path, expected, offset, shape, gzip, stored)
    if problem is not None:
        raise problem
    if stored is not None and not gzip and stored > offset + expected:
        raise extra_bytes(path, stored - offset - expected, offset + expected)
    return shape
