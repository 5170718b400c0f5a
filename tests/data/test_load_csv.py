"""Loading CSV training data: columns, encodings, tasks, splits and the bad inputs."""

from __future__ import annotations

import gc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from datahelp import DATASETS, make_config, write_text

from nnctl.data import inspect, load_training_data
from nnctl.errors import DataError, NnctlWarning


def test_iris_classification() -> None:
    cfg = make_config({"train": DATASETS / "iris.csv", "target": "species"})
    ds = load_training_data(cfg)
    pre = ds.preprocessor
    assert (len(ds.train.X), len(ds.validation.X), len(ds.test.X)) == (106, 22, 22)  # type: ignore[union-attr]
    assert ds.train.X.dtype == np.float32 and ds.train.X.flags.c_contiguous
    assert ds.train.y.dtype == np.int64 and ds.train.y.shape == (106,)
    assert pre.class_names == ["setosa", "versicolor", "virginica"]
    assert (pre.n_features, pre.n_outputs) == (4, 3)
    np.testing.assert_allclose(ds.train.X.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.train.X.std(axis=0), 1, atol=1e-5)
    assert ds.files == [DATASETS / "iris.csv"]
    assert inspect(cfg) == (4, 3)


def test_split_is_stratified_and_seeded() -> None:
    cfg = make_config({"train": DATASETS / "iris.csv", "target": "species"}, seed=7)
    a, b = load_training_data(cfg), load_training_data(cfg, rng=np.random.default_rng(99))
    np.testing.assert_array_equal(a.train.X, b.train.X)
    assert np.bincount(a.test.y).tolist() == [7, 8, 7] or sorted(np.bincount(a.test.y)) == [7, 7, 8]  # type: ignore[union-attr]
    other = load_training_data(make_config({"train": DATASETS / "iris.csv", "target": "species"}))
    assert not np.array_equal(a.train.X, other.train.X)


def test_diabetes_regression_standardized_and_inverted() -> None:
    cfg = make_config({"train": DATASETS / "diabetes.csv", "target": "target"}, loss="mse")
    ds = load_training_data(cfg)
    pre = ds.preprocessor
    assert ds.train.y.shape == (len(ds.train.X), 1) and pre.n_outputs == 1
    assert pre.class_names is None
    assert abs(float(ds.train.y.mean())) < 1e-5 and abs(float(ds.train.y.std()) - 1) < 1e-5
    raw = pd.read_csv(DATASETS / "diabetes.csv")["target"].to_numpy()
    back = pre.inverse_target(ds.train.y)
    assert np.all(np.isin(np.round(back.ravel()), raw))
    assert inspect(cfg) == (10, None)


def test_one_hot_constant_and_binary(iris_like: Path) -> None:
    cfg = make_config({"train": iris_like, "target": "label"}, loss="binary_crossentropy")
    ds = load_training_data(cfg)
    pre = ds.preprocessor
    assert pre.feature_names == ["x1", "x2", "const", "color=blue", "color=green", "color=red"]
    assert ds.train.y.shape == (len(ds.train.X), 1) and set(ds.train.y.ravel()) == {0.0, 1.0}
    assert pre.class_names == ["cat", "dog"] and pre.n_outputs == 1
    assert np.all(ds.train.X[:, 2] == 0)  # the constant column: 0, not NaN
    assert set(np.unique(ds.train.X[:, 3:])) == {0.0, 1.0}
    assert inspect(cfg) == (6, 2)


@pytest.mark.parametrize("normalize", ["standard", "minmax", "scale", "none"])
def test_normalizations_keep_constant_columns_finite(tmp_path: Path, normalize: str) -> None:
    rows = ["label,a,zero,seven"] + [f"{i % 2},{i % 7},0,7" for i in range(30)]
    path = write_text(tmp_path / "c.csv", "\n".join(rows) + "\n")
    data = {"train": path, "target": "label", "normalize": normalize}
    if normalize == "scale":
        data["scale"] = 255
    ds = load_training_data(make_config(data, units=2))
    X = np.concatenate([ds.train.X, ds.validation.X])  # type: ignore[union-attr]
    assert np.isfinite(X).all()
    if normalize == "minmax":
        assert X[:, 0].min() >= -0.1 and np.all(X[:, 1:] == 0)
    if normalize == "scale":
        np.testing.assert_allclose(X[:, 2], 7 / 255, rtol=1e-6)


def test_features_subset_and_integer_labels(tmp_path: Path) -> None:
    rows = ["a,b,c,y"] + [f"{i},{i * 2},x,{i % 3 + 1}" for i in range(30)]
    path = write_text(tmp_path / "f.csv", "\n".join(rows) + "\n")
    with pytest.warns(NnctlWarning, match="an identifier") as warned:  # a and b: 30 values each
        ds = load_training_data(make_config({"train": path, "target": "y", "features": ["b", "a"]}))
    assert len(warned) == 2
    assert ds.preprocessor.feature_columns == ["b", "a"]
    assert ds.preprocessor.class_names == ["1", "2", "3"]
    assert ds.preprocessor.labels_for([0, 2]).tolist() == [1, 3]


