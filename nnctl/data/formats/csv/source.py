"""A CSV source opened for pandas, and its errors as `DataError` messages that name it.

A source is a file (plain or gzip, told by its magic number), a pipe, or ``-`` for stdin.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, TextIO, cast

import pandas as pd

from nnctl.data.files import is_gzip
from nnctl.data.inputs import Input, open_input
from nnctl.data.limits import inflate_limit
from nnctl.errors import DataError

READ_FAILED = "Calling read(nbytes) on source failed"
STDIN = "-"


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


def positional_index(frame: pd.DataFrame, start: int = 0) -> bool:
    """Whether ``frame``'s rows are numbered ``start, start + 1, ...`` as pandas numbers them.

    When the first row of a file has more values than its header has names, pandas takes the
    extra leading values as an index instead ("implicit index"), and every value lands under the
    column before its own, with no error. The index then holds the file's values, not positions
    (unless those values are the positions, a row-number column without a name, which pandas
    reads right).
    """
    return bool(frame.index.equals(pd.RangeIndex(start, start + len(frame))))
