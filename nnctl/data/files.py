"""Checks and reads shared by every data format: the file exists, is a file, is not empty.

Every input is opened by `nnctl.data.inputs.open_input`: compressed files are recognised by
their first two bytes (the gzip magic ``1f 8b``), not their name, so a ``.gz`` that is really
plain text is still read, and a corrupt or truncated archive is a `DataError` that names the file
instead of a ``zlib`` traceback.
"""

from __future__ import annotations

import contextlib
import ctypes
import queue
import stat
import threading
import zlib
from collections.abc import Generator
from pathlib import Path

from nnctl.data.checked import open_error
from nnctl.data.inputs import GZIP_MAGIC as GZIP_MAGIC
from nnctl.data.inputs import STDIN, open_input, open_raw
from nnctl.errors import DataError

INFLATE_STEP = 1 << 17  # compressed bytes inflated at a time by `inflate_in_pieces`


def release_freed_memory() -> None:
    """Ask the C library to hand freed heap memory back to the system (glibc only; else nothing).

    pandas keeps each column of a wide table in its own heap allocation; once the table is freed,
    glibc keeps those pages unless asked, and the next large array would come on top of them.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def check_file(path: Path, what: str = "data file") -> Path:
    """Return ``path`` if it can be opened as a data input, else raise a `DataError` naming it.

    A regular file must be readable and not empty; a FIFO, pipe or device is not opened here (a
    writer at the other end would see its reader go away): `open_input` judges it by reading.

    Parameters
    ----------
    path
        The file to check.
    what
        What the file is for, used in the message: ``"training data"``, ``"labels file"``.
    """
    if str(path) == STDIN:
        return path
    try:
        info = path.stat()
    except OSError as error:
        raise open_error(error, str(path), what) from None
    if stat.S_ISDIR(info.st_mode):
        raise DataError(f"{path}: is a directory; expected a file ({what})")
    if stat.S_ISREG(info.st_mode):
        try:
            path.open("rb").close()
        except OSError as error:
            raise open_error(error, str(path), what) from None
        if info.st_size == 0:
            raise DataError(f"{path}: the file is empty ({what})")
    return path


def is_gzip(path: Path) -> bool:
    """Whether the input starts with the gzip magic number (``False`` when it cannot be read)."""
    try:
        with open_raw(path) as raw:
            return raw.gzip
    except DataError:
        return False


def read_head(path: Path, n_bytes: int, what: str = "data file") -> bytes:
    """The first ``n_bytes`` of the (decompressed) input, for reading headers only."""
    with open_input(path, what) as opened:
        return opened.stream.read(n_bytes)


class NotOneMember(ValueError):
    """Raised by `inflate_in_pieces`: the data is not exactly one valid gzip member."""


def inflate_in_pieces(raw: bytes) -> Generator[bytes, None, None]:
    """The data of a single-member gzip file, inflated on a helper thread, a piece at a time.

    zlib releases the GIL while it inflates, so the caller can use each piece while the next is
    being inflated. After the last piece, raises `NotOneMember` unless ``raw`` was exactly one
    valid member (CRC and length checked, nothing after it): the usual read then names the
    problem.
    Closing the generator early stops the helper.
    """
    pieces: queue.SimpleQueue[bytes | BaseException | None] = queue.SimpleQueue()
    stop = threading.Event()

    def inflate() -> None:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        view = memoryview(raw)
        try:
            for start in range(0, len(view), INFLATE_STEP):
                if stop.is_set():
                    return
                piece = inflater.decompress(view[start : start + INFLATE_STEP])
                if piece:
                    pieces.put(piece)
                if inflater.eof:
                    break
            if not inflater.eof or inflater.unused_data:
                pieces.put(NotOneMember("not exactly one gzip member"))
                return
        except zlib.error as error:
            pieces.put(NotOneMember(str(error)))
            return
        except BaseException as error:  # handed to the caller's thread
            pieces.put(error)
            return
        pieces.put(None)

    helper = threading.Thread(target=inflate, name="nnctl-inflate", daemon=True)
    helper.start()
    try:
        while (piece := pieces.get()) is not None:
            if isinstance(piece, BaseException):
                raise piece
            yield piece
    finally:
        stop.set()
        helper.join()
