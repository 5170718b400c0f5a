"""Checkpoint bundles: round trip, and refusal of anything that is not a complete nnctl bundle."""

from __future__ import annotations

import gc
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from nnctl.errors import CheckpointError
from nnctl.store.bundle import META_KEY, load_bundle, model_file, save_bundle


def _meta_array(meta: dict[str, object]) -> np.ndarray:
    return np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)


def test_round_trip_keeps_metadata_and_arrays_exactly(tmp_path: Path) -> None:
    path = tmp_path / "b.npz"
    w = np.random.default_rng(0).normal(size=(3, 2)).astype(np.float32)
    save_bundle(path, {"epoch": 4, "spec": {"units": [2]}}, {"weights": {"layers.0.W": w}})
    bundle = load_bundle(path)
    assert bundle.meta["epoch"] == 4
    assert bundle.meta["format"] == "nnctl-bundle"
    assert bundle.meta["format_version"] == 1
    assert bundle.group("weights")["layers.0.W"].tobytes() == w.tobytes()
    assert bundle.group("optimizer") == {}


def test_a_truncated_bundle_is_a_checkpoint_error(tmp_path: Path) -> None:
    path = tmp_path / "b.npz"
    save_bundle(path, {}, {"weights": {"w": np.ones(1000)}})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(CheckpointError, match="truncated or corrupt"):
            load_bundle(path)
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]  # file closed


def test_an_unknown_format_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.npz"
    np.savez(path, **{META_KEY: _meta_array({"format": "nnctl-bundle", "format_version": 99})})
    with pytest.raises(CheckpointError, match="format version 99 is not supported"):
        load_bundle(path)


def test_a_foreign_npz_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.npz"
    np.savez(path, weights=np.ones(3))
    with pytest.raises(CheckpointError, match="not an nnctl checkpoint"):
        load_bundle(path)


def test_a_pickled_object_array_is_refused_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Hostile:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (marker.write_text, ("unpickled!",))

    path = tmp_path / "b.npz"
    meta = _meta_array({"format": "nnctl-bundle", "format_version": 1})
    np.savez(path, **{META_KEY: meta, "weights/x": np.array([Hostile()], dtype=object)})
    with pytest.raises(CheckpointError, match="never unpickles"):
        load_bundle(path)
    assert not marker.exists()


def test_not_a_zip_at_all(tmp_path: Path) -> None:
    path = tmp_path / "b.npz"
    path.write_text("hello")
    with pytest.raises(CheckpointError):
        load_bundle(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such"):
        load_bundle(tmp_path / "none.npz")
    with pytest.raises(CheckpointError, match="is a directory"):
        load_bundle(tmp_path)


def test_model_file_prefers_best_then_last(tmp_path: Path) -> None:
    (tmp_path / "checkpoints").mkdir()
    with pytest.raises(CheckpointError, match="no checkpoints"):
        model_file(tmp_path)
    save_bundle(tmp_path / "checkpoints" / "last.npz", {}, {})
    assert model_file(tmp_path).name == "last.npz"
    save_bundle(tmp_path / "checkpoints" / "best.npz", {}, {})
    assert model_file(tmp_path).name == "best.npz"
