"""Checks of the ``data`` section that involve several keys: splits, format-specific keys.

Each returns ``(key path, message)`` pairs relative to the section, as `nnctl.config.checks` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nnctl.config.checks import Problem

QUOTE_AND_NEWLINES = ('"', "\n", "\r")
"""Characters that cannot separate CSV fields: the quote character and line breaks."""

if TYPE_CHECKING:
    from nnctl.config.sections import DataConfig


def data_problems(data: DataConfig) -> list[Problem]:
    """What is inconsistent in a data section: splits, format-specific keys, normalization."""
    problems: list[Problem] = []
    validation = 0.0 if data.validation is not None else data.validation_split
    test = 0.0 if data.test is not None else data.test_split
    if validation + test >= 1:
        problems.append(
            (
                ("validation_split",),
                "validation_split + test_split must be less than 1 to leave training data, "
                f"got {validation:g} + {test:g}",
            )
        )
    if data.resolved_format() == "csv":
        problems += _csv_problems(data)
    else:
        problems += _idx_problems(data)
    if data.normalize == "scale" and data.scale is None:
        problems.append((("scale",), "missing required key: normalize: scale divides by it"))
    if data.scale is not None and data.normalize != "scale":
        problems.append((("scale",), f"is used only with normalize: scale, not {data.normalize}"))
    return problems


def _csv_problems(data: DataConfig) -> list[Problem]:
    problems: list[Problem] = []
    if data.features is not None and not data.features:
        problems.append((("features",), "must list at least one input column, got []"))
    if len(data.delimiter) != 1 or data.delimiter in QUOTE_AND_NEWLINES:
        problems.append(
            (
                ("delimiter",),
                f"must be one character other than a quote or a line break, got {data.delimiter!r}",
            )
        )
    if data.target is None:
        problems.append((("target",), "missing required key: CSV data needs the column to predict"))
    for key in ("train_labels", "validation_labels", "test_labels"):
        if getattr(data, key) is not None:
            problems.append(((key,), "only IDX data has labels files; CSV data has data.target"))
    for key in ("features", "categorical"):
        columns: list[str] = getattr(data, key) or []
        for i, column in enumerate(columns):
            if column in columns[:i]:
                problems.append(((key, i), f"column '{column}' is listed twice"))
            elif column == data.target:
                problems.append(((key, i), f"'{column}' is the target, it cannot be an input"))
            elif key == "categorical" and data.features is not None and column not in data.features:
                problems.append(((key, i), f"'{column}' is not in data.features"))
    return problems


def _idx_problems(data: DataConfig) -> list[Problem]:
    problems: list[Problem] = []
    if data.train_labels is None:
        problems.append(
            (("train_labels",), "missing required key: IDX data needs the labels file of train")
        )
    for images, labels in (("validation", "validation_labels"), ("test", "test_labels")):
        if getattr(data, images) is not None and getattr(data, labels) is None:
            problems.append(((labels,), f"missing required key: data.{images} needs its labels"))
        if getattr(data, images) is None and getattr(data, labels) is not None:
            problems.append(((labels,), f"is given without data.{images}, the images file"))
    for key in ("target", "features", "categorical"):
        if getattr(data, key) is not None:
            problems.append(((key,), "is for CSV data; IDX data is an images and a labels file"))
    return problems
