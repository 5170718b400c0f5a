"""Opening a data input, one way for every command: a file, a pipe or device, or ``-`` (stdin).

`open_input` is the only way nnctl opens a data file. It

- accepts a regular file, a FIFO, a pipe (``<(cut ...)``, ``/dev/fd/N``), a character device or
  ``-`` for stdin; a missing file, a directory or a file the user may not read is a `DataError`
  naming it;
- decides gzip by the first two bytes (the magic ``1f 8b``), never by the name, for every kind of
  input (from a pipe, the two bytes are read and kept);
- judges emptiness by reading, since a pipe's ``st_size`` is 0;
- checks the data as it streams through (`nnctl.data.checked.Checked`): inflated gzip data past
  a cap, and for text a NUL byte, a byte that is not UTF-8 or a line longer than
  `~nnctl.data.checked.MAX_LINE_BYTES` are `DataError` naming the line and byte offset, so no
  input is ever read whole into memory without a limit.

A pipe can be read only once, but training reads its files several times (header, sample, table,
sha256). So, unless the caller reads it once (``once=True``: predict's stream), a pipe is copied
on first use to a private temporary file (`_spool`), at most `inflate_limit` bytes, and every
later open of the same name reads that copy.
"""

from __future__ import annotations

import atexit
import contextlib
import gzip
import hashlib
import io
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnctl.data.checked import Checked, open_error
from nnctl.data.limits import LIMIT_ENV, inflate_limit, size_text
from nnctl.errors import DataError

STDIN = "-"
GZIP_MAGIC = b"\x1f\x8b"
BLOCK = 1 << 18

_spooled: dict[str, Path] = {}
_spool_dir: list[str] = []


def display_name(source: str | os.PathLike[str]) -> str:
    """How an input is named in messages: its path, or ``<stdin>`` for ``-``."""
    return "<stdin>" if str(source) == STDIN else str(source)


@dataclass
class Input:
    """An opened input: its data stream (inflated and checked) and what kind of file it was."""

    name: str
    stream: io.RawIOBase | io.BufferedIOBase
    gzip: bool
    size: int | None
    """Bytes of the file as stored (compressed, for gzip), when known."""


@contextlib.contextmanager
def open_raw(source: str | Path, what: str = "data file", *, once: bool = False) -> Iterator[Input]:
    """The stored bytes of an input, as they are (not inflated); empty or unreadable: `DataError`.

    A pipe, a device or stdin is copied to a temporary file first unless ``once`` (`_spool`).
    """
    name = display_name(source)
    key = str(source)
    if key in _spooled:
        source = _spooled[key]
    try:
        handle = _stdin() if key == STDIN and key not in _spooled else io.FileIO(source, "rb")
    except OSError as error:
        raise open_error(error, name, what) from None
    with handle:
        mode = os.fstat(handle.fileno()).st_mode if isinstance(handle, io.FileIO) else 0
        if stat.S_ISDIR(mode):
            raise DataError(f"{name}: is a directory; expected a file ({what})")
        regular = stat.S_ISREG(mode) and key != STDIN  # stdin: read from where it is
        size = os.fstat(handle.fileno()).st_size if regular else None
        if not regular and not once:
            copy = _spool(handle, key, name, what)
            with io.FileIO(copy, "rb") as spooled:
                head = os.pread(spooled.fileno(), 2, 0)
                yield Input(name, spooled, head == GZIP_MAGIC, os.path.getsize(copy))
                return
        if size == 0:
            raise DataError(f"{name}: the file is empty ({what})")
        head = os.pread(handle.fileno(), 2, 0) if regular else _read_up_to(handle, 2, name, what)
        if not head:
            raise DataError(f"{name}: the input is empty ({what})")
        stream = handle if regular else Prefixed(head, handle)
        yield Input(name, stream, head == GZIP_MAGIC, size)


def _stdin() -> io.RawIOBase:
    """Stdin's bytes: its file descriptor, else (a test's replacement) what its ``read`` gives."""
    try:
        return io.FileIO(os.dup(sys.stdin.fileno()), "rb")
    except (AttributeError, ValueError, io.UnsupportedOperation):
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is not None:
            return Prefixed(b"", buffer.read)
        return Prefixed(b"", lambda n: sys.stdin.read(n).encode("utf-8"))


