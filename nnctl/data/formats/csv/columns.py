"""Column planning: which feature columns of a CSV file are numbers, text or bytes.

A first read of `SAMPLE_ROWS` rows decides it (`plan_columns`); the full read (`read.read_table`)
then asks pandas for each column in its planned type. Text columns, and the columns listed in
``data.categorical``, are read as text; the target column is read as pandas infers it, so labels
keep their type (strings or integers).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from nnctl.data.encoding import looks_like_identifier
from nnctl.data.formats.csv.header import list_columns, read_header, require_columns
from nnctl.data.formats.csv.source import csv_errors, open_csv
from nnctl.errors import ConfigError, DataError, NnctlWarning

SAMPLE_ROWS = 200


@dataclass(frozen=True)
class CsvColumns:
    """Which columns to read and how: numbers, text, and the target (read as inferred)."""

    numeric: list[str]
    categorical: list[str]
    target: str | None
    # Numeric columns whose sampled values are all whole numbers in 0..255 (pixels, say): read
    # first as uint8, which pandas parses faster and in a quarter of the memory of float32.
    byte_like: list[str] = field(default_factory=list)

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]


def plan_columns(
    path: Path,
    delimiter: str,
    target: str | None,
    features: list[str] | None,
    categorical: list[str] | None,
) -> CsvColumns:
    """Decide which feature columns are numeric from the header and the first rows.

    A column of the first rows that looks like an identifier (`looks_like_identifier`: a
    different value in every row) is refused with a `ConfigError` giving the ``data.features``
    to write without it, unless the config lists it in ``data.features`` or ``data.categorical``:
    then it is the user's choice, and an `NnctlWarning` says what it costs.
    """
    header = read_header(path, delimiter)
    if target is None:
        raise DataError(f"{path}: data.target is not set", hint=f"columns: {list_columns(header)}")
    _check_delimiter(path, header, delimiter, target)
    require_columns(path, header, [target], "target")
    chosen = features if features is not None else [c for c in header if c != target]
    require_columns(path, header, chosen, "feature")
    require_columns(path, header, categorical or [], "categorical")
    with csv_errors(path), open_csv(path) as opened:
        sample = pd.read_csv(opened.stream, sep=delimiter, usecols=chosen, nrows=SAMPLE_ROWS)
    _check_identifiers(path, sample, chosen, [*(features or []), *(categorical or [])])
    text = set(categorical or [])
    kinds = {name: dtype.kind for name, dtype in sample.dtypes.items()}
    numeric = [
        c for c in chosen if c not in text and (kinds[c] in "iuf" or mostly_numbers(sample[c]))
    ]
    return CsvColumns(
        numeric=numeric,
        categorical=[c for c in chosen if c not in numeric],
        target=target,
        byte_like=_byte_like(sample, [c for c in numeric if kinds[c] in "iu"]),
    )


#: A sampled column with at least this share of numbers is numeric, its text a typo to report.
NUMBERS_SHARE = 0.9


def mostly_numbers(values: pd.Series) -> bool:
    """Whether a column pandas read as text holds numbers but for a few values (``?``, a typo).

    Such a column is numeric: one-hot encoding it would make each number a category, and the
    stray text is reported with its row (`numeric_values`) instead.
    """
    present = values.dropna()
    if values.dtype.kind in "iufcb" or present.empty:
        return False
    numbers = pd.to_numeric(present, errors="coerce").notna()
    return bool(numbers.mean() >= NUMBERS_SHARE)


#: Field separators a CSV file may use instead of the configured one, as YAML writes them.
_SEPARATORS = {",": "','", ";": "';'", "\t": '"\\t"', "|": "'|'"}


def _check_delimiter(path: Path, header: list[str], delimiter: str, target: str) -> None:
    """A header of one column holding another separator (``a;b;y``): data.delimiter is wrong."""
    if len(header) != 1 or target in header:
        return
    for other, written in _SEPARATORS.items():
        if other != delimiter and other in header[0]:
            raise DataError(
                f"{path}: no target column '{target}': the header is one column, "
                f"'{header[0]}'; the file looks separated by {written}, not {delimiter!r}",
                hint=f"set data.delimiter: {written}",
            )


def _check_identifiers(
    path: Path, sample: pd.DataFrame, chosen: list[str], listed: list[str]
) -> None:
    """Refuse the identifier columns of ``sample`` that the config did not list by name.

    Identifiers the config lists (``listed``) are kept, with an `NnctlWarning` (the CLI shows it
    on stderr): one-hot encoded, each of their values is seen in one training row, so a model
    memorises rows instead of learning.
    """
    found = [
        c
        for c in chosen
        if not mostly_numbers(sample[c]) and looks_like_identifier(sample[c].to_numpy(), c)
    ]
    refused = [c for c in found if c not in listed]
    for name in [c for c in found if c in listed]:
        message = (
            f"{path}: column '{name}' has a different value in every row (an identifier?); kept "
            "because the config lists it, but a model cannot learn from it what holds for new rows"
        )
        warnings.warn(message, NnctlWarning, stacklevel=3)
    if not refused:
        return
    others = [c for c in chosen if c not in refused]
    names = ", ".join(f"'{c}'" for c in refused)
    many = len(refused) > 1
    what = (
        f"column{'s' if many else ''} {names} {'have' if many else 'has'} a different value "
        f"in every row ({'identifiers' if many else 'an identifier'}?)"
    )
    if not others:
        raise ConfigError(
            f"{path}: {what}, and there is no other feature column to learn from",
            hint="to use it anyway, list it in data.features or data.categorical",
        )
    raise ConfigError(
        f"{path}: {what}; leave {'them' if many else 'it'} out with "
        f"data.features: {_flow_list(others)}",
        hint=f"to keep {'them' if many else 'it'}, list {names} in data.features yourself",
    )


def _flow_list(names: list[str]) -> str:
    """``[a, b, 'yes']``: a YAML list on one line, quoted where YAML needs it, to paste."""
    import yaml

    return str(yaml.safe_dump(names, default_flow_style=True, width=1 << 30)).strip()


def _byte_like(sample: pd.DataFrame, integers: list[str]) -> list[str]:
    """The integer columns of ``sample`` whose values are all in 0..255 (checked all at once)."""
    if not integers:
        return []
    values = sample[integers].to_numpy()
    in_range = np.flatnonzero(((values >= 0) & (values <= 255)).all(axis=0))
    return [integers[j] for j in in_range]
