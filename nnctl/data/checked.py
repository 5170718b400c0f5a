"""A data stream checked as it is read, and the error of an input that cannot be read.

Every problem is a `DataError` naming the file and, where there is one, the byte: a truncated or
corrupt gzip stream, more than the cap of inflated bytes, and for text a NUL byte, a byte that is
not UTF-8 or a line longer than `MAX_LINE_BYTES`.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import gzip
import io
import zlib
from pathlib import Path
from typing import Any

from nnctl.data.limits import LIMIT_ENV, size_text
from nnctl.errors import DataError

MAX_LINE_BYTES = 64 << 20
"""A CSV line longer than this is refused: no table has rows that wide; /dev/zero has no lines."""
#: Datasets that ``nnctl data fetch`` downloads, by the folder their files are in.
FETCHABLE = ("mnist", "fashion-mnist")


def fetch_hint(path: Path) -> str | None:
    """The ``nnctl data fetch`` command that creates ``path``, if a fetchable dataset has it."""
    for part in reversed(path.parts[:-1]):
        if part.lower() in FETCHABLE:
            return f"run `nnctl data fetch {part.lower()}` to download it"
    return None


def open_error(error: OSError, name: str, what: str) -> DataError:
    """The `DataError` for a file that cannot be opened or read: no such file, permission..."""
    if error.errno == errno.ENOENT:
        return DataError(f"{name}: no such file ({what})", hint=fetch_hint(Path(name)))
    if error.errno == errno.EISDIR:
        return DataError(f"{name}: is a directory; expected a file ({what})")
    if error.errno in (errno.EACCES, errno.EPERM):
        return DataError(
            f"{name}: permission denied: cannot read the {what}",
            hint=f"check the file's permissions (ls -l {name})",
        )
    return DataError(f"{name}: cannot read the {what}: {error.strerror or error}")


class Checked(io.RawIOBase):
    """A data stream that turns every problem into a `DataError` naming the byte where it is.

    Inflating errors (truncated or corrupt gzip), more than ``limit`` bytes, and with ``text``:
    a NUL byte, a byte that is not UTF-8, a line longer than `MAX_LINE_BYTES`.
    """

    def __init__(self, inner: Any, name: str, *, text: bool, limit: int | None) -> None:
        super().__init__()
        self.inner, self.name, self.text, self.limit = inner, name, text, limit
        self.offset = self.lines = self.line_bytes = 0
        self.gzip = False
        self.failure: BaseException | None = None
        self.ended = False
        self.decoder = codecs.getincrementaldecoder("utf-8")()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            return self._readinto(buffer)
        except BaseException as error:  # kept for `open_input`, which may see another error
            self.failure = error
            raise

    def _readinto(self, buffer: Any) -> int:
        if self.ended:
            # The end stays the end: pandas asks again after it, and a terminal would wait for
            # a second Ctrl-D (each one ends one read).
            return 0
        try:
            n: int = self.inner.readinto(buffer)
        except EOFError:
            raise DataError(
                f"{self.name}: truncated gzip file: it ends before the end of its data "
                f"(after {self.offset} bytes of data)",
                hint="download or copy the file again",
            ) from None
        except (gzip.BadGzipFile, zlib.error) as error:
            raise DataError(f"{self.name}: corrupt gzip file: {error}") from None
        except OSError as error:
            raise open_error(error, self.name, "data file") from None
        if self.limit is not None and self.offset + n > self.limit:
            raise DataError(
                f"{self.name}: the gzip file inflates to more than {size_text(self.limit)}; "
                f"nnctl reads at most that much (${LIMIT_ENV} to change it)",
                hint="is it a gzip bomb? decompress it yourself if it is really that large",
            )
        if self.text:
            self._check_text(bytes(memoryview(buffer)[:n]))
        self.offset += n
        self.ended = n == 0 and len(buffer) > 0
        return n

    def _where(self, block: bytes, index: int) -> str:
        line = self.lines + block.count(b"\n", 0, max(index, 0)) + 1
        unzipped = " of the decompressed data" if self.gzip else ""
        return f"line {line}, byte offset {self.offset + index}{unzipped}"

    def _check_text(self, block: bytes) -> None:
        nul = block.find(b"\0")
        if nul >= 0:
            raise DataError(
                f"{self.name}: not text: a NUL byte ({self._where(block, nul)}): is it a CSV file?"
            )
        pending = len(self.decoder.getstate()[0])
        try:
            if pending or not block.isascii():  # ASCII is UTF-8: the usual block is not decoded
                self.decoder.decode(block, final=not block)
        except UnicodeDecodeError as error:
            where = self._where(block, error.start - pending)
            raise DataError(f"{self.name}: not UTF-8 text ({where}): is it a CSV file?") from None
        end = max(block.rfind(b"\n"), block.rfind(b"\r"))
        self.line_bytes = self.line_bytes + len(block) if end < 0 else len(block) - end - 1
        self.lines += block.count(b"\n")
        if self.line_bytes > MAX_LINE_BYTES:
            start = self.offset + len(block) - self.line_bytes
            raise DataError(
                f"{self.name}: line {self.lines + 1} (from byte offset {start}) is longer than "
                f"{size_text(MAX_LINE_BYTES)}: is it a CSV file?"
            )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if isinstance(self.inner, gzip.GzipFile):
                self.inner.close()
        super().close()
