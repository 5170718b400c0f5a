"""The data layer's fast paths give, bit for bit, what the general code gives.

Files of bytes (pixels) are fitted and converted without a float copy of the whole table, and
statistics are summed a chunk at a time; each test compares a fast path with the straightforward
computation it replaces, on small arrays with the chunk size lowered so that chunks really split.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from datahelp import make_config, write_text
from numpy.typing import NDArray

import nnctl.data.fit as fit_module
from nnctl.data import load_training_data
from nnctl.data import numeric as numeric_module
from nnctl.data.encoding import label_keys
from nnctl.data.fit import images_in_order
from nnctl.data.formats.csv import SAMPLE_ROWS
from nnctl.data.formats.idx import encode_idx, read_idx
from nnctl.data.numeric import COLUMNS_PER_BLOCK, NumericTransform, mean_std
from nnctl.errors import DataError


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of a few hundred bytes, so that the small arrays below span many chunks."""
    monkeypatch.setattr(numeric_module, "CHUNK_BYTES", 256)


def reference_mean_std(block: NDArray[Any]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The statistics as nnctl first computed them: a float64 copy of 64 columns at a time."""
    mean = np.zeros(block.shape[1])
    std = np.zeros(block.shape[1])
    for start in range(0, block.shape[1], COLUMNS_PER_BLOCK):
        columns = slice(start, start + COLUMNS_PER_BLOCK)
        x = block[:, columns].astype(np.float64)
        mean[columns] = x.mean(axis=0)
        x -= mean[columns]
        std[columns] = np.sqrt(np.mean(x * x, axis=0))
    return mean, std


def layouts(values: NDArray[Any], n: int) -> dict[str, NDArray[Any]]:
    """The first ``n`` rows of ``values`` as row-major, column-major and strided views."""
    return {
        "row-major": np.ascontiguousarray(values[:n]),
        "column-major": np.asfortranarray(values[:n]),
        "rows of a row-major block": values[:n],
        "rows of a column-major block": np.asfortranarray(values)[:n],
    }


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("k", [1, 2, 5, COLUMNS_PER_BLOCK, COLUMNS_PER_BLOCK + 1, 130])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_mean_std_is_bit_identical_to_the_float64_copy(k: int, dtype: type[Any]) -> None:
    rng = np.random.default_rng(k)
    values = rng.normal(100, 40, size=(1003, k)).clip(0, 255).astype(dtype)
    for name, block in layouts(values, 997).items():
        # Bytes are fitted as read; the general code saw their float32 copy, in the same layout.
        expected = reference_mean_std(block.astype(np.float32) if dtype == np.uint8 else block)
        got = mean_std(block)
        for e, g in zip(expected, got, strict=True):
            np.testing.assert_array_equal(g, e, err_msg=name)


@pytest.mark.usefixtures("small_chunks")
def test_chunked_scaling_is_bit_identical_to_whole_array_arithmetic() -> None:
    rng = np.random.default_rng(0)
    block = rng.normal(5, 3, size=(50, 7)).astype(np.float32)
    transform = NumericTransform(
        fill=np.full(7, np.nan), shift=rng.normal(size=7), divide=rng.uniform(0.5, 2, 7)
    )
    expected = (block - transform.shift.astype(np.float32)) / transform.divide.astype(np.float32)
    transform.scale(block)
    np.testing.assert_array_equal(block, expected)


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("normalize", ["standard", "minmax", "scale", "none"])
@pytest.mark.parametrize("missing", ["error", "mean", "median", "most_frequent"])
def test_fitting_bytes_matches_fitting_their_float_copy(normalize: str, missing: str) -> None:
    rng = np.random.default_rng(3)
    source = rng.integers(0, 256, size=(60, 9), dtype=np.uint8)
    source[:, 4] = 7  # a constant column
    order = rng.permutation(60)
    n_train = 45
    # The general path: a column-major float32 block in split order, fitted and scaled in place.
    block = np.ascontiguousarray(source.T[:, order], dtype=np.float32).T
    expected = NumericTransform.fit_apply(block, n_train, normalize, 255.0, missing)  # type: ignore[arg-type]
    fitted = NumericTransform.fit_bytes(source, order[:n_train], normalize, 255.0, missing)  # type: ignore[arg-type]
    X = fitted.apply_to_bytes(source, order, np.float32)
    for name in ("fill", "shift", "divide"):
        np.testing.assert_array_equal(getattr(fitted, name), getattr(expected, name))
    np.testing.assert_array_equal(X, block)
    assert X.flags.c_contiguous and X.dtype == np.float32


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_images_are_divided_in_chunks_as_a_whole(dtype: type[np.floating]) -> None:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(40, 3, 5), dtype=np.uint8)
    rows = rng.permutation(40)[:33]
    expected = images.reshape(40, -1)[rows].astype(dtype)
    expected /= dtype(255)
    np.testing.assert_array_equal(images_in_order(images, rows, dtype), expected)
    np.testing.assert_array_equal(
        images_in_order(images, None, dtype), images.reshape(40, -1).astype(dtype) / dtype(255)
    )


def pixel_csv(path: Path, rows: int = 300, late: str | None = None) -> Path:
    """A CSV of a label, bytes and a text column; ``late`` replaces one value after the sample."""
    rng = np.random.default_rng(2)
    lines = ["p0,label,p1,p2,color,p3"]
    for i in range(rows):
        p = rng.integers(0, 256, 4)
        p[2] = 0 if i % 3 else p[2]
        value = late if late is not None and i == SAMPLE_ROWS + 40 else str(p[3])
        lines.append(f"{p[0]},{i % 3},{p[1]},{p[2]},{['red', 'blue'][i % 2]},{value}")
    return write_text(path, "\n".join(lines) + "\n")


@pytest.mark.parametrize("normalize", ["standard", "minmax", "scale", "none"])
@pytest.mark.parametrize("missing", ["error", "median"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_csv_of_bytes_fast_path_matches_the_general_path(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    normalize: str,
    missing: str,
    dtype: type[np.floating],
) -> None:
    data = {
        "train": pixel_csv(tmp_path / "p.csv"),
        "target": "label",
        "categorical": ["color"],
        "normalize": normalize,
        "scale": 255 if normalize == "scale" else None,
        "missing": missing,
        "validation_split": 0.2,
        "test_split": 0.1,
    }
    cfg = make_config(data)
    fast = load_training_data(cfg, dtype=dtype)
    monkeypatch.setattr(fit_module, "byte_block", lambda frame, columns: None)
    general = load_training_data(cfg, dtype=dtype)
    for a, b in [(fast.train, general.train), (fast.validation, general.validation)]:
        assert a is not None and b is not None
        np.testing.assert_array_equal(a.X, b.X)
        np.testing.assert_array_equal(a.y, b.y)
        assert a.X.dtype == b.X.dtype and a.X.flags.c_contiguous
    assert fast.preprocessor.to_bundle()[0] == general.preprocessor.to_bundle()[0]
    for name, array in fast.preprocessor.to_bundle()[1].items():
        np.testing.assert_array_equal(array, general.preprocessor.to_bundle()[1][name])


@pytest.mark.parametrize("late", ["256", "-1", "2.5"])
def test_a_number_past_the_sample_that_is_not_a_byte(tmp_path: Path, late: str) -> None:
    path = pixel_csv(tmp_path / "p.csv", late=late)
    cfg = make_config(
        {"train": path, "target": "label", "categorical": ["color"], "normalize": "none"}
    )
    ds = load_training_data(cfg)
    X = np.concatenate([ds.train.X, ds.validation.X, ds.test.X])  # type: ignore[union-attr]
    assert np.count_nonzero(X[:, 3] == float(late)) == 1


def test_an_empty_value_past_the_sample(tmp_path: Path) -> None:
    path = pixel_csv(tmp_path / "p.csv", late="")
    data = {"train": path, "target": "label", "categorical": ["color"]}
    with pytest.raises(DataError, match=rf"column 'p3' has 1 missing .*row {SAMPLE_ROWS + 41}\)"):
        load_training_data(make_config(data))
    ds = load_training_data(make_config({**data, "missing": "mean", "normalize": "none"}))
    assert np.isfinite(ds.train.X).all()


def test_text_past_the_sample_names_column_and_row(tmp_path: Path) -> None:
    path = pixel_csv(tmp_path / "p.csv", late="dark")
    cfg = make_config({"train": path, "target": "label", "categorical": ["color"]})
    with pytest.raises(DataError, match=rf"column 'p3', row {SAMPLE_ROWS + 41}: 'dark' is not"):
        load_training_data(cfg)


def test_gzip_files_of_several_members_or_with_padding_still_read(tmp_path: Path) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    data = encode_idx(images)
    halves = gzip.compress(data[:20], mtime=0) + gzip.compress(data[20:], mtime=0)
    for name, content in [("two.gz", halves), ("pad.gz", gzip.compress(data) + b"\0" * 8)]:
        (tmp_path / name).write_bytes(content)
        np.testing.assert_array_equal(read_idx(tmp_path / name), images)


@pytest.mark.parametrize("damage", ["crc", "length", "cut"])
def test_a_damaged_gzip_member_is_an_error_naming_the_file(tmp_path: Path, damage: str) -> None:
    whole = gzip.compress(encode_idx(np.zeros((5, 4, 4), dtype=np.uint8)), mtime=0)
    damaged = {
        "crc": whole[:-8] + bytes(4) + whole[-4:],
        "length": whole[:-4] + bytes(4),
        "cut": whole[:-3],
    }[damage]
    (tmp_path / "d.gz").write_bytes(damaged)
    with pytest.raises(DataError, match=r"d\.gz: (corrupt|truncated) gzip file"):
        read_idx(tmp_path / "d.gz")


@pytest.mark.parametrize(
    "labels",
    [
        np.array([3, 1, 3, 10, 2, 1]),
        np.array([], dtype=np.int64),
        np.array([[0, 255], [7, 7]], dtype=np.uint8),
        np.array([2**63 - 1, -(2**63), 0]),
    ],
)
def test_integer_label_keys_are_the_strings_of_each_label(labels: NDArray[Any]) -> None:
    keys = label_keys(labels)
    expected = labels.astype(str)
    assert keys.dtype == expected.dtype and keys.shape == expected.shape
    np.testing.assert_array_equal(keys, expected)
