"""The fitted preprocessing that training, evaluation and prediction share.

A `Preprocessor` is fitted once, on the training split (see `nnctl.data.fit`), stored in the model
bundle with `to_bundle` (JSON metadata and named arrays, no pickle) and rebuilt with `from_bundle`,
so ``nnctl predict`` prepares features exactly as training did. A feature vector is the numeric
columns in their order, imputed and scaled, followed by each text column's one-hot block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nnctl.data.encoding import Category, TargetMap, describe_rows
from nnctl.data.formats.csv import as_dtype, check_finite, numeric_values, require_columns
from nnctl.data.numeric import Missing, NumericTransform
from nnctl.data.scaled import ScaledOutOfRange
from nnctl.errors import CheckpointError, DataError

BUNDLE_FORMAT = "nnctl.preprocessor"
BUNDLE_VERSION = 1
ARRAY_NAMES = ("fill", "shift", "divide")


def scale_block(
    numeric: NumericTransform,
    block: NDArray[np.floating],
    frame: pd.DataFrame,
    names: Sequence[str],
    source: str,
    offset: int = 0,
) -> None:
    """``numeric.apply(block)``, the block of ``frame``'s columns ``names``; a value it scales out
    of range is a `DataError` naming it, and its row counted from 1 after the header + offset."""
    try:
        numeric.apply(block)
    except ScaledOutOfRange as error:
        name = names[error.column]
        value = frame[name].iloc[error.row]
        where = describe_rows(np.array([error.row]), offset)
        column = f"column '{name}'"
        raise error.data_error(source, column, where, value, block.dtype.type) from None


def image_error(
    error: ScaledOutOfRange,
    source: str,
    rows: NDArray[np.intp] | None,
    dtype: type[np.floating],
    normalize: str | None = None,
) -> DataError:
    """The `DataError` of a pixel its scaling overflows; ``rows`` are the images' places in
    ``source`` (None: all of it, in order)."""
    image = (error.row if rows is None else int(rows[error.row])) + 1
    return error.data_error(
        source, f"pixel {error.column}", f"image {image}", None, dtype, normalize
    )


def numeric_block(
    frame: pd.DataFrame,
    columns: Sequence[str],
    dtype: type[np.floating],
    source: str,
    missing: Missing,
    rows: NDArray[np.intp] | None = None,
    offset: int = 0,
) -> NDArray[np.floating]:
    """The numeric columns as one (n, k) array, rows taken in the order ``rows`` (default all).

    The array is column-major (a transposed view of a (k, n) array: filling it column by column
    writes contiguous memory). Text in a numeric column, a number beyond the range of ``dtype``
    and (when ``missing`` is ``error``) a NaN or infinite value are `DataError`\\ s naming the
    column and the row as counted in ``frame``, plus ``offset``.
    """
    n = len(frame) if rows is None else len(rows)
    by_column = np.empty((len(columns), n), dtype=dtype)
    for j, name in enumerate(columns):
        values = numeric_values(frame[name], source, name, offset)
        values = as_dtype(values, dtype, source, name, offset)
        if missing == "error":
            check_finite(values, source, name, offset)
        if rows is None:
            by_column[j] = values
        else:
            # rows are in range; mode='raise' would copy through a buffer
            np.take(values, rows, out=by_column[j], mode="clip")
    return by_column.T


def byte_block(frame: pd.DataFrame, columns: Sequence[str]) -> NDArray[np.uint8] | None:
    """The numeric columns as one (n, k) array of bytes, if pandas read every one of them as bytes.

    `data.formats.csv.read_table` reads the columns whose sampled values are bytes as uint8 (and
    every numeric column as floats when a later value is not a byte), so a file of pixels comes
    back as one uint8 block that pandas hands over in one piece (column-major, as pandas stores
    columns). Bytes are whole numbers, never NaN or infinite: they need none of `numeric_block`'s
    per-column checks. ``None`` when a column is not uint8; `numeric_block` handles every case.
    """
    if not columns or any(dtype != np.uint8 for dtype in frame.dtypes[list(columns)]):
        return None
    return frame[list(columns)].to_numpy()


def text_columns(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, NDArray[Any]]:
    """Text columns as object arrays, by name."""
    return {name: frame[name].to_numpy(dtype=object) for name in columns}


@dataclass(frozen=True)
class Preprocessor:
    """Fitted feature and target preparation; see the module docstring."""

    input: Literal["csv", "idx"]
    numeric_columns: list[str]
    numeric: NumericTransform
    categories: list[Category]
    target: TargetMap
    target_column: str | None = None
    missing: Missing = "error"
    unseen_categories: Literal["error", "ignore"] = "error"
    delimiter: str = ","
    image_shape: tuple[int, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # --- shape -------------------------------------------------------------------------------

    @property
    def feature_columns(self) -> list[str]:
        """The input columns a CSV must have, numeric first, then text."""
        return [*self.numeric_columns, *(c.column for c in self.categories)]

    @property
    def feature_names(self) -> list[str]:
        """One name per network input: the numeric column, or ``column=category``."""
        if self.input == "idx":
            return [f"pixel{i}" for i in range(len(self.numeric.shift))]
        onehot = [f"{c.column}={v}" for c in self.categories for v in c.vocabulary]
        return [*self.numeric_columns, *onehot]

    @property
    def n_features(self) -> int:
        return len(self.numeric.shift) + sum(len(c.vocabulary) for c in self.categories)

    @property
    def n_outputs(self) -> int:
        """Output units: the number of classes (classification), else 1."""
        return len(self.target.classes) if self.target.task == "classification" else 1

    @property
    def class_names(self) -> list[str] | None:
        """The original labels as text in class-index order; ``None`` for regression."""
        return self.target.class_names

    @property
    def task(self) -> str:
        return self.target.task

    # --- transforms --------------------------------------------------------------------------

    def transform_features(
        self,
        frame: pd.DataFrame,
        dtype: type[np.floating],
        source: str = "<data>",
        offset: int = 0,
    ) -> NDArray[np.floating]:
        """Feature matrix (n, n_features) of a CSV's rows, in ``dtype`` (the model's float type).

        Extra columns and the target are ignored.

        A missing feature column, text in a numeric column, a missing value (``data.missing:
        error``) and an unseen category (``data.unseen_categories: error``) are `DataError`\\ s
        naming ``source`` and the row (counted from 1 after the header, plus ``offset``).
        """
        require_columns(source, [str(c) for c in frame.columns], self.feature_columns, "feature")
        block = numeric_block(
            frame, self.numeric_columns, dtype, source, self.missing, offset=offset
        )
        scale_block(self.numeric, block, frame, self.numeric_columns, source, offset)
        text = text_columns(frame, [c.column for c in self.categories])
        return self.append_categories(block, text, source, offset)

    def append_categories(
        self,
        block: NDArray[np.floating],
        text: Mapping[str, NDArray[Any]],
        source: str,
        offset: int = 0,
        rows: NDArray[np.intp] | None = None,
    ) -> NDArray[np.floating]:
        """A C-ordered copy of ``block`` followed by the one-hot columns of the text columns.

        ``text`` maps each text column to its values in file order; ``rows`` picks and orders
        the rows (as ``block``'s rows were), so that messages give rows as counted in the file.
        """
        if not self.categories:
            return np.ascontiguousarray(block)
        parts: list[NDArray[np.floating]] = [block]
        for category in self.categories:
            values = text[category.column]
            onehot = category.transform(values, source, self.unseen_categories, offset)
            parts.append(onehot if rows is None else onehot[rows])
        return np.concatenate(parts, axis=1, dtype=block.dtype)

    def transform_images(
        self,
        images: NDArray[np.floating],
        source: str = "<images>",
        rows: NDArray[np.intp] | None = None,
    ) -> NDArray[np.floating]:
        """IDX images (n, pixels) in [0, 1], normalized like the training images (in place).

        ``rows`` are the images' places in ``source``, when they are not all of it in order.
        """
        try:
            return self.numeric.apply(images)
        except ScaledOutOfRange as error:
            raise image_error(error, source, rows, images.dtype.type) from None

    def transform_target(
        self,
        values: pd.Series[Any] | NDArray[Any],
        dtype: type[np.floating],
        source: str = "<data>",
    ) -> NDArray[Any]:
        """Targets as the network's ``y``: class indices, a 0/1 column, or standardized values.

        The 0/1 column and the standardized values are in ``dtype``, the model's float type.
        """
        return self.target.encode(np.asarray(values, dtype=object), source, dtype)

    def inverse_target(self, y_pred: NDArray[np.floating]) -> NDArray[np.floating]:
        """Regression predictions back in the target's units; other tasks unchanged."""
        return self.target.inverse(y_pred)

    def labels_for(self, indices: Sequence[int] | NDArray[np.integer]) -> NDArray[Any]:
        """The original labels (as read: strings or integers) of class indices."""
        return self.target.labels_for(indices)

    # --- the model bundle --------------------------------------------------------------------

    def to_bundle(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        """JSON-able metadata and named float64 arrays (``data.fill``, ``data.shift``, ...)."""
        meta = {
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_VERSION,
            "input": self.input,
            "numeric_columns": self.numeric_columns,
            "categories": [
                {"column": c.column, "vocabulary": c.vocabulary, "fill": c.fill}
                for c in self.categories
            ],
            "target": {
                "column": self.target_column,
                "task": self.target.task,
                "classes": self.target.classes,
                "mean": self.target.mean,
                "std": self.target.std,
            },
            "missing": self.missing,
            "unseen_categories": self.unseen_categories,
            "delimiter": self.delimiter,
            "image_shape": list(self.image_shape) if self.image_shape else None,
            "extra": self.extra,
        }
        arrays = {f"data.{name}": getattr(self.numeric, name) for name in ARRAY_NAMES}
        return meta, arrays

    @classmethod
    def from_bundle(cls, meta: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> Preprocessor:
        """Rebuild the preprocessor that `to_bundle` described."""
        if meta.get("format") != BUNDLE_FORMAT or meta.get("version") != BUNDLE_VERSION:
            raise CheckpointError(
                f"unknown preprocessor format {meta.get('format')!r} "
                f"version {meta.get('version')!r}; expected {BUNDLE_FORMAT} {BUNDLE_VERSION}"
            )
        try:
            numeric = NumericTransform(
                **{n: np.asarray(arrays[f"data.{n}"], dtype=np.float64) for n in ARRAY_NAMES}
            )
            target = meta["target"]
            shape = meta["image_shape"]
            return cls(
                input=meta["input"],
                numeric_columns=list(meta["numeric_columns"]),
                numeric=numeric,
                categories=[Category(**c) for c in meta["categories"]],
                target=TargetMap(
                    task=target["task"],
                    classes=list(target["classes"]),
                    mean=float(target["mean"]),
                    std=float(target["std"]),
                    column=target["column"],
                ),
                target_column=target["column"],
                missing=meta["missing"],
                unseen_categories=meta["unseen_categories"],
                delimiter=meta["delimiter"],
                image_shape=tuple(shape) if shape else None,
                extra=dict(meta.get("extra", {})),
            )
        except (KeyError, TypeError) as error:
            raise CheckpointError(f"incomplete preprocessor in the model bundle: {error}") from None
