"""The fitted preprocessor: the model bundle, prediction input, evaluation data and policies."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from datahelp import DATASETS, make_config, write_idx_pair, write_text
from hypothesis import given, settings
from hypothesis import strategies as st

from nnctl.data import Preprocessor, load_eval_data, load_training_data, read_features_for_predict
from nnctl.data.numeric import NumericTransform
from nnctl.errors import DataError


def _round_trip(pre: Preprocessor) -> Preprocessor:
    meta, arrays = pre.to_bundle()
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(json.dumps(meta)), **arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as npz:
        loaded = {k: npz[k] for k in npz.files if k != "meta"}
        return Preprocessor.from_bundle(json.loads(str(npz["meta"])), loaded)


def test_bundle_round_trip_gives_identical_features(iris_like: Path) -> None:
    cfg = make_config({"train": iris_like, "target": "label"}, units=2)
    pre = load_training_data(cfg).preprocessor
    again = _round_trip(pre)
    frame = pd.read_csv(iris_like)
    np.testing.assert_array_equal(
        pre.transform_features(frame, np.float32), again.transform_features(frame, np.float32)
    )
    assert again.class_names == ["cat", "dog"] and again.labels_for([1]).tolist() == ["dog"]


def test_predict_chunks_from_path_and_stdin(
    iris_like: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pre = load_training_data(
        make_config({"train": iris_like, "target": "label"}, units=2)
    ).preprocessor
    whole = pre.transform_features(pd.read_csv(iris_like), np.float32)
    chunks = list(read_features_for_predict(pre, iris_like, chunk_rows=15, dtype=np.float32))
    assert [len(raw) for raw, _ in chunks] == [15, 15, 10]
    np.testing.assert_array_equal(np.concatenate([X for _, X in chunks]), whole)
    without_target = pd.read_csv(iris_like).drop(columns=["label"]).assign(extra="z")
    monkeypatch.setattr(sys, "stdin", io.StringIO(without_target.to_csv(index=False)))
    streamed = list(read_features_for_predict(pre, "-", chunk_rows=100, dtype=np.float32))
    np.testing.assert_array_equal(streamed[0][1], whole)
    assert "extra" in streamed[0][0].columns


def test_predict_errors_name_the_row_across_chunks(iris_like: Path, tmp_path: Path) -> None:
    pre = load_training_data(
        make_config({"train": iris_like, "target": "label"}, units=2)
    ).preprocessor
    frame = pd.read_csv(iris_like)
    frame.loc[22, "color"] = "purple"
    path = tmp_path / "p.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"p.csv: column 'color', row 23: category 'purple'"):
        list(read_features_for_predict(pre, path, chunk_rows=10, dtype=np.float32))
    with pytest.raises(DataError, match=r"no feature column 'x2'") as info:
        pre.transform_features(frame.drop(columns=["x2"]), np.float32, source="q.csv")
    assert info.value.hint is not None and "x1" in info.value.hint


def test_unseen_category_ignore_policy(iris_like: Path) -> None:
    data = {"train": iris_like, "target": "label", "unseen_categories": "ignore"}
    pre = load_training_data(make_config(data, units=2)).preprocessor
    X = pre.transform_features(
        pd.DataFrame({"x1": [1.0], "x2": [2], "color": ["purple"], "const": [7]}), np.float32
    )
    assert X[0, 3:].tolist() == [0.0, 0.0, 0.0]


def test_unseen_label_at_evaluate(iris_like: Path, tmp_path: Path) -> None:
    pre = load_training_data(
        make_config({"train": iris_like, "target": "label"}, units=2)
    ).preprocessor
    frame = pd.read_csv(iris_like)
    frame.loc[5, "label"] = "cow"
    path = tmp_path / "e.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(
        DataError, match=r"e.csv: column 'label', row 6: label 'cow' was not in the training data"
    ):
        load_eval_data(pre, path, dtype=np.float32)
    good = load_eval_data(pre, iris_like, dtype=np.float32)
    assert good.X.shape == (40, 6) and good.y.dtype == np.int64


def test_eval_csv_without_target_lists_columns(iris_like: Path, tmp_path: Path) -> None:
    pre = load_training_data(
        make_config({"train": iris_like, "target": "label"}, units=2)
    ).preprocessor
    path = write_text(tmp_path / "n.csv", "x1,x2,color,const\n1,2,red,7\n")
    with pytest.raises(DataError, match=r"n.csv: no needed column 'label'"):
        load_eval_data(pre, path, dtype=np.float32)


def test_eval_default_is_the_runs_test_split() -> None:
    cfg = make_config({"train": DATASETS / "iris.csv", "target": "species"})
    ds = load_training_data(cfg)
    test = load_eval_data(ds.preprocessor, cfg=cfg, dtype=np.float32)
    np.testing.assert_array_equal(test.X, ds.test.X)  # type: ignore[union-attr]


def test_idx_training_predict_and_eval(tmp_path: Path) -> None:
    images, labels = write_idx_pair(tmp_path, 60)
    test_images, test_labels = write_idx_pair(tmp_path, 9, prefix="test", seed=1)
    data = {
        "train": images,
        "train_labels": labels,
        "test": test_images,
        "test_labels": test_labels,
        "normalize": "none",
        "validation_split": 0.2,
    }
    ds = load_training_data(make_config(data))
    assert ds.train.X.shape == (48, 16) and ds.validation.X.shape == (12, 16)  # type: ignore[union-attr]
    assert ds.test.X.shape == (9, 16) and ds.preprocessor.class_names == ["0", "1", "2"]  # type: ignore[union-attr]
    assert ds.train.X.min() >= 0 and ds.train.X.max() <= 1
    pre = _round_trip(ds.preprocessor)
    ((raw, X),) = read_features_for_predict(pre, test_images, dtype=np.float32)
    np.testing.assert_array_equal(X, ds.test.X)  # type: ignore[union-attr]
    assert len(raw) == 9
    split = load_eval_data(pre, test_images, test_labels, dtype=np.float32)
    assert split.y.tolist() == (np.arange(9) % 3).tolist()


def test_idx_count_mismatch(tmp_path: Path) -> None:
    images, _ = write_idx_pair(tmp_path, 12)
    _, labels = write_idx_pair(tmp_path, 10, prefix="other")
    with pytest.raises(DataError, match=r"has 12 images but .*other-labels-idx1-ubyte.gz has 10"):
        load_training_data(make_config({"train": images, "train_labels": labels}))


@settings(max_examples=30, deadline=None)
@given(
    value=st.floats(-1e6, 1e6, allow_nan=False, width=32),
    normalize=st.sampled_from(["standard", "minmax", "none"]),
)
def test_constant_columns_never_give_nan(value: float, normalize: str) -> None:
    block = np.full((50, 3), value, dtype=np.float32)
    block[:, 1] = np.linspace(-3, 3, 50)
    NumericTransform.fit_apply(block, 40, normalize, None, "error")  # type: ignore[arg-type]
    assert np.isfinite(block).all()
    if normalize != "none":
        assert np.all(block[:, [0, 2]] == 0)
