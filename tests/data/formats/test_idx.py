"""IDX reading: round trips, and every malformed file a `DataError` naming the file."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from nnctl.data.formats.idx import (
    encode_idx,
    read_idx,
    read_images,
    read_labels,
    read_shape,
    write_idx,
)
from nnctl.errors import DataError


@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
def test_images_round_trip_raw_and_gzip(tmp_path: Path, name: str) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4) * 10
    write_idx(tmp_path / name, images)
    X = read_images(tmp_path / name)
    assert X.shape == (2, 12) and X.dtype == np.float32
    np.testing.assert_allclose(X, images.reshape(2, 12) / 255, rtol=1e-6)
    assert X.min() >= 0 and X.max() <= 1
    assert read_shape(tmp_path / name) == (2, 3, 4)


def test_labels_and_other_types(tmp_path: Path) -> None:
    write_idx(tmp_path / "l.gz", np.array([3, 1, 4], dtype=np.uint8))
    assert read_labels(tmp_path / "l.gz").tolist() == [3, 1, 4]
    values = np.array([[1.5, -2.0]], dtype=np.float32)
    write_idx(tmp_path / "f", values)
    np.testing.assert_array_equal(read_idx(tmp_path / "f"), values)


def test_gzip_output_is_byte_reproducible(tmp_path: Path) -> None:
    images = np.zeros((2, 2, 2), dtype=np.uint8)
    write_idx(tmp_path / "a.gz", images)
    write_idx(tmp_path / "b.gz", images)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


def test_wrong_magic_number(tmp_path: Path) -> None:
    (tmp_path / "bad").write_bytes(b"\x12\x34\x08\x03" + bytes(12))
    with pytest.raises(DataError, match=r"bad: not an IDX file: bad magic number 0x12340803 at"):
        read_images(tmp_path / "bad")


def test_truncated_payload_names_offsets(tmp_path: Path) -> None:
    data = encode_idx(np.zeros((3, 2, 2), dtype=np.uint8))
    (tmp_path / "short").write_bytes(data[:-5])
    with pytest.raises(DataError, match=r"short: truncated IDX file.*12 bytes.*16.*offset 23"):
        read_images(tmp_path / "short")


def test_trailing_bytes(tmp_path: Path) -> None:
    (tmp_path / "long").write_bytes(encode_idx(np.zeros(3, dtype=np.uint8)) + b"xx")
    with pytest.raises(DataError, match=r"long: 2 unexpected bytes .*offset 11"):
        read_labels(tmp_path / "long")


def test_wrong_dimension_count(tmp_path: Path) -> None:
    write_idx(tmp_path / "labels", np.zeros(3, dtype=np.uint8))
    with pytest.raises(DataError, match=r"labels: .*1 dimensions .*expected 3"):
        read_images(tmp_path / "labels")


def test_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress(encode_idx(np.zeros((50, 8, 8), dtype=np.uint8)), mtime=0)
    (tmp_path / "t.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"t.gz: truncated gzip file"):
        read_images(tmp_path / "t.gz")


def test_corrupt_gzip(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(encode_idx(np.arange(64, dtype=np.uint8)), mtime=0))
    data[12:20] = b"\xff" * 8
    (tmp_path / "c.gz").write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"c.gz: (corrupt|truncated) gzip file"):
        read_labels(tmp_path / "c.gz")


def test_missing_empty_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nothere: no such file"):
        read_images(tmp_path / "nothere")
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(DataError, match=r"empty: the file is empty"):
        read_images(tmp_path / "empty")
    with pytest.raises(DataError, match=r"is a directory"):
        read_images(tmp_path)


def test_missing_mnist_file_hints_at_fetch(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        read_images(tmp_path / "mnist" / "train-images-idx3-ubyte.gz")
    assert info.value.hint == "run `nnctl data fetch mnist` to download it"
