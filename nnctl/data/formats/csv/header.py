"""A CSV file's header: its column names, checked, and the columns a config asks for."""

from __future__ import annotations

import csv as std_csv
import difflib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from nnctl.data.files import check_file
from nnctl.data.formats.csv.source import csv_errors, open_text, source_name
from nnctl.errors import DataError


def read_header(path: Path, delimiter: str) -> list[str]:
    """The column names: the first non-blank line, read with the csv module (fast on wide files)."""
    check_file(path, "CSV file")
    with csv_errors(path), open_text(path) as handle:
        reader = std_csv.reader(handle, delimiter=delimiter)
        try:
            header = next((row for row in reader if row), [])
        except std_csv.Error as error:
            raise DataError(
                f"{path}: line {reader.line_num}, the header: not a valid CSV header: {error}",
                hint="is the file a CSV file with a header line of column names?",
            ) from None
    if not any(name.strip() for name in header):
        raise DataError(f"{path}: no header line: the file is empty or blank")
    check_names(path, header)
    duplicated = sorted(name for name, count in Counter(header).items() if count > 1)
    if duplicated:
        raise DataError(f"{path}: the header repeats column names: {', '.join(duplicated)}")
    return header


def check_names(source: str | Path, header: Sequence[object]) -> None:
    """Raise a `DataError` naming the first empty cell of a header (pandas would say "Unnamed")."""
    for position, name in enumerate(header, start=1):
        if not str(name).strip() or str(name) == f"Unnamed: {position - 1}":
            raise DataError(
                f"{source_name(source)}: the header's column {position} has no name "
                f"(an empty cell in the header line); every column needs a name",
                hint="name the column, or remove it (a CSV written by pandas with its index has "
                "an unnamed first column: write it with index=False)",
            )


def list_columns(columns: list[str], limit: int = 12) -> str:
    shown = ", ".join(columns[:limit])
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > limit else "")


def closest_column(name: str, found: Sequence[str]) -> str | None:
    """The column of ``found`` that ``name`` most likely means: the same but for case, else the
    closest spelling (`difflib`, as the config's did-you-mean); None when none is close."""
    by_case = [c for c in found if c.casefold() == name.casefold()]
    if by_case:
        return by_case[0]
    lowered = {c.casefold(): c for c in reversed(found)}
    matches = difflib.get_close_matches(name.casefold(), list(lowered), n=1, cutoff=0.6)
    return lowered[matches[0]] if matches else None


def require_columns(path: str | Path, found: list[str], wanted: list[str], role: str) -> None:
    """Raise a `DataError` naming the columns of ``wanted`` that are not in ``found``.

    Each absent column comes with the closest column found, if one is close:
    ``no target column 'Tier'; did you mean 'tier'?``.
    """
    present = set(found)
    absent = [c for c in wanted if c not in present]
    if not absent:
        return
    guesses = [closest_column(c, [f for f in found if f not in wanted]) for c in absent]
    if len(absent) == 1:
        names = f"'{absent[0]}'" + (f"; did you mean '{guesses[0]}'?" if guesses[0] else "")
    else:
        names = ", ".join(
            f"'{c}'" + (f" (did you mean '{g}'?)" if g else "")
            for c, g in zip(absent, guesses, strict=True)
        )
    raise DataError(
        f"{source_name(path)}: no {role} column{'s' if len(absent) > 1 else ''} {names}",
        hint=f"columns found: {list_columns(found)}",
    )
