"""Reading a CSV table with pandas' C engine, with narrow dtypes and errors that name the file.

The full read asks pandas for the numeric feature columns as float32 (or the training dtype)
directly, which halves the memory of pandas' default int64/float64 read: a 60,000 x 785 MNIST CSV
takes about 190 MB, not 380 MB. The full read uses one thread: pandas 3.1's parallel reader peaked
at about twice the memory, and on two cores it was no faster, even for bytes (it used twice the
CPU time, and much more wall time when another process had the other core). A large plain file of
byte columns is parsed in two halves on two threads instead, where that gives what one read gives
(`halves.read_halves`).
"""

from __future__ import annotations

import csv as std_csv
import os
import stat
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nnctl.data.files import check_file
from nnctl.data.formats.csv.columns import CsvColumns
from nnctl.data.formats.csv.halves import halves_apply, read_halves
from nnctl.data.formats.csv.header import check_names, read_header, require_columns
from nnctl.data.formats.csv.source import (
    STDIN,
    compression,
    csv_errors,
    one_thread,
    open_csv,
    positional_index,
    source_name,
)
from nnctl.data.formats.csv.values import numeric_values, out_of_range
from nnctl.errors import DataError


def _dtypes(
    columns: CsvColumns, dtype: type[np.floating], byte_like: Sequence[str] = ()
) -> dict[str, Any]:
    numbers = {c: dtype for c in columns.numeric} | dict.fromkeys(byte_like, np.uint8)
    return numbers | {c: str for c in columns.categorical}


def read_table(
    path: Path, columns: CsvColumns, delimiter: str, dtype: type[np.floating]
) -> pd.DataFrame:
    """Read the feature and target columns; numeric features straight into ``dtype``.

    ``dtype`` is the model's float type; a number it cannot hold (``1e300`` in float32) is a
    `DataError` naming the column and the row (see `_check_range`).
    """
    check_file(path, "CSV file")
    wanted = [*columns.features, *([columns.target] if columns.target else [])]
    header = read_header(path, delimiter)
    require_columns(path, header, wanted, "needed")

    def read(byte_like: Sequence[str]) -> pd.DataFrame:
        with csv_errors(path), one_thread(), open_csv(path) as opened, warnings.catch_warnings():
            # A number too large for ``dtype`` becomes infinity: `_check_range` names it instead.
            warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)
            return pd.read_csv(
                opened.stream,
                sep=delimiter,
                usecols=wanted if len(wanted) < len(header) else None,
                dtype=_dtypes(columns, dtype, byte_like),
                engine="c",
            )

    frame = None
    if halves_apply(columns, wanted, header, delimiter):
        dtypes = _dtypes(columns, dtype, columns.byte_like)
        frame = read_halves(path, header, delimiter, dtypes, str(columns.target))
    if frame is None:
        try:
            try:
                frame = read(columns.byte_like)
            except (ValueError, TypeError, OverflowError):
                if not columns.byte_like:
                    raise
                # A value past the sample is not a byte (256, -1, 2.5, empty, text): as numbers.
                frame = read(())
        except ValueError:
            raise _locate_text(path, columns.numeric, delimiter) from None
    check_row_length(frame, path)
    if len(frame) == 0:
        raise DataError(f"{path}: the file has a header but no rows")
    _check_range(frame, path, columns.numeric, delimiter, dtype)
    return frame


def check_row_length(frame: pd.DataFrame, source: str | Path, start: int = 0) -> None:
    """Refuse a table (or a chunk of one from row ``start``) whose first row has more values
    than its header has names.

    pandas reads such a file with the extra leading values as an index (`positional_index`), so
    every value lands under the column before its own and the rows are read without an error. A
    delimiter at the end of every line does the same.
    """
    if positional_index(frame, start):
        return
    columns = len(frame.columns)
    raise DataError(
        f"{source_name(source)}: the first row has {columns + frame.index.nlevels} values but "
        f"the header has {columns} columns, so every value would be read under the wrong column",
        hint="remove the extra values (a delimiter at the end of each line adds an empty one)",
    )


