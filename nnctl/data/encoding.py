"""Text features and targets: one-hot vocabularies and the label map.

Categories and labels are compared by their text, so ``3``, ``3.0`` and ``"3"`` are the same label:
a label column read as integers in one file and as text in another still matches. The label map
keeps the original values (strings, integers or floats, as they were read) for predictions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nnctl.errors import DataError

Label = str | int | float | bool
Task = Literal["classification", "binary", "regression"]

#: A column is an identifier when at least this share of its values are distinct ...
ID_DISTINCT_SHARE = 0.95
#: ... among at least this many values (fewer rows say too little).
ID_MIN_ROWS = 20


def label_key(value: Any) -> str:
    """The text a category or label is compared by: ``3``, ``3.0`` and ``"3"`` give ``"3"``."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def label_keys(values: NDArray[Any]) -> NDArray[Any]:
    """`label_key` of every entry; vectorized for integer, boolean and whole-number arrays."""
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        # Labels repeat: format each distinct number once (the same strings, in the same dtype).
        distinct, where = np.unique(array.ravel(), return_inverse=True)
        return distinct.astype(str)[where].reshape(array.shape)
    if array.dtype.kind == "b":
        return np.where(array, "True", "False")
    if array.dtype.kind == "f" and np.all(np.isfinite(array) & (array == np.round(array))):
        return array.astype(np.int64).astype(str)
    return np.array([label_key(v) for v in array.ravel()], dtype=object)


def python_value(value: Any) -> Label:
    """A NumPy scalar as the plain Python value JSON can hold."""
    if isinstance(value, np.generic):
        return value.item()  # type: ignore[no-any-return]
    return value  # type: ignore[no-any-return]


def is_missing(values: NDArray[Any]) -> NDArray[np.bool_]:
    """Missing entries of a column of any dtype: None, NaN, NaT, pandas' NA."""
    return np.asarray(pd.isna(values), dtype=bool)