def test_separate_validation_file(tmp_path: Path) -> None:
    rows = ["a,y"] + [f"{i % 5},{'ab'[i % 2]}" for i in range(20)]
    train = write_text(tmp_path / "t.csv", "\n".join(rows) + "\n")
    val = write_text(tmp_path / "v.csv", "y,a,extra\na,1,z\nb,2,z\n")
    cfg = make_config({"train": train, "validation": val, "target": "y"}, units=2)
    ds = load_training_data(cfg)
    assert len(ds.validation.X) == 2 and ds.validation.y.tolist() == [0, 1]  # type: ignore[union-attr]
    assert len(ds.train.X) + len(ds.test.X) == 20  # type: ignore[union-attr]
    assert ds.files == [train, val]


def test_imputation_fitted_on_training_rows(tmp_path: Path) -> None:
    rows = ["a,b,y"] + [
        f"{'' if i == 3 else i},{'' if i == 4 else 'xy'[i % 2]},{i % 2}" for i in range(20)
    ]
    path = write_text(tmp_path / "m.csv", "\n".join(rows) + "\n")
    data = {"train": path, "target": "y", "missing": "median", "normalize": "none"}
    ds = load_training_data(make_config(data, units=2))
    assert np.isfinite(ds.train.X).all()
    pre = ds.preprocessor
    X = pre.transform_features(pd.DataFrame({"a": [np.nan], "b": [None]}), np.float32)
    assert X[0, 0] == pre.numeric.fill[0] and X[0, 1:].sum() == 1


# --- bad input, one by one ------------------------------------------------------------------------


def _load(path: Path, **data: object) -> None:
    load_training_data(make_config({"train": path, "target": "y", **data}, units=2))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope.csv: no such file"):
        _load(tmp_path / "nope.csv")


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"e.csv: the file is empty"):
        _load(write_text(tmp_path / "e.csv", ""))


def test_blank_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"b.csv: no header line"):
        _load(write_text(tmp_path / "b.csv", "\n\n"))


def test_header_only(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"h.csv: the file has a header but no rows"):
        _load(write_text(tmp_path / "h.csv", "a,y\n"))


def test_missing_target_lists_columns(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"t.csv: no target column 'y'") as info:
        _load(write_text(tmp_path / "t.csv", "a,b\n1,2\n"))
    assert info.value.hint == "columns found: a, b"


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"is a directory"):
        _load(tmp_path)


def test_text_in_numeric_column(tmp_path: Path) -> None:
    rows = ["a,y"] + [str(i % 10) + ",1" for i in range(300)] + ["oops,0", "3,0"]
    with pytest.raises(DataError, match=r"n.csv: column 'a', row 301: 'oops' is not a number"):
        _load(write_text(tmp_path / "n.csv", "\n".join(rows) + "\n"))


def test_text_in_a_numeric_column_leaves_no_file_open(tmp_path: Path) -> None:
    """Finding the text stops reading early; the file is closed all the same."""
    rows = ["a,y"] + [str(i % 10) + ",1" for i in range(300)] + ["oops,0"] + ["3,0"] * 70_000
    path = write_text(tmp_path / "n.csv", "\n".join(rows) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DataError, match="'oops' is not a number"):
            _load(path)
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.mark.parametrize("value", ["", "nan", "inf", "-inf"])
def test_nan_or_inf_with_missing_error(tmp_path: Path, value: str) -> None:
    rows = ["a,y", "1,0", "2,1", f"{value},0", "4,1", "5,0"]
    message = r"x.csv: column 'a' has 1 missing or infinite values \(row 3\)"
    with pytest.raises(DataError, match=message):
        _load(write_text(tmp_path / "x.csv", "\n".join(rows) + "\n"))


def test_single_class(tmp_path: Path) -> None:
    rows = ["a,y"] + [f"{i},same" for i in range(10)]
    with pytest.raises(DataError, match=r"s.csv: the training data has a single class \(same\)"):
        _load(write_text(tmp_path / "s.csv", "\n".join(rows) + "\n"))


def test_truncated_gzip_csv(tmp_path: Path) -> None:
    import gzip

    data = gzip.compress(("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(5000))).encode())
    path = tmp_path / "z.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"z.csv.gz: truncated gzip file"):
        _load(path)


def test_missing_target_value(tmp_path: Path) -> None:
    rows = ["a,y", "1,0", "2,", "3,1"]
    with pytest.raises(DataError, match=r"the target column 'y' has 1 missing values \(row 2\)"):
        _load(write_text(tmp_path / "t.csv", "\n".join(rows) + "\n"))