def _read_up_to(handle: io.RawIOBase, n_bytes: int, name: str, what: str) -> bytes:
    data = b""
    try:
        while len(data) < n_bytes and (piece := handle.read(n_bytes - len(data))):
            data += piece
    except OSError as error:
        raise open_error(error, name, what) from None
    return data


def _spool(handle: io.RawIOBase, key: str, name: str, what: str) -> Path:
    """Copy a pipe or device to a private temporary file, at most `inflate_limit` bytes."""
    limit, done = inflate_limit(), 0
    try:
        if not _spool_dir:
            _spool_dir.append(tempfile.mkdtemp(prefix="nnctl-input-"))
            atexit.register(shutil.rmtree, _spool_dir[0], True)
        fd, copy = tempfile.mkstemp(dir=_spool_dir[0])
        with os.fdopen(fd, "wb") as out:
            while block := _read_block(handle, name, what):
                done += len(block)
                if done > limit:
                    raise DataError(
                        f"{name}: more than {size_text(limit)} from a pipe or device ({what}); "
                        f"nnctl reads at most that much (${LIMIT_ENV} to change it)",
                        hint="is it the right file?",
                    )
                out.write(block)
    except OSError as error:
        raise DataError(
            f"{name}: cannot copy the pipe to a temporary file in {tempfile.gettempdir()}: "
            f"{error.strerror or error} ({what})",
            hint="free some space there, or set TMPDIR to a folder with room",
        ) from None
    if done == 0:
        raise DataError(f"{name}: the input is empty ({what})")
    _spooled[key] = Path(copy)
    return Path(copy)


def _read_block(handle: io.RawIOBase, name: str, what: str) -> bytes:
    try:
        return handle.read(BLOCK) or b""
    except OSError as error:
        raise open_error(error, name, what) from None


class Prefixed(io.RawIOBase):
    """A stream's first bytes, already read to look at them, then the rest of the stream."""

    def __init__(self, head: bytes, rest: io.RawIOBase | Callable[[int], bytes]) -> None:
        super().__init__()
        self.head = head
        self.rest = rest.read if isinstance(rest, io.RawIOBase) else rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self.head:
            self.head = self.rest(len(buffer)) or b""
        n = min(len(buffer), len(self.head))
        buffer[:n] = self.head[:n]
        self.head = self.head[n:]
        return n


@contextlib.contextmanager
def open_input(
    source: str | Path,
    what: str = "data file",
    *,
    text: bool = False,
    max_inflated: int | None = None,
    once: bool = False,
) -> Iterator[Input]:
    """Open a data input for reading: its data, inflated when it is gzip, checked as it streams.

    Parameters
    ----------
    source
        A path (a file, a FIFO, ``/dev/fd/N``, a device) or ``-`` for stdin.
    what
        What the file is for, in messages: ``"CSV file"``, ``"images file"``.
    text
        Check that the data is UTF-8 text without NUL bytes or endless lines (CSV).
    max_inflated
        The most bytes a gzip input may inflate to (a gzip bomb is a `DataError` past it).
    once
        The caller reads the input once, start to end: a pipe is streamed, not copied first.
    """
    with open_raw(source, what, once=once) as raw:
        inner: Any = raw.stream
        if raw.gzip:
            inner = gzip.GzipFile(fileobj=inner, mode="rb")
        checked = Checked(inner, raw.name, text=text, limit=max_inflated if raw.gzip else None)
        checked.gzip = raw.gzip
        with io.BufferedReader(checked, BLOCK) as stream:
            try:
                yield Input(raw.name, stream, raw.gzip, raw.size)
            except Exception as error:
                # pandas' C parser may report a read that raised (a DataError, or the Ctrl-C
                # that arrived during it) as "Calling read(nbytes) on source failed": the
                # stream's own failure is the cause to report.
                if checked.failure is not None and checked.failure is not error:
                    raise checked.failure from None
                raise


def input_sha256(source: str | Path, what: str = "data file") -> str:
    """Hex SHA-256 of an input's stored bytes (of the copy read, for a pipe)."""
    digest = hashlib.sha256()
    with open_raw(source, what) as raw:
        while block := raw.stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