def _check_range(
    frame: pd.DataFrame, path: Path, numeric: list[str], delimiter: str, dtype: type[np.floating]
) -> None:
    """Raise `out_of_range` for the first number pandas read as infinity because ``dtype`` is short.

    pandas parses a numeric column straight into ``dtype`` and turns a value beyond its range
    (``1e300`` in float32) into infinity, which later checks would call missing or infinite, or
    impute. Only a column holding an infinity is read again, as text, to tell such a number from
    an infinity written as one (``inf``, ``-Infinity``).
    """
    infinite = [c for c in numeric if frame[c].dtype.kind == "f" and np.isinf(frame[c]).any()]
    if not infinite:
        return
    offset = 0
    with (
        csv_errors(path),
        pd.read_csv(
            path,
            sep=delimiter,
            usecols=infinite,
            dtype=str,
            chunksize=65536,
            compression=compression(path),
        ) as chunks,
    ):
        for chunk in chunks:
            for name in infinite:
                text = chunk[name].fillna("").str.strip().str.lower().str.lstrip("+-")
                written = text.isin(("inf", "infinity")).to_numpy()
                read = frame[name].to_numpy()[offset : offset + len(chunk)]
                bad = np.flatnonzero(np.isinf(read) & ~written)
                if len(bad):
                    value = chunk[name].iloc[int(bad[0])]
                    raise out_of_range(path, name, bad, value, dtype, offset)
            offset += len(chunk)


def _locate_text(path: Path, numeric: list[str], delimiter: str) -> DataError:
    """The `DataError` for the first text value in a numeric column (re-reading as text)."""
    offset = 0
    with (
        csv_errors(path),
        open_csv(path) as opened,
        pd.read_csv(
            opened.stream, sep=delimiter, usecols=numeric, dtype=str, chunksize=65536
        ) as chunks,
    ):  # closed on the early return too
        for chunk in chunks:
            for name in numeric:
                try:
                    numeric_values(chunk[name], path, name, offset)
                except DataError as error:
                    return error
            offset += len(chunk)
    return DataError(f"{path}: a numeric column holds a value that is not a number")


def read_chunks(
    source: str | Path, delimiter: str, chunk_rows: int, text_columns: list[str]
) -> Iterator[pd.DataFrame]:
    """Read a CSV file, or stdin for ``-``, ``chunk_rows`` rows at a time, all columns."""
    if str(source) != STDIN:
        check_file(Path(source), "CSV file")
    with (
        csv_errors(source),
        open_csv(source, once=True) as opened,
        pd.read_csv(
            opened.stream,
            sep=delimiter,
            chunksize=chunk_rows,
            dtype=dict.fromkeys(text_columns, str),
            quoting=std_csv.QUOTE_MINIMAL,
        ) as reader,
    ):  # the file is closed even when the caller stops early
        start = 0
        for number, chunk in enumerate(reader):
            check_row_length(chunk, source, start)
            start += len(chunk)
            if number == 0:
                check_names(source, list(chunk.columns))
                _check_repeated_names(source, delimiter, list(chunk.columns))
            yield chunk


def _check_repeated_names(source: str | Path, delimiter: str, columns: list[str]) -> None:
    """Refuse a header that repeats a name, as `read_header` does, from pandas' columns.

    pandas renames the second ``a`` of a header to ``a.1``, so a streamed input read once
    (predict's) would use the first ``a`` silently, or miss a column with a puzzling
    did-you-mean. A regular file's header is read again as it is; a stream's is judged by the
    renamed names (``a`` and ``a.N`` both present).
    """
    if str(source) != STDIN and stat.S_ISREG(os.stat(source).st_mode):
        read_header(Path(source), delimiter)  # raises on a repeated name
        return
    present = set(columns)
    renamed = sorted(
        {c.rpartition(".")[0] for c in columns if c.rpartition(".")[2].isdigit()} & present
    )
    if renamed:
        raise DataError(
            f"{source_name(source)}: the header repeats column names: {', '.join(renamed)}"
        )
