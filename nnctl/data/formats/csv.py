"""Reading CSV files with pandas' C engine, with narrow dtypes and errors that name the file.

A first read of ``SAMPLE_ROWS`` rows decides which feature columns are numeric; the full read then
asks pandas for those columns as float32 (or the training dtype) directly, which halves the memory
of pandas' default int64/float64 read: a 60,000 x 785 MNIST CSV takes about 190 MB, not 380 MB.
The full read uses one thread: pandas 3.1's parallel reader peaked at about twice the memory, and
on two cores it was no faster, even for bytes (it used twice the CPU time, and much more wall
time when another process had the other core).
Text columns, and the columns listed in ``data.categorical``, are read as text. The target column
is read as pandas infers it, so labels keep their type (strings or integers).

A large plain file of byte columns (pixels) is parsed as two halves on two threads instead (see
`read_halves`; pandas' tokenizer releases the GIL), but only where the two halves cannot differ
from one read; whenever they might, or either half fails, the file is read once as above, so every
result and every error message is that of one read.
"""

from __future__ import annotations

import codecs
import csv as std_csv
import difflib
import gzip
import io
import os
import stat
import sys
import threading
import warnings
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nnctl._platform import n_cores
from nnctl.data.encoding import describe_rows, looks_like_identifier
from nnctl.data.files import GZIP_MAGIC, check_file, is_gzip
from nnctl.data.inputs import Input, inflate_limit, open_input, open_raw
from nnctl.errors import ConfigError, DataError

SAMPLE_ROWS = 200
READ_FAILED = "Calling read(nbytes) on source failed"
STDIN = "-"
#: Plain files at least this large are parsed in two halves on two threads (see `read_halves`).
HALVES_MIN_BYTES = 8 << 20
#: A second half starting with one of these (a blank line, a byte-order mark) starts a line later.
_AWKWARD_STARTS = (b"\r", b"\n", codecs.BOM_UTF8[:1])


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


def source_name(source: str | Path) -> str:
    """How a CSV source is named in messages: its path, or ``<stdin>``."""
    return "<stdin>" if str(source) == STDIN else str(source)


@contextmanager
def csv_errors(source: str | Path) -> Iterator[None]:
    """Turn pandas' and the decompressor's exceptions into a `DataError` naming the file."""
    name = source_name(source)
    try:
        yield
    except pd.errors.EmptyDataError:
        raise DataError(f"{name}: no columns: the file is empty or blank") from None
    except pd.errors.ParserError as error:
        if READ_FAILED in str(error):
            # Our streams' own errors are raised by `open_input`, so a read that failed without
            # one was interrupted: a Ctrl-C or SIGTERM whose KeyboardInterrupt, raised in the
            # read pandas' tokenizer called, pandas lost on its way out.
            raise KeyboardInterrupt from None
        raise DataError(f"{name}: not a valid CSV file: {error}") from None
    except UnicodeDecodeError:
        where = "" if str(source) == STDIN else first_invalid_utf8(Path(source))
        raise DataError(f"{name}: not UTF-8 text{where}: is it a CSV file?") from None
    except EOFError:
        raise DataError(f"{name}: truncated gzip file", hint="copy the file again") from None
    except (gzip.BadGzipFile, zlib.error) as error:
        raise DataError(f"{name}: corrupt gzip file: {error}") from None


