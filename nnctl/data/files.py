"""Checks and reads shared by every data format: the file exists, is a file, is not empty.

Compressed files are recognised by their first two bytes (the gzip magic ``1f 8b``), not their
name, so a ``.gz`` that is really plain text is still read, and a corrupt or truncated archive is
a `DataError` that names the file instead of a ``zlib`` traceback.
"""

from __future__ import annotations

import contextlib
import ctypes
import gzip
import queue
import sys
import threading
import zlib
from collections.abc import Generator
from pathlib import Path

from nnctl.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"
INFLATE_STEP = 1 << 17  # compressed bytes inflated at a time by `inflate_in_pieces`
FETCHABLE = ("mnist", "fashion-mnist")


def release_freed_memory() -> None:
    """Ask the C library to hand freed heap memory back to the system (glibc only; else nothing).

    pandas keeps each column of a wide table in its own heap allocation; once the table is freed,
    glibc keeps those pages unless asked, and the next large array would come on top of them.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def fetch_hint(path: Path) -> str | None:
    """The ``nnctl data fetch`` command that creates ``path``, if a fetchable dataset has it."""
    for part in reversed(path.parts[:-1]):
        if part.lower() in FETCHABLE:
            return f"run `nnctl data fetch {part.lower()}` to download it"
    return None


def check_file(path: Path, what: str = "data file") -> Path:
    """Return ``path`` if it is a non-empty regular file, else raise a `DataError` naming it.

    Parameters
    ----------
    path
        The file to check.
    what
        What the file is for, used in the message: ``"training data"``, ``"labels file"``.
    """
    if not path.exists():
        raise DataError(f"{path}: no such file ({what})", hint=fetch_hint(path))
    if path.is_dir():
        raise DataError(f"{path}: is a directory; expected a file ({what})")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty ({what})")
    return path


def is_gzip(path: Path) -> bool:
    """Whether the file starts with the gzip magic number."""
    with path.open("rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def read_bytes(path: Path, what: str = "data file") -> bytes:
    """The whole content of ``path`` (``-``: stdin), gunzipped when it is gzip; errors name it."""
    if str(path) == "-":
        raw = sys.stdin.buffer.read()
    else:
        check_file(path, what)
        raw = path.read_bytes()
    if raw[:2] != GZIP_MAGIC:
        return raw
    return gunzip(raw, path)


def gunzip(raw: bytes, path: Path) -> bytes:
    """Decompress a whole gzip file, turning a corrupt or truncated archive into a `DataError`.

    The usual file, a single gzip member, is inflated by one zlib call, which also checks the
    member's CRC and length. Anything else -- several members, padding, a corrupt or truncated
    archive -- goes to `gzip.decompress`, which handles every case and names the problem.
    """
    data = _inflate_one_member(raw)
    if data is not None:
        return data
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise DataError(
            f"{path}: truncated gzip file ({len(raw)} bytes): it ends before the end of its data",
            hint="download or copy the file again",
        ) from None
    except (gzip.BadGzipFile, zlib.error) as error:
        raise DataError(f"{path}: corrupt gzip file: {error}") from None


def _inflate_one_member(raw: bytes) -> bytes | None:
    """The data of a gzip file that is exactly one valid member, else ``None``.

    ``gzip.decompress`` reads member after member, then checks each CRC in a second pass over
    the data and joins the pieces; for the usual single member, zlib can do it all at once.
    """
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # 16+: a gzip header and trailer
    try:
        data = inflater.decompress(raw)
    except zlib.error:
        return None
    return data if inflater.eof and not inflater.unused_data else None


def read_head(path: Path, n_bytes: int, what: str = "data file") -> bytes:
    """The first ``n_bytes`` of the (decompressed) file, for reading headers only."""
    check_file(path, what)
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as handle:
                return handle.read(n_bytes)
        with path.open("rb") as handle:
            return handle.read(n_bytes)
    except EOFError:
        raise DataError(f"{path}: truncated gzip file") from None
    except (gzip.BadGzipFile, zlib.error) as error:
        raise DataError(f"{path}: corrupt gzip file: {error}") from None


class NotOneMember(ValueError):
    """Raised by `inflate_in_pieces`: the data is not exactly one valid gzip member."""


def inflate_in_pieces(raw: bytes) -> Generator[bytes, None, None]:
    """The data of a single-member gzip file, inflated on a helper thread, a piece at a time.

    zlib releases the GIL while it inflates, so the caller can use each piece while the next is
    being inflated. After the last piece, raises `NotOneMember` unless ``raw`` was exactly one
    valid member (CRC and length checked, nothing after it): `gunzip` then names the problem.
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