def describe_rows(rows: NDArray[np.intp], offset: int = 0, limit: int = 5) -> str:
    """``"rows 3, 7 and 2 more"``: 1-based data rows (the header is not counted)."""
    shown = ", ".join(str(int(r) + offset + 1) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def looks_like_identifier(values: NDArray[Any], name: str = "") -> bool:
    """Whether a column has a different value in (nearly) every row: an id, a name, a timestamp.

    A model learns nothing from such a column that holds for new rows: one-hot encoded, each
    value is a column of its own, seen in one training row, and every new row's value is unseen.
    Missing values are left out. Text (or any non-numeric values): at least `ID_DISTINCT_SHARE`
    of at least `ID_MIN_ROWS` values are distinct. Integers (at least `ID_MIN_ROWS`): each
    greater than the one before (a row number), or all distinct in a column whose ``name`` ends
    in a word such as ``id`` or ``key`` (``customer_id``, ``PassengerId``: shuffled ids);
    integers that are merely distinct may be a measurement, such as a price. Floats and booleans
    are never identifiers.
    """
    array = np.asarray(values)
    if array.dtype.kind in "fcb":
        return False
    if array.dtype.kind in "iu":
        if len(array) < ID_MIN_ROWS:
            return False
        increasing = bool(np.all(np.diff(array) > 0))
        return increasing or (_id_name(name) and len(np.unique(array)) == len(array))
    present = array[~is_missing(array)]
    if len(present) < ID_MIN_ROWS:
        return False
    return mostly_distinct(pd.Series(label_keys(present), dtype=object).nunique(), len(present))


#: The last word of a column name that says the column is an identifier.
_ID_WORDS = frozenset({"id", "ids", "uuid", "guid", "key", "index", "idx"})


def _id_name(name: str) -> bool:
    """Whether a column name ends in an identifier's word: ``id``, ``user_id``, ``PassengerId``."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)
    return bool(words) and words[-1].casefold() in _ID_WORDS


def mostly_distinct(n_distinct: int, n_values: int) -> bool:
    """Whether ``n_distinct`` distinct values among ``n_values`` make an identifier's column."""
    return n_values >= ID_MIN_ROWS and n_distinct >= ID_DISTINCT_SHARE * n_values


@dataclass(frozen=True)
class Category:
    """One text column's fitted one-hot encoding."""

    column: str
    vocabulary: list[str]
    fill: str | None  # replaces a missing value; None: a missing value is an error
    # A different value in (nearly) every training row (`looks_like_identifier`): an unseen
    # value is then no surprise, and encoding it as all zeros would not help. Known only where
    # the category was fitted (a model bundle does not record it).
    identifier: bool = field(default=False, compare=False)

    @classmethod
    def fit(cls, column: str, values: NDArray[Any], impute: bool) -> Category:
        """The sorted vocabulary of the training values, and their most frequent one."""
        keys = pd.Series(label_keys(values[~is_missing(values)]), dtype=object)
        vocabulary = sorted(keys.unique().tolist())
        fill = str(keys.value_counts().idxmax()) if impute and len(keys) else None
        identifier = mostly_distinct(len(vocabulary), len(keys))
        return cls(column=column, vocabulary=vocabulary, fill=fill, identifier=identifier)

    def transform(
        self, values: NDArray[Any], source: str, unseen: Literal["error", "ignore"], offset: int = 0
    ) -> NDArray[np.float64]:
        """One-hot rows, shape (n, len(vocabulary)); unseen categories per ``unseen``."""
        codes = self.codes(values, source, unseen, offset)
        out = np.zeros((len(codes), len(self.vocabulary)))
        known = np.flatnonzero(codes >= 0)
        out[known, codes[known]] = 1.0
        return out

    def codes(
        self, values: NDArray[Any], source: str, unseen: Literal["error", "ignore"], offset: int = 0
    ) -> NDArray[np.intp]:
        """Each value's position in the vocabulary (-1: unseen, ignored), checked as `transform`
        checks it: a missing value without a fill, or an unseen one, is a `DataError`."""
        missing = is_missing(values)
        if missing.any() and self.fill is None:
            raise DataError(
                f"{source}: column '{self.column}' has {int(missing.sum())} missing values "
                f"({describe_rows(np.flatnonzero(missing), offset)})",
                hint="fill them in, or set data.missing to most_frequent",
            )
        if missing.any():
            values = np.where(missing, np.array(self.fill, dtype=object), values)
        keys = label_keys(values)
        codes = pd.Index(self.vocabulary).get_indexer(pd.Index(keys))
        unknown = np.flatnonzero(codes < 0)
        if len(unknown) and unseen == "error":
            raise DataError(
                f"{source}: column '{self.column}', {describe_rows(unknown, offset, 1)}: "
                f"category '{keys[unknown[0]]}' was not in the training data "
                f"(known: {', '.join(self.vocabulary[:20])})",
                hint=self._unseen_hint(),
            )
        return np.asarray(codes, dtype=np.intp)

    def _unseen_hint(self) -> str:
        """What to do about an unseen category: ignore it, unless the column is an identifier."""
        if self.identifier:
            return (
                f"column '{self.column}' has a different value in every training row (an "
                "identifier?), so new rows have unseen values and a model learns nothing from "
                "it: leave it out of data.features (and data.categorical)"
            )
        return "set data.unseen_categories: ignore to encode unseen categories as all zeros"


@dataclass(frozen=True)
class TargetMap:
    """The fitted target: a label map (classification, binary) or mean and std (regression)."""

    task: Task
    classes: list[Label]  # original labels in class-index order; [] for regression
    mean: float = 0.0
    std: float = 1.0
    column: str | None = field(default=None, compare=False)
    """The CSV column the targets come from, named in messages (None: an IDX labels file)."""

    @classmethod
    def fit(
        cls, values: NDArray[Any], task: Task, source: str, column: str | None = None
    ) -> TargetMap:
        """Learn the label map or the standardization from the training targets.

        ``column`` (the CSV target column) is named in messages and kept for `encode`.
        """
        if task == "regression":
            mean, std = _mean_std(regression_values(values, source, column))
            return cls(task=task, classes=[], mean=mean, std=std if std > 0 else 1.0, column=column)
        present = np.asarray(values)[~is_missing(values)]
        unique_keys, first = np.unique(label_keys(present), return_index=True)
        uniques = {str(k): python_value(present[i]) for k, i in zip(unique_keys, first)}  # noqa: B905
        classes = [uniques[k] for k in sorted(uniques, key=lambda k: _sort_key(uniques[k]))]
        if len(classes) < 2:
            raise DataError(
                f"{source}: the training data has a single class ({classes[0] if classes else ''})"
                f"{_in_column(column)}; {task} needs at least two",
                hint="check the target column, or use a regression loss",
            )
        if task == "binary" and len(classes) > 2:
            raise DataError(
                f"{source}: binary_crossentropy needs two classes, the target"
                f"{_in_column(column)} has {len(classes)}: {', '.join(map(str, classes[:10]))}",
                hint="use loss: categorical_crossentropy with a softmax output layer",
            )
        return cls(task=task, classes=classes, column=column)

    @property
    def class_names(self) -> list[str] | None:
        return [str(c) for c in self.classes] if self.task != "regression" else None

    def encode(self, values: NDArray[Any], source: str, dtype: type[np.floating]) -> NDArray[Any]:
        """Class indices (int64, (n,)), 0/1 column (binary), or standardized column (regression)."""
        if self.task == "regression":
            y = (regression_values(values, source, self.column) - self.mean) / self.std
            return y.astype(dtype).reshape(-1, 1)
        missing = is_missing(values)
        if missing.any():
            raise DataError(
                f"{source}: {_where(self.column)}{int(missing.sum())} missing target values "
                f"({describe_rows(np.flatnonzero(missing))})"
            )
        keys = label_keys(values)
        codes = pd.Index([label_key(c) for c in self.classes]).get_indexer(pd.Index(keys))
        unknown = np.flatnonzero(codes < 0)
        if len(unknown):
            raise DataError(
                f"{source}: {_where(self.column)}{describe_rows(unknown, 0, 1)}: "
                f"label '{keys[unknown[0]]}' was not "
                f"in the training data (classes: {', '.join(self.class_names or [])})"
            )
        if self.task == "binary":
            return codes.astype(dtype).reshape(-1, 1)
        return codes.astype(np.int64)

    def inverse(self, y: NDArray[np.floating]) -> NDArray[np.floating]:
        """Regression outputs back in the target's original units (infinity where they overflow
        float64: the callers say so)."""
        if self.task != "regression":
            return y
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(y, dtype=np.float64) * self.std + self.mean

    def labels_for(self, indices: Sequence[int] | NDArray[np.integer]) -> NDArray[Any]:
        """The original labels of class indices."""
        table = np.array(self.classes, dtype=object)
        return table[np.asarray(indices, dtype=np.intp)]


def _mean_std(y: NDArray[np.float64]) -> tuple[float, float]:
    """Mean and std of finite targets; near the float64 limit (1e300) computed on ``y / max|y|``."""
    with np.errstate(over="ignore"):
        mean, std = float(y.mean()), float(y.std())
    if np.isfinite(mean) and np.isfinite(std):
        return mean, std
    m = float(np.max(np.abs(y)))
    z = y / m
    return float(z.mean()) * m, float(z.std()) * m


def _sort_key(value: Label) -> tuple[int, float, str]:
    """Numbers in numeric order, before strings in text order."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def _where(column: str | None) -> str:
    """``"column 'y', "`` to put before a row in a message; empty for IDX labels."""
    return f"column '{column}', " if column is not None else ""


def _in_column(column: str | None) -> str:
    return f" in column '{column}'" if column is not None else ""


def _named(column: str | None) -> str:
    return f" '{column}'" if column is not None else ""


def regression_values(
    values: NDArray[Any], source: str, column: str | None = None
) -> NDArray[np.float64]:
    """Targets as finite float64 numbers, else a `DataError` naming the column and first bad row."""
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if len(bad):
        raise DataError(
            f"{source}: the target column{_named(column)}, {describe_rows(bad, 0, 1)}: "
            f"'{values[bad[0]]}' is not a finite number ({len(bad)} such rows)",
            hint="a regression target must be a number in every row",
        )
    return numbers
