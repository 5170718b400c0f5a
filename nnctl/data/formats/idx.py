"""MNIST-style IDX files: idx3 images and idx1 labels, raw or gzip-compressed.

The format (LeCun et al., "THE MNIST DATABASE of handwritten digits") is a 4-byte magic number
``00 00 TT DD`` -- two zero bytes, a type code ``TT`` and the number of dimensions ``DD`` -- then
``DD`` big-endian 32-bit sizes, then the values in row-major (C) order, big-endian. MNIST's
images are ``TT = 0x08`` (unsigned bytes), ``DD = 3`` (count, rows, columns); its labels are
``TT = 0x08``, ``DD = 1``.

Reading checks the size the header claims against the file (and the memory available) before
taking any memory, then reads exactly that many bytes, inflating a gzip file as it goes, and
converts them to float32 in a single pass: the 60,000 MNIST training images take one float32 copy
(188 MB) plus the 47 MB of raw bytes while they are read.
"""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from nnctl.data.files import read_head
from nnctl.data.inputs import open_input
from nnctl.data.limits import GZIP_MAX_RATIO, memory_limit, size_text
from nnctl.errors import DataError

#: IDX type code -> big-endian NumPy dtype.
IDX_TYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
TYPE_CODES = {np.dtype(v).newbyteorder(">").str: k for k, v in IDX_TYPES.items()}


def parse_header(head: bytes, path: Path) -> tuple[np.dtype[np.generic], tuple[int, ...], int]:
    """Validate an IDX header; return the value dtype, the shape and the payload's byte offset."""
    if len(head) < 4:
        raise DataError(f"{path}: not an IDX file: {len(head)} bytes, shorter than the header")
    zero, type_code, ndim = struct.unpack(">HBB", head[:4])
    if zero != 0 or type_code not in IDX_TYPES:
        raise DataError(
            f"{path}: not an IDX file: bad magic number 0x{head[:4].hex()} at byte offset 0",
            hint="IDX files start with 00 00, a type byte (08 for unsigned bytes) and a rank byte",
        )
    if ndim == 0:
        raise DataError(f"{path}: IDX header at byte offset 3 gives 0 dimensions")
    offset = 4 + 4 * ndim
    if len(head) < offset:
        raise DataError(
            f"{path}: truncated IDX header: {ndim} dimensions need {offset} bytes, "
            f"the file has {len(head)}"
        )
    shape = struct.unpack(f">{ndim}I", head[4:offset])
    return np.dtype(IDX_TYPES[type_code]), tuple(int(s) for s in shape), offset


def read_idx(path: Path, ndim: int | None = None, what: str = "IDX file") -> NDArray[np.generic]:
    """Read an IDX file into an array of its own dtype and shape (native byte order).

    The header is read first and the size it claims checked (`claim_problem`) before any memory
    is taken; then exactly that many bytes are read, so a gzip bomb inflates no further.

    Parameters
    ----------
    path
        The file, raw or gzip (or a pipe, or ``-`` for stdin).
    ndim
        The number of dimensions expected (3 for images, 1 for labels); ``None`` accepts any.
    what
        What the file is for, used in error messages.
    """
    with open_input(path, what) as opened:
        head = opened.stream.read(4)
        head += opened.stream.read(4 * head[3]) if len(head) == 4 else b""
        dtype, shape, offset = parse_header(head, path)
        check_dims(path, shape, ndim, what)
        expected = math.prod(shape) * dtype.itemsize  # Python ints: 2**32 ** 3 does not overflow
        problem = claim_problem(path, expected, offset, shape, opened.gzip, opened.size)
        if problem is not None:
            raise problem
        data = bytearray(expected)
        found, view = 0, memoryview(data)
        while found < expected and (n := opened.stream.readinto(view[found:])):
            found += n
        del view
        if found < expected:
            raise _truncated(path, expected, offset, shape, offset + found)
        extra = len(opened.stream.read(EXTRA_SHOWN + 1))
    if extra:
        raise extra_bytes(path, extra, offset + expected)
    values = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize)
    return values.reshape(shape).astype(dtype.newbyteorder("="), copy=False)


EXTRA_SHOWN = 1 << 20
"""Bytes after the data that are counted in the message (more are "more than" that)."""


def extra_bytes(path: Path, extra: int, end: int) -> DataError:
    """The error for ``extra`` bytes after the data the header promised, which ends at ``end``."""
    many = "more than " if extra > EXTRA_SHOWN else ""
    return DataError(
        f"{path}: {many}{min(extra, EXTRA_SHOWN)} unexpected bytes after the IDX data, "
        f"from byte offset {end}"
    )


def check_dims(path: Path, shape: tuple[int, ...], ndim: int | None, what: str) -> None:
    """Raise a `DataError` unless a header's shape has ``ndim`` dimensions, none of them 0."""
    if ndim is not None and len(shape) != ndim:
        raise DataError(
            f"{path}: the IDX header at byte offset 3 gives {len(shape)} dimensions "
            f"{list(shape)}; expected {ndim} for {what}"
        )
    for axis, size in enumerate(shape):
        if size == 0:
            raise DataError(
                f"{path}: the IDX header gives size 0 at byte offset {4 + 4 * axis} "
                f"(shape {list(shape)}): the {what} holds no data"
            )


