"""A large plain file of byte columns (pixels) parsed as two halves on two threads.

pandas' tokenizer releases the GIL, so on two cores the halves take less time than one read. They
are used only where the two halves cannot differ from one read (see `read_halves`); whenever they
might, or either half fails, the file is read once (`read.read_table`), so every result and every
error message is that of one read.
"""

from __future__ import annotations

import codecs
import io
import os
import stat
import threading
import warnings
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from nnctl._platform import n_cores
from nnctl.data.files import GZIP_MAGIC
from nnctl.data.formats.csv.columns import SAMPLE_ROWS, CsvColumns
from nnctl.data.formats.csv.source import one_thread, positional_index
from nnctl.data.inputs import open_raw

#: Plain files at least this large are parsed in two halves on two threads (see `read_halves`).
HALVES_MIN_BYTES = 8 << 20
#: A second half starting with one of these (a blank line, a byte-order mark) starts a line later.
_AWKWARD_STARTS = (b"\r", b"\n", codecs.BOM_UTF8[:1])


def halves_apply(columns: CsvColumns, wanted: list[str], header: list[str], delimiter: str) -> bool:
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
            else:  # rows longer than the header: the read of the whole file says so
                if not positional_index(parsed[half]):  # type: ignore[arg-type]
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
