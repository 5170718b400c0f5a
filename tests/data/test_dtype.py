"""Data is read in the model's float type: training.dtype to train, the network's for the rest.

The CSV below has a feature ``a = 1 + k * 1e-12``, which float32 rounds to the constant 1 and
float64 keeps, and a feature ``b`` with one value of 1e300, which float32 cannot hold. The label is
``a``'s order, so only a model that sees ``a`` can learn it.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from datahelp import make_config, write_idx_pair

from nnctl.data import load_eval_data, load_training_data, read_features_for_predict
from nnctl.data.fit import images_in_order
from nnctl.errors import DataError
from tests.helpers import run_nnctl, write_config

N = 200
BIG_ROW = 6  # 1-based data row of 1e300


def tiny_and_huge(folder: Path, name: str = "p.csv") -> Path:
    rng = np.random.default_rng(0)
    k = np.arange(N)
    b = rng.normal(size=N)
    b[BIG_ROW - 1] = 1e300
    lines = ["a,b,y"] + [f"{1 + int(i) * 1e-12!r},{float(b[i])!r},{int(i >= N // 2)}" for i in k]
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def config(folder: Path, dtype: str, extra: str = "") -> Path:
    return write_config(
        folder,
        f"""
version: 1
name: tiny
data: {{train: {tiny_and_huge(folder)}, target: y{extra}}}
model:
  layers:
    - {{units: 8, activation: relu}}
    - {{units: 2, activation: softmax}}