def _truncated(
    path: Path, expected: int, offset: int, shape: tuple[int, ...], end: int, why: str = ""
) -> DataError:
    return DataError(
        f"{path}: truncated IDX file: the header promises {expected} bytes of data after "
        f"byte offset {offset} for shape {list(shape)}, the file ends at byte offset {end}{why}",
        hint="download or copy the file again",
    )


def claim_problem(
    path: Path, expected: int, offset: int, shape: tuple[int, ...], gzip: bool, size: int | None
) -> DataError | None:
    """Why the ``expected`` bytes an IDX header claims cannot be there or cannot be held, or None.

    A plain file of ``size`` bytes holds ``size - offset`` bytes of data; a gzip file at most
    ``size * GZIP_MAX_RATIO`` (deflate's largest ratio). And no claim larger than the memory
    available (`memory_limit`) is believed, whatever the file: reading it would fail anyway.
    """
    if size is not None and not gzip and expected > size - offset:
        return _truncated(path, expected, offset, shape, size)
    if size is not None and gzip and offset + expected > size * GZIP_MAX_RATIO:
        return _truncated(
            path,
            expected,
            offset,
            shape,
            size,
            f" (a gzip file of {size} bytes inflates to "
            f"at most {size_text(size * GZIP_MAX_RATIO)})",
        )
    if expected > memory_limit():
        return DataError(
            f"{path}: the IDX header claims {size_text(expected)} of data for shape "
            f"{list(shape)} (byte offsets 4 to {offset - 1}), more than the "
            f"{size_text(memory_limit())} of memory available; refused before reading it",
        )
    return None


def read_images(path: Path, dtype: type[np.floating] = np.float32) -> NDArray[np.floating]:
    """Read an idx3 file of unsigned-byte images as float vectors in [0, 1].

    Returns
    -------
    ndarray, shape (n_images, rows * columns)
        ``pixels / 255``, computed straight into one array of ``dtype``.
    """
    images = read_idx(path, ndim=3, what="images file")
    check_image_type(path, images)
    flat = images.reshape(images.shape[0], -1)
    out = flat.astype(dtype)
    out /= dtype(255)
    return out


def read_labels(path: Path) -> NDArray[np.int64]:
    """Read an idx1 labels file as int64 class labels, shape (n,)."""
    labels = read_idx(path, ndim=1, what="labels file")
    if labels.dtype.kind not in "iu":
        raise DataError(
            f"{path}: labels of type {labels.dtype} (IDX type 0x{TYPE_CODES[_big(labels)]:02x} "
            "at byte offset 2); expected integers"
        )
    return labels.astype(np.int64)


def check_image_type(path: Path, images: NDArray[np.generic]) -> None:
    """Raise a `DataError` unless an images array holds unsigned bytes (IDX type 0x08)."""
    if images.dtype != np.uint8:
        raise DataError(
            f"{path}: images of type {images.dtype} (IDX type 0x{TYPE_CODES[_big(images)]:02x} "
            "at byte offset 2); expected unsigned bytes (type 0x08)"
        )


def check_image_shape(
    path: Path, images: NDArray[np.generic], expected: tuple[int, ...] | None
) -> None:
    """Raise a `DataError` unless images have the rows x columns a model was trained on."""
    found = tuple(int(s) for s in images.shape[1:])
    if expected is not None and found != tuple(expected):
        raise DataError(
            f"{path}: images of {' x '.join(map(str, found))} pixels (IDX header, byte offsets "
            f"8 to 15); the model was trained on {' x '.join(map(str, expected))}"
        )


def _big(array: NDArray[np.generic]) -> str:
    return np.dtype(array.dtype).newbyteorder(">").str


def read_shape(path: Path, what: str = "IDX file") -> tuple[int, ...]:
    """The shape an IDX file's header declares, reading only the header."""
    head = read_head(path, 4 + 4 * 255, what)
    return parse_header(head, path)[1]


def check_counts(images: Path, n_images: int, labels: Path, n_labels: int) -> None:
    """Raise a `DataError` unless an images file and its labels file have as many entries."""
    if n_images != n_labels:
        raise DataError(
            f"{images} has {n_images} images but {labels} has {n_labels} labels",
            hint="check that the images and labels files belong together",
        )


def encode_idx(array: NDArray[np.generic]) -> bytes:
    """The IDX bytes of ``array`` (header and big-endian values)."""
    big = np.dtype(array.dtype).newbyteorder(">")
    code = TYPE_CODES.get(big.str)
    if code is None:
        raise ValueError(f"IDX cannot hold values of type {array.dtype}")
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, dtype=big).tobytes()


def write_idx(path: Path, array: NDArray[np.generic]) -> None:
    """Write ``array`` as an IDX file; gzip (with mtime 0, so byte-reproducible) if ``.gz``."""
    data = encode_idx(array)
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=9, mtime=0)
    path.write_bytes(data)
