"""``metrics.csv``: one row per epoch, rewritten atomically, read back with its shape checked."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nnctl.errors import CheckpointError
from nnctl.store.files import write_text


class MetricsFile:
    """``metrics.csv``: one row per epoch, the whole file rewritten atomically after each epoch.

    Rewriting a small file is cheap and means ``kill -9`` can never leave a partial row.
    """

    def __init__(self, path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]] = ()):
        self.path = path
        self.columns = list(columns)
        self.rows: list[dict[str, Any]] = list(rows)

    def append(self, row: Mapping[str, Any]) -> None:
        """Add one epoch's row and write the file."""
        self.extend([row])

    def extend(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Add some rows (an epoch's, one per layer, in ``layer_stats.csv``) and write the file."""
        self.rows.extend(dict(row) for row in rows)
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        for item in self.rows:
            writer.writerow({key: _format_cell(item.get(key)) for key in self.columns})
        write_text(self.path, buffer.getvalue())


def _format_cell(value: object) -> object:
    if isinstance(value, float):
        return f"{value:.6g}" if value == value else ""
    return "" if value is None else value


def read_metrics(path: Path) -> list[dict[str, str]]:
    """The rows of a ``metrics.csv`` (empty when the file does not exist).

    A file that is not UTF-8 CSV, or a row with more or fewer cells than the header or without an
    integer ``epoch``, is a `CheckpointError` naming the file and the line.
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CheckpointError(f"{path}: damaged: not a readable CSV file ({error})") from None
    for line, row in enumerate(rows, start=2):
        if None in row or None in row.values() or not str(row.get("epoch", "")).isdigit():
            raise CheckpointError(
                f"{path}: damaged: line {line} does not match the header "
                "(a missing or extra cell, or an epoch that is not a number)"
            )
    return rows