def first_invalid_utf8(path: Path) -> str:
    """Where the first byte that is not UTF-8 is: `` (line 3, byte offset 41)``, or ``""``.

    A decoding error from a text stream or from pandas counts from the start of the block it was
    decoding, not of the file, so the file is read again, in blocks, to find the real offset
    (of the decompressed data, for a gzip file).
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = lines = 0
    try:
        with open_input(path, "CSV file") as opened:
            while block := opened.stream.read(1 << 20):
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as error:
                    start = offset - pending + error.start
                    line = lines + block.count(b"\n", 0, max(error.start - pending, 0)) + 1
                    unzipped = " of the decompressed data" if opened.gzip else ""
                    return f" (line {line}, byte offset {start}{unzipped})"
                offset += len(block)
                lines += block.count(b"\n")
    except (OSError, EOFError, zlib.error, DataError):
        return ""
    return ""


def compression(path: Path) -> Literal["gzip"] | None:
    """``gzip`` when the file starts with the gzip magic number (whatever its name), else None."""
    return "gzip" if is_gzip(path) else None


@contextmanager
def open_csv(source: str | Path, *, once: bool = False) -> Iterator[Input]:
    """A CSV input as checked bytes for pandas: a file, a pipe or ``-``; gzip by its magic.

    Read whole (``once`` false), a gzip file inflates to at most `inflate_limit` bytes; read
    once, start to end (predict's stream), a pipe is not copied and any length is accepted.
    """
    cap = None if once else inflate_limit()
    with open_input(source, "CSV file", text=True, max_inflated=cap, once=once) as opened:
        yield opened


@contextmanager
def open_text(path: Path) -> Iterator[TextIO]:
    """The file as UTF-8 text (a byte-order mark skipped), decompressed when it is gzip."""
    with open_csv(path) as opened:
        stream = cast(io.BufferedReader, opened.stream)
        yield io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


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


def _list_columns(columns: list[str], limit: int = 12) -> str:
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
        hint=f"columns found: {_list_columns(found)}",
    )


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
    then it is the user's choice, and a warning on stderr says what it costs.
    """
    header = read_header(path, delimiter)
    if target is None:
        raise DataError(f"{path}: data.target is not set", hint=f"columns: {_list_columns(header)}")
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

    Identifiers the config lists (``listed``) are kept, with a warning: one-hot encoded, each of
    their values is seen in one training row, so a model memorises rows instead of learning.
    """
    found = [
        c
        for c in chosen
        if not mostly_numbers(sample[c]) and looks_like_identifier(sample[c].to_numpy(), c)
    ]
    refused = [c for c in found if c not in listed]
    for name in [c for c in found if c in listed]:
        sys.stderr.write(
            f"nnctl: warning: {path}: column '{name}' has a different value in every row (an "
            "identifier?); kept because the config lists it, but a model cannot learn from it "
            "what holds for new rows\n"
        )
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


@contextmanager
def one_thread() -> Iterator[None]:
    """Read with one thread: pandas 3.1's parallel reader doubles the peak memory of a read."""
    try:
        context = pd.option_context("mode.max_threads", 1)
    except (KeyError, pd.errors.OptionError):  # pandas without the option reads on one thread
        yield
        return
    with context:
        yield


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
    if _halves_apply(columns, wanted, header, delimiter):
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
    if len(frame) == 0:
        raise DataError(f"{path}: the file has a header but no rows")
    _check_range(frame, path, columns.numeric, delimiter, dtype)
    return frame


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


def out_of_range(
    source: str | Path,
    column: str,
    rows: NDArray[np.intp],
    value: object,
    dtype: type[np.floating],
    offset: int = 0,
) -> DataError:
    """The `DataError` for a number of a numeric column that ``dtype`` cannot hold."""
    name = np.dtype(dtype).name
    largest = float(np.finfo(dtype).max)
    return DataError(
        f"{source_name(source)}: column '{column}', {describe_rows(rows, offset, 1)}: {value} is "
        f"out of the {name} range (largest magnitude {largest:.3g})",
        hint=(
            "set training.dtype: float64, or rescale the column"
            if largest < np.finfo(np.float64).max
            else "rescale the column"
        ),
    )


def as_dtype(
    values: NDArray[Any], dtype: type[np.floating], source: str | Path, column: str, offset: int = 0
) -> NDArray[np.floating]:
    """A numeric column's values in ``dtype``; a finite value beyond its range is a `DataError`."""
    if values.dtype == dtype:
        return values
    with np.errstate(over="ignore"):
        cast: NDArray[np.floating] = values.astype(dtype)
    if values.dtype.kind == "f" and values.dtype.itemsize > np.dtype(dtype).itemsize:
        bad = np.flatnonzero(np.isinf(cast) & np.isfinite(values))
        if len(bad):
            raise out_of_range(source, column, bad, values[bad[0]], dtype, offset)
    return cast


def _halves_apply(
    columns: CsvColumns, wanted: list[str], header: list[str], delimiter: str
) -> bool:
    """Whether `read_halves` may be tried: every column read, features all typed, pixels among them.

    Each feature column is read with a fixed dtype, so a value parses the same in either half; the
    target alone is inferred (`read_halves` checks it). Text columns and a subset of the columns
    (``usecols``, with which pandas accepts rows of extra fields) keep the one read, and so does
    a process allowed only one CPU, where the two threads would only take turns.
    """
    return (
        n_cores() > 1
        and bool(columns.byte_like)
        and not columns.categorical
        and columns.target is not None
        and len(wanted) == len(header)
        and len(delimiter) == 1
        and delimiter.isascii()
        and delimiter not in '"\r\n\0'
    )


def read_halves(
    path: Path, header: list[str], delimiter: str, dtypes: dict[str, Any], target: str
) -> pd.DataFrame | None:
    """The table of ``path`` parsed in two halves on two threads, or None to read it whole.

    The file is cut at the first line that starts after its middle; a helper thread parses the
    first half (header and rows) while this thread parses the second with the header's names.
    pandas' C tokenizer releases the GIL, so on two cores that takes less time. Each half is read
    from the file a block at a time (`FileRange`), so the file is never held in memory whole.

    The halves give exactly what one read gives when nothing depends on where a row is in the
    file, so this returns None, and the caller reads the file once, unless all of this holds:
    a plain (not gzip) regular file of at least `HALVES_MIN_BYTES`; ASCII text with no quote
    character (so no newline is inside a field) and no space or tab but the delimiter (pandas drops
    a row's leading whitespace where one of its 256 kB input blocks starts, and the halves' blocks
    start elsewhere than one read's); a second half that starts with a row, not with a blank line
    or a byte-order mark (which pandas skips only at the start of its input); each half parses
    without an error or a warning, with a plain row index (no implicit index column), the same
    columns and the same dtypes; and the target column, which pandas infers a block of rows at a
    time, comes out as integers or booleans, types that every block of one read would also give,
    with the same values. (Float targets read once: a block of whole numbers reads ``-0`` as 0, a
    block with a fraction as -0.0.) An error is left to the read of the whole file, so that its
    message (row numbers, byte offsets) is unchanged.
    """
    with (
        open_raw(path, "CSV file") as raw,
        io.BufferedReader(cast(io.RawIOBase, raw.stream)) as handle,
    ):
        cut = _cut(handle)
        if cut is None:
            return None
        fd, size = handle.fileno(), os.fstat(handle.fileno()).st_size
        if _sampled_kind(FileRange(fd, 0, cut, delimiter), delimiter, target) not in ("i", "b"):
            return None
        sources = [FileRange(fd, 0, cut, delimiter), FileRange(fd, cut, size, delimiter)]
        options: dict[str, Any] = {"sep": delimiter, "dtype": dtypes, "engine": "c"}
        parsed: list[pd.DataFrame | None] = [None, None]

        def parse(half: int, **names: Any) -> None:
            try:
                parsed[half] = pd.read_csv(sources[half], compression=None, **options, **names)
            except Exception:  # left to the read of the whole file
                parsed[half] = None

        helper = threading.Thread(target=parse, args=(0,), name="nnctl-csv-half", daemon=True)
        with warnings.catch_warnings(record=True) as caught, one_thread():
            warnings.simplefilter("always")
            helper.start()
            try:
                parse(1, header=None, names=header)
            finally:
                helper.join()
    a, b = parsed
    parsed.clear()
    # A ResourceWarning comes from a finalizer (any object the garbage collector ran into while
    # the halves were parsed), never from the parse.
    caught = [w for w in caught if not issubclass(w.category, ResourceWarning)]
    if any(not source.plain or not source.whole for source in sources):
        return None
    if caught or a is None or b is None or not _halves_agree(a, b, target):
        return None
    return _joined(a, b, target)


class FileRange(io.RawIOBase):
    """The bytes ``[start, stop)`` of an open file as a stream; notes whether they were plain.

    Plain: ASCII (after a byte-order mark that starts the file), with no quote character and no
    space or tab other than ``delimiter`` (see `read_halves` for why each of these sends the file
    to one read).
    """

    def __init__(self, fd: int, start: int, stop: int, delimiter: str) -> None:
        super().__init__()
        self.fd, self.position, self.stop = fd, start, stop
        self.plain = True
        self._unsafe = [c.encode() for c in '" \t\0' if c != delimiter]

    def readable(self) -> bool:
        return True

    @property
    def whole(self) -> bool:
        """Whether every byte of the range was read."""
        return self.position == self.stop

    def read(self, size: int | None = -1) -> bytes:
        left = self.stop - self.position
        wanted = left if size is None or size < 0 else min(size, left)
        data = os.pread(self.fd, wanted, self.position) if wanted > 0 else b""
        # A byte-order mark that starts the file is skipped alike by both reads.
        text = data[3:] if self.position == 0 and data.startswith(codecs.BOM_UTF8) else data
        self.position += len(data)
        self.plain = self.plain and text.isascii() and not any(c in text for c in self._unsafe)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _cut(handle: Any) -> int | None:
    """Where the second half of a plain file starts: the first line start past the middle.

    None when the file is not a regular file of at least `HALVES_MIN_BYTES`, is gzip, or has no
    row starting after the middle. A line that starts with a blank line or a byte-order mark does
    not start the second half: the next line does.
    """
    info = os.fstat(handle.fileno())
    if not stat.S_ISREG(info.st_mode) or info.st_size < max(HALVES_MIN_BYTES, 1):
        return None
    if handle.read(2) == GZIP_MAGIC:
        return None
    handle.seek(info.st_size // 2)
    handle.readline()
    for _ in range(64):
        cut: int = handle.tell()
        start = handle.read(1)
        if not start:  # no row starts after the middle
            return None
        if start not in _AWKWARD_STARTS:
            return cut
        handle.seek(cut)
        handle.readline()
    return None


def _sampled_kind(first: FileRange, delimiter: str, target: str) -> str:
    """The kind of dtype pandas infers for the target in the first rows ("" if they do not parse).

    Labels that are text would send the halves back to one read after parsing them both, so the
    first `SAMPLE_ROWS` rows are looked at beforehand.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sample = pd.read_csv(
                first,
                sep=delimiter,
                usecols=[target],
                nrows=SAMPLE_ROWS,
                engine="c",
                compression=None,
            )
        return str(sample[target].dtype.kind) if len(sample) else ""
    except Exception:
        return ""


def _joined(a: pd.DataFrame, b: pd.DataFrame, target: str) -> pd.DataFrame:
    """The rows of ``a`` then ``b``, numbered from 0: ``pd.concat([a, b], ignore_index=True)``.

    When every column but the target holds bytes, they are joined into one uint8 block, so that
    `nnctl.data.preprocess.byte_block` takes them in one piece instead of gathering 784 columns.
    """
    features = [name for name in a.columns if name != target]
    if not features or any(a[name].dtype != np.uint8 for name in features):
        return pd.concat([a, b], ignore_index=True)
    n = len(a)
    block = np.empty((len(features), n + len(b)), dtype=np.uint8)
    for j, name in enumerate(features):
        block[j, :n] = a[name].to_numpy()
        block[j, n:] = b[name].to_numpy()
    frame = pd.DataFrame(block.T, columns=a.columns.drop(target), copy=False)
    labels = np.concatenate([a[target].to_numpy(), b[target].to_numpy()])
    frame.insert(list(a.columns).index(target), target, labels)
    return frame


def _halves_agree(a: pd.DataFrame, b: pd.DataFrame, target: str) -> bool:
    """Whether two parsed halves join into what one read of the file gives (see `read_halves`)."""
    if not len(a) or not len(b) or list(a.columns) != list(b.columns):
        return False
    for half in (a, b):
        if not isinstance(half.index, pd.RangeIndex) or not half.index.equals(
            pd.RangeIndex(len(half))
        ):
            return False
    if not a.dtypes.equals(b.dtypes) or target not in a.columns:
        return False
    return isinstance(a[target].dtype, np.dtype) and a[target].dtype.kind in ("i", "b")


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


def numeric_values(
    series: pd.Series[Any], source: str | Path, column: str, offset: int = 0
) -> NDArray[np.floating]:
    """A column as numbers; text that is not a number is a `DataError` naming column and row."""
    if series.dtype.kind in "iufb":
        return series.to_numpy()
    numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(np.isnan(numbers) & series.notna().to_numpy())
    if len(bad):
        value = series.iloc[int(bad[0])]
        raise DataError(
            f"{source_name(source)}: column '{column}', {describe_rows(bad, offset, 1)}: "
            f"'{value}' is not a number",
            hint=f"list '{column}' under data.categorical to one-hot encode it as text",
        )
    return numbers


def check_finite(
    values: NDArray[np.floating], source: str | Path, column: str, offset: int = 0
) -> None:
    """Raise a `DataError` naming the first rows where a numeric column is NaN or infinite."""
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise DataError(
            f"{source_name(source)}: column '{column}' has {len(bad)} missing or infinite "
            f"values ({describe_rows(bad, offset)})",
            hint="fill them in, or set data.missing to mean, median or most_frequent",
        )


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
        for number, chunk in enumerate(reader):
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
