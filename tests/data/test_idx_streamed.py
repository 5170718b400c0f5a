"""IDX training images converted while they inflate give exactly what the usual read gives.

`nnctl.data.fit._images_while_inflating` converts each inflated piece of rows into its place in
the result; the tests make the pieces tiny (``INFLATE_STEP``), so that rows straddle pieces, and
compare every array, label and error message with the usual read (the streamed path switched off).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from datahelp import make_config

import nnctl.data.files as files_module
import nnctl.data.fit as fit_module
from nnctl.data import load_training_data
from nnctl.data.formats.idx import encode_idx, write_idx
from nnctl.errors import DataError


class Streaming:
    """Switches the streamed conversion on or off; records whether it produced the result."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.results: list[Any] = []
        self.original = fit_module._images_while_inflating
        monkeypatch.setattr(files_module, "INFLATE_STEP", 97)

    def on(self) -> None:
        self.results.clear()

        def recording(*args: Any) -> Any:
            result = self.original(*args)
            self.results.append(result)
            return result

        self.monkeypatch.setattr(fit_module, "_images_while_inflating", recording)

    def off(self) -> None:
        self.monkeypatch.setattr(fit_module, "_images_while_inflating", lambda *args: None)

    @property
    def used(self) -> bool:
        return any(result is not None for result in self.results)


@pytest.fixture
def streaming(monkeypatch: pytest.MonkeyPatch) -> Streaming:
    return Streaming(monkeypatch)


def images(n: int, side: int = 9, seed: int = 0) -> Any:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)


def files(folder: Path, pixels: Any, labels: Any) -> tuple[Path, Path]:
    images_path = folder / "train-images-idx3-ubyte.gz"
    labels_path = folder / "train-labels-idx1-ubyte.gz"
    write_idx(images_path, pixels)
    write_idx(labels_path, labels)
    return images_path, labels_path


def config(images_path: Path, labels_path: Path, **data: Any) -> Any:
    return make_config(
        {
            "train": images_path,
            "train_labels": labels_path,
            "validation_split": 0.2,
            "test_split": 0.1,
            **data,
        },
        units=3,
    )


def outcome(cfg: Any, dtype: type[np.floating] = np.float32) -> Any:
    try:
        return load_training_data(cfg, dtype=dtype)
    except DataError as error:
        return error


def assert_same(a: Any, b: Any) -> None:
    if isinstance(b, DataError):
        assert isinstance(a, DataError) and (a.message, a.hint) == (b.message, b.hint)
        return
    assert not isinstance(a, DataError), a
    for name in ("train", "validation", "test"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is None:
            continue
        assert x.X.dtype == y.X.dtype and x.X.shape == y.X.shape and x.X.flags.c_contiguous
        np.testing.assert_array_equal(x.X, y.X, err_msg=name)
        np.testing.assert_array_equal(x.y, y.y, err_msg=name)
    meta_a, arrays_a = a.preprocessor.to_bundle()
    meta_b, arrays_b = b.preprocessor.to_bundle()
    assert meta_a == meta_b
    for key in arrays_a:
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key], err_msg=key)


def both(streaming: Streaming, cfg: Any, dtype: type[np.floating] = np.float32) -> bool:
    """Load with the streamed conversion and without, check they agree; whether it was used."""
    streaming.on()
    streamed = outcome(cfg, dtype)
    used = streaming.used
    streaming.off()
    assert_same(streamed, outcome(cfg, dtype))
    return used


@pytest.mark.parametrize("normalize", ["none", "standard", "minmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_streamed_images_match_the_usual_read(
    tmp_path: Path, streaming: Streaming, normalize: str, dtype: type[np.floating]
) -> None:
    pixels = images(301)
    paths = files(tmp_path, pixels, (np.arange(301) % 3).astype(np.uint8))
    assert both(streaming, config(*paths, normalize=normalize), dtype)


def test_every_row_is_served_once_in_split_order(tmp_path: Path, streaming: Streaming) -> None:
    pixels = images(120, side=5)
    paths = files(tmp_path, pixels, (np.arange(120) % 3).astype(np.uint8))
    streaming.on()
    ds = load_training_data(config(*paths, normalize="none"))
    assert streaming.used
    X = np.concatenate([ds.train.X, ds.validation.X, ds.test.X])  # type: ignore[union-attr]
    expected = np.sort(pixels.reshape(120, -1).astype(np.float32) / np.float32(255), axis=0)
    np.testing.assert_array_equal(np.sort(X, axis=0), expected)


def test_a_plain_images_file_is_read_as_usual(tmp_path: Path, streaming: Streaming) -> None:
    images_path, labels_path = files(tmp_path, images(60), (np.arange(60) % 3).astype(np.uint8))
    plain = tmp_path / "train-images-idx3-ubyte"
    plain.write_bytes(gzip.decompress(images_path.read_bytes()))
    assert not both(streaming, config(plain, labels_path))


def damaged(kind: str, data: bytes) -> bytes:
    whole = gzip.compress(data, mtime=0)
    return {
        "cut": whole[: len(whole) // 2],
        "crc": whole[:-8] + bytes(4) + whole[-4:],
        "padding": whole + b"\0" * 8,
        "two members": gzip.compress(data[:100], mtime=0) + gzip.compress(data[100:], mtime=0),
        "short data": gzip.compress(data[:-5], mtime=0),
        "extra data": gzip.compress(data + b"\1\2\3", mtime=0),
        "garbage": b"\x1f\x8b" + b"\0" * 40,
    }[kind]


@pytest.mark.parametrize(
    "kind", ["cut", "crc", "padding", "two members", "short data", "extra data", "garbage"]
)
def test_damaged_or_unusual_gzip_gives_the_usual_outcome(
    tmp_path: Path, streaming: Streaming, kind: str
) -> None:
    images_path, labels_path = files(tmp_path, images(60), (np.arange(60) % 3).astype(np.uint8))
    images_path.write_bytes(damaged(kind, encode_idx(images(60))))
    assert not both(streaming, config(images_path, labels_path))


@pytest.mark.parametrize(
    "problem", ["labels count", "one class", "labels missing", "int images", "2-d images"]
)
def test_other_problems_give_the_usual_error(
    tmp_path: Path, streaming: Streaming, problem: str
) -> None:
    pixels = images(60)
    labels = (np.arange(60) % 3).astype(np.uint8)
    if problem == "labels count":
        labels = labels[:-1]
    if problem == "one class":
        labels = np.zeros(60, dtype=np.uint8)
    images_path, labels_path = files(tmp_path, pixels, labels)
    if problem == "labels missing":
        labels_path.unlink()
    if problem == "int images":
        write_idx(images_path, pixels.astype(np.int32))
    if problem == "2-d images":
        write_idx(images_path, pixels.reshape(60, -1))
    used = both(streaming, config(images_path, labels_path))
    # One class is refused after the images are read, whichever way they were read.
    assert used == (problem == "one class")
