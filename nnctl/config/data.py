"""The ``data`` section: where the data lives and how it is prepared, and its cross-key checks.

`data_problems` checks what involves several keys of the section (splits, format-specific keys,
normalization) and returns ``(key path, message)`` pairs relative to the section.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from nnctl.config.keys import Problem, raise_problems
from nnctl.config.section import Fraction, PositiveFloat, Section

Normalize = Literal["standard", "minmax", "scale", "none"]


def guess_format(fmt: Any, train: Path, has_labels: bool) -> Literal["csv", "idx"]:
    """``csv`` or ``idx``: ``fmt`` when given, else idx for a labels file or an IDX file name."""
    if fmt in ("csv", "idx"):
        return fmt  # type: ignore[no-any-return]
    name = train.name.lower()
    return "idx" if has_labels or "idx" in name or name.endswith("-ubyte.gz") else "csv"


def default_normalize(fmt: Literal["csv", "idx"]) -> Normalize:
    """What ``normalize: auto`` means: ``none`` for IDX images (read into [0, 1]), else standard.

    Images are pixels on one shared scale already; standardizing each pixel on its own
    magnifies the rarely lit border pixels (on handwritten digits it costs test loss).
    """
    return "none" if fmt == "idx" else "standard"


PATH_KEYS = ("train", "train_labels", "validation", "validation_labels", "test", "test_labels")


class DataConfig(Section):
    """Where the data lives and how it is prepared.

    CSV: train (and optionally validation, test) are CSV files and target names the column to
    predict. IDX: train is an idx3 images file and train_labels its idx1 labels file (likewise for
    validation and test); .gz files are read as they are. Paths are relative to the config file's
    folder; once loaded they are absolute.
    """

    format: Literal["auto", "csv", "idx"] = Field(
        default="auto",
        description="csv, idx, or auto: idx when train_labels is given or the name says so.",
    )
    train: Path = Field(description="The training data: a CSV file, or an IDX images file.")
    train_labels: Path | None = Field(default=None, description="IDX: the labels file of train.")
    validation: Path | None = Field(
        default=None,
        description="Validation data; without it, validation_split of train is held out.",
    )
    validation_labels: Path | None = Field(
        default=None, description="IDX: the labels file of validation."
    )
    test: Path | None = Field(
        default=None, description="Test data; without it, test_split of train is held out."
    )
    test_labels: Path | None = Field(default=None, description="IDX: the labels file of test.")
    target: str | None = Field(
        default=None, description="CSV: the column to predict (required for CSV)."
    )
    features: list[str] | None = Field(
        default=None, description="CSV: the input columns; default every column but the target."
    )
    categorical: list[str] | None = Field(
        default=None,
        description="CSV: columns to one-hot encode; default the columns that are not numeric.",
    )
    validation_split: Fraction = Field(
        default=0.15,
        description="Fraction of train held out for validation when there is no validation.",
    )
    test_split: Fraction = Field(
        default=0.15,
        description="Fraction of train held out for testing when there is no test file.",
    )
    normalize: Literal["standard", "minmax", "scale", "none", "auto"] | None = Field(
        default="auto",
        description="Feature scaling fitted on the training split: standard (zero mean, unit "
        "variance), minmax ([0, 1]), scale (divide by scale), none; auto (or null): none for IDX "
        "images, which are read into [0, 1], standard for CSV. A loaded config holds the "
        "resolved value.",
    )
    scale: PositiveFloat | None = Field(
        default=None, description="The divisor of normalize: scale."
    )
    missing: Literal["error", "mean", "median", "most_frequent"] = Field(
        default="error", description="CSV: what to do with empty cells: error, or fill them."
    )
    unseen_categories: Literal["error", "ignore"] = Field(
        default="error",
        description="A category not seen in training: error, or encode it as all zeros.",
    )
    delimiter: str = Field(",", min_length=1, description="CSV: the field separator.")

    @field_validator(*PATH_KEYS)
    @classmethod
    def _relative_to_config_folder(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        """Resolve a relative path against ``base_dir`` of the validation context, if given."""
        context = info.context if isinstance(info.context, dict) else {}
        base_dir = context.get("base_dir")
        if path is None or base_dir is None:
            return path
        return Path(os.path.normpath(Path(base_dir) / path.expanduser()))

    @model_validator(mode="before")
    @classmethod
    def _resolve_normalize(cls, data: Any) -> Any:
        """Replace ``normalize: auto`` (or null, or no key) by what it means for the format.

        So the config a run records in its ``config.yaml`` says what was done (``none`` or
        ``standard``), whatever a later version's default, and a config that leaves the key out
        equals one that spells the same choice.
        """
        if not isinstance(data, dict) or data.get("normalize", "auto") not in ("auto", None):
            return data
        train, labels = data.get("train"), data.get("train_labels")
        if not isinstance(train, str | os.PathLike):
            return data  # reported as a problem of data.train
        fmt = guess_format(data.get("format", "auto"), Path(train), labels is not None)
        return {**data, "normalize": default_normalize(fmt)}

    @model_validator(mode="after")
    def _check(self) -> DataConfig:
        raise_problems(data_problems(self))
        return self

    def resolved_format(self) -> Literal["csv", "idx"]:
        """``csv`` or ``idx``: the format given, or guessed from ``train_labels`` and file names."""
        return guess_format(self.format, self.train, self.train_labels is not None)

    def resolved_normalize(self) -> Normalize:
        """The feature scaling: ``normalize``, with ``auto`` as `default_normalize` resolves it.

        A validated config already holds the resolved value; this only narrows its type.
        """
        if self.normalize in ("auto", None):
            return default_normalize(self.resolved_format())
        return self.normalize  # type: ignore[return-value]

    @property
    def has_validation_data(self) -> bool:
        """Whether training will see validation data (a file, or a split greater than 0)."""
        return self.validation is not None or self.validation_split > 0


# --- checks of several keys -----------------------------------------------------------------------

QUOTE_AND_NEWLINES = ('"', "\n", "\r")
"""Characters that cannot separate CSV fields: the quote character and line breaks."""


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