loss: categorical_crossentropy
metrics: [accuracy]
optimizer: {{name: adam, learning_rate: 0.05}}
training: {{epochs: 40, dtype: {dtype}}}
""",
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the data layer -------------------------------------------------------------------------------


def test_training_data_is_read_in_training_dtype(tmp_path: Path) -> None:
    data = {"train": tiny_and_huge(tmp_path), "target": "y"}
    ds = load_training_data(make_config(data, units=2, training={"dtype": "float64"}))
    assert ds.train.X.dtype == np.float64
    assert np.isfinite(ds.train.X).all()
    assert ds.train.X[:, 0].std() > 0.5  # a is standardized, not a constant 0
    assert ds.preprocessor.numeric.divide[0] < 1e-9
    assert np.isfinite(ds.preprocessor.numeric.divide).all()  # 1e300 does not overflow the std


def test_float32_rounds_the_tiny_variation_to_a_constant(tmp_path: Path) -> None:
    path = tiny_and_huge(tmp_path)
    frame = pd.read_csv(path)
    frame.loc[BIG_ROW - 1, "b"] = 0.0
    frame.to_csv(path, index=False)
    ds = load_training_data(make_config({"train": path, "target": "y"}, units=2))
    assert ds.train.X.dtype == np.float32
    assert np.all(ds.train.X[:, 0] == 0)  # constant in float32: 0, never NaN


@pytest.mark.parametrize("missing", ["error", "mean"])
def test_float32_names_a_number_out_of_its_range(tmp_path: Path, missing: str) -> None:
    data = {"train": tiny_and_huge(tmp_path), "target": "y", "missing": missing}
    with pytest.raises(DataError) as info:
        load_training_data(make_config(data, units=2))
    message = info.value.message
    assert message == (
        f"{tmp_path / 'p.csv'}: column 'b', row {BIG_ROW}: 1e+300 is out of the float32 range "
        "(largest magnitude 3.4e+38)"
    )
    assert "infinite" not in message and "missing" not in message
    assert info.value.hint is not None and "training.dtype: float64" in info.value.hint


def test_a_written_infinity_is_still_called_infinite(tmp_path: Path) -> None:
    path = tmp_path / "i.csv"
    path.write_text("a,y\n" + "1,0\n-inf,1\n2,0\n3,1\n" * 5)
    with pytest.raises(DataError, match=r"column 'a' has 5 missing or infinite values"):
        load_training_data(make_config({"train": path, "target": "y"}, units=2))


def test_prediction_chunks_check_the_range_of_the_models_dtype(tmp_path: Path) -> None:
    path = tiny_and_huge(tmp_path)
    frame = pd.read_csv(path)
    frame.loc[BIG_ROW - 1, "b"] = 0.0
    train = tmp_path / "train.csv"
    frame.to_csv(train, index=False)
    pre = load_training_data(make_config({"train": train, "target": "y"}, units=2)).preprocessor
    with pytest.raises(DataError, match=rf"p.csv: column 'b', row {BIG_ROW}: 1e\+300 is out of"):
        list(read_features_for_predict(pre, path, chunk_rows=4, dtype=np.float32))
    (_, X), *_ = read_features_for_predict(pre, path, dtype=np.float64)
    assert X.dtype == np.float64 and np.isfinite(X).all()


def test_evaluation_data_is_read_in_the_dtype_asked(tmp_path: Path) -> None:
    data = {"train": tiny_and_huge(tmp_path), "target": "y"}
    cfg = make_config(data, units=2, training={"dtype": "float64"})
    pre = load_training_data(cfg).preprocessor
    split = load_eval_data(pre, tmp_path / "p.csv", dtype=np.float64)
    assert split.X.dtype == np.float64 and np.isfinite(split.X).all()
    assert load_eval_data(pre, cfg=cfg, dtype=np.float64).X.dtype == np.float64
    with pytest.raises(DataError, match="out of the float32 range"):
        load_eval_data(pre, tmp_path / "p.csv", dtype=np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_images_and_binary_targets_follow_the_dtype(tmp_path: Path, dtype: type) -> None:
    images, labels = write_idx_pair(tmp_path, 30)
    cfg = make_config(
        {"train": images, "train_labels": labels},
        training={"dtype": np.dtype(dtype).name},
    )
    ds = load_training_data(cfg)
    assert ds.train.X.dtype == dtype
    raw = np.arange(32, dtype=np.uint8).reshape(2, 4, 4)
    assert images_in_order(raw, None, dtype).dtype == dtype
    path = tmp_path / "b.csv"
    path.write_text("x,y\n" + "".join(f"{i % 5},{i % 2}\n" for i in range(20)))
    binary = make_config(
        {"train": path, "target": "y"}, loss="binary_crossentropy", training={"dtype": "float64"}
    )
    assert load_training_data(binary).train.y.dtype == np.float64


# --- train, evaluate and predict ------------------------------------------------------------------


def test_float64_trains_evaluates_and_predicts_on_the_tiny_and_huge_csv(tmp_path: Path) -> None:
    cfg = config(tmp_path, "float64")
    data = tmp_path / "p.csv"
    before = digest(data)
    result = run_nnctl("train", cfg, "--quiet", "--runs-dir", tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    assert "infinite" not in result.stderr and "Warning" not in result.stderr
    run = Path(result.stdout.strip())

    evaluated = run_nnctl("evaluate", run, "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert np.isfinite(report["loss"]) and report["accuracy"] == 1.0

    on_file = run_nnctl("evaluate", run, "--data", data, "--json")
    assert on_file.returncode == 0, on_file.stderr
    assert json.loads(on_file.stdout)["accuracy"] >= 0.95

    predicted = run_nnctl("predict", run, data, "--proba")
    assert predicted.returncode == 0, predicted.stderr
    out = pd.read_csv(io.StringIO(predicted.stdout))
    assert len(out) == N
    assert np.isfinite(out[["proba_0", "proba_1"]].to_numpy()).all()
    assert (out["y"].to_numpy() == (np.arange(N) >= N // 2)).mean() >= 0.95
    assert digest(data) == before


def test_float32_training_stops_with_the_range_error(tmp_path: Path) -> None:
    cfg = config(tmp_path, "float32")
    runs = tmp_path / "runs"
    result = run_nnctl("train", cfg, "--runs-dir", runs, "--quiet")
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        f"nnctl: error: {tmp_path / 'p.csv'}: column 'b', row {BIG_ROW}: 1e+300 is out of the "
        "float32 range (largest magnitude 3.4e+38)",
        "nnctl: hint: set training.dtype: float64, or rescale the column",
    ]
    assert result.stdout == ""
    assert not runs.exists() or not any(runs.iterdir())


def test_a_float32_model_names_the_value_it_cannot_hold_at_predict(tmp_path: Path) -> None:
    cfg = config(tmp_path, "float32")
    train = tmp_path / "p.csv"
    frame = pd.read_csv(train)
    huge = frame.copy()
    frame.loc[BIG_ROW - 1, "b"] = 0.0
    frame.to_csv(train, index=False)
    result = run_nnctl("train", cfg, "--quiet", "--runs-dir", tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    run = Path(result.stdout.strip())
    new = tmp_path / "new.csv"
    huge.drop(columns=["y"]).to_csv(new, index=False)
    predicted = run_nnctl("predict", run, new, "--output", tmp_path / "out.csv")
    assert predicted.returncode == 3
    assert predicted.stderr.splitlines()[0] == (
        f"nnctl: error: {new}: column 'b', row {BIG_ROW}: 1e+300 is out of the float32 range "
        "(largest magnitude 3.4e+38)"
    )
    assert not (tmp_path / "out.csv").exists()
    scored = tmp_path / "scored.csv"
    huge.to_csv(scored, index=False)
    evaluated = run_nnctl("evaluate", run, "--data", scored)
    assert evaluated.returncode == 3
    assert f"{scored}: column 'b', row {BIG_ROW}: 1e+300 is out of the float32" in evaluated.stderr


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_regression_target_near_the_float64_limit_is_standardized(
    tmp_path: Path, dtype: str
) -> None:
    path = tmp_path / "r.csv"
    path.write_text("x,y\n" + "".join(f"{i % 5},{(i - 10) * 1e299!r}\n" for i in range(20)))
    # mae: the mse of such a target is beyond float64 (tests/test_review_validate.py)
    cfg = make_config({"train": path, "target": "y"}, loss="mse", training={"dtype": dtype})
    cfg = cfg.model_copy(update={"loss": "mae", "metrics": ["mae"]})
    ds = load_training_data(cfg)
    target = ds.preprocessor.target
    assert np.isfinite(target.std) and target.std > 1e299
    assert ds.train.y.dtype == np.dtype(dtype) and np.isfinite(ds.train.y).all()
    assert np.abs(ds.train.y).max() < 3
    original = target.inverse(ds.train.y)
    assert np.isfinite(original).all() and np.abs(original).max() > 1e299
