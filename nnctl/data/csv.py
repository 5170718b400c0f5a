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
from typing import Any, Literal, TextIO

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nnctl.data.encoding import describe_rows
from nnctl.data.files import GZIP_MAGIC, check_file, is_gzip
from nnctl.errors import DataError
from nnctl.nn.threads import n_cores

SAMPLE_ROWS = 200
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
        with gzip.open(path, "rb") if is_gzip(path) else path.open("rb") as handle:
            while block := handle.read(1 << 20):
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as error:
                    start = offset - pending + error.start
                    line = lines + block.count(b"\n", 0, max(error.start - pending, 0)) + 1
                    unzipped = " of the decompressed data" if is_gzip(path) else ""
                    return f" (line {line}, byte offset {start}{unzipped})"
                offset += len(block)
                lines += block.count(b"\n")
    except (OSError, EOFError, zlib.error):
        return ""
    return ""


def compression(path: Path) -> Literal["gzip"] | None:
    """``gzip`` when the file starts with the gzip magic number (whatever its name), else None."""
    return "gzip" if is_gzip(path) else None


def open_text(path: Path) -> TextIO:
    """The file as UTF-8 text (a byte-order mark skipped), decompressed when it is gzip."""
    if is_gzip(path):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


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
    duplicated = sorted(name for name, count in Counter(header).items() if count > 1)
    if duplicated:
        raise DataError(f"{path}: the header repeats column names: {', '.join(duplicated)}")
    return header


def _list_columns(columns: list[str], limit: int = 12) -> str:
    shown = ", ".join(columns[:limit])
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > limit else "")


def require_columns(path: str | Path, found: list[str], wanted: list[str], role: str) -> None:
    """Raise a `DataError` naming the columns of ``wanted`` that are not in ``found``."""
    present = set(found)
    absent = [c for c in wanted if c not in present]
    if absent:
        names = ", ".join(f"'{c}'" for c in absent)
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
    """Decide which feature columns are numeric from the header and the first rows."""
    header = read_header(path, delimiter)
    if target is None:
        raise DataError(f"{path}: data.target is not set", hint=f"columns: {_list_columns(header)}")
    require_columns(path, header, [target], "target")
    chosen = features if features is not None else [c for c in header if c != target]
    require_columns(path, header, chosen, "feature")
    require_columns(path, header, categorical or [], "categorical")
    with csv_errors(path):
        sample = pd.read_csv(
            path, sep=delimiter, usecols=chosen, nrows=SAMPLE_ROWS, compression=compression(path)
        )
    text = set(categorical or [])
    kinds = {name: dtype.kind for name, dtype in sample.dtypes.items()}
    numeric = [c for c in chosen if c not in text and kinds[c] in "iuf"]
    return CsvColumns(
        numeric=numeric,
        categorical=[c for c in chosen if c not in numeric],
        target=target,
        byte_like=_byte_like(sample, [c for c in numeric if kinds[c] in "iu"]),
    )


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
    """Read the feature and target columns; numeric features straight into ``dtype``."""
    check_file(path, "CSV file")
    wanted = [*columns.features, *([columns.target] if columns.target else [])]
    header = read_header(path, delimiter)
    require_columns(path, header, wanted, "needed")

    def read(byte_like: Sequence[str]) -> pd.DataFrame:
        with csv_errors(path), one_thread():
            return pd.read_csv(
                path,
                sep=delimiter,
                usecols=wanted if len(wanted) < len(header) else None,
                dtype=_dtypes(columns, dtype, byte_like),
                engine="c",
                compression=compression(path),
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
    return frame


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
    with path.open("rb") as handle:
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
        self._unsafe = [c.encode() for c in '" \t' if c != delimiter]

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
        pd.read_csv(
            path,
            sep=delimiter,
            usecols=numeric,
            dtype=str,
            chunksize=65536,
            compression=compression(path),
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
    handle: Any = _KeptReads(sys.stdin) if str(source) == STDIN else source
    with (
        _kept_read_errors(handle),
        csv_errors(source),
        pd.read_csv(
            handle,
            sep=delimiter,
            chunksize=chunk_rows,
            dtype=dict.fromkeys(text_columns, str),
            quoting=std_csv.QUOTE_MINIMAL,
        ) as reader,
    ):  # the file is closed even when the caller stops early
        yield from reader


class _KeptReads:
    """Stdin as pandas reads it: the end stays the end, and an exception of ``read`` is kept.

    pandas asks for more after the end of the input; a terminal gives the end once per Ctrl-D,
    which the stream's ``read`` has already taken, so one Ctrl-D would not be enough. pandas' C
    parser can also turn the ``KeyboardInterrupt`` of a Ctrl-C that arrives while it waits for
    input into ``ParserError: ... Calling read(nbytes) on source failed``; `_kept_read_errors`
    raises the kept exception instead, so Ctrl-C stays an interruption (exit 130).
    """

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.raised: BaseException | None = None
        self.ended = False

    def read(self, size: int = -1) -> Any:
        if self.ended:
            return ""
        try:
            data = self.stream.read(size)
        except BaseException as error:
            self.raised = error
            raise
        # A text stream returns less than asked only at the end (it reads until it has enough).
        self.ended = size is None or size < 0 or len(data) < size
        return data

    def __iter__(self) -> Iterator[str]:
        return iter(self.stream)


@contextmanager
def _kept_read_errors(handle: Any) -> Iterator[None]:
    """Raise what the stream's ``read`` raised, not the error pandas made of it."""
    try:
        yield
    except Exception:
        raised = getattr(handle, "raised", None)
        if raised is not None:
            raise raised from None
        raise
