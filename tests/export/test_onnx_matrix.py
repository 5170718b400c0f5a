"""The exported graph in onnxruntime against ``nnctl predict`` itself, over the model space.

Every activation x dtype x task; every preprocessing kind (each normalize, each missing-value
policy, one-hot text, IDX pixels) x dtype x task; int and string labels. Each model is exported,
then run in onnxruntime on batches of 1, 7 and 1000 rows, and compared with what
`prediction_frames` (the code of ``nnctl predict``) writes for the same rows read from a file.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest

from nnctl.data.formats.idx import write_idx
from nnctl.errors import NnctlWarning
from nnctl.export.onnx import export_onnx
from nnctl.export.verify import ATOL, RTOL, check_rows
from nnctl.nn.activations import ACTIVATIONS
from nnctl.store.model import Model
from nnctl.workflows.predict import prediction_frames

BATCHES = (1, 7, 1000)
TASKS = ("classification", "binary", "regression")
DTYPES = ("float32", "float64")


def predicted_by_nnctl(model: Model, feeds: dict[str, np.ndarray], folder: Path) -> pd.DataFrame:
    """What ``nnctl predict --proba`` writes for the rows ``feeds`` holds, read from a file."""
    pre = model.preprocessor
    if pre.input == "idx":
        path = folder / "rows.idx"
        pixels = feeds["pixels"].astype(np.uint8).reshape(-1, *(pre.image_shape or ()))
        write_idx(path, pixels)
    else:
        n = len(next(iter(feeds.values())))
        numeric = feeds.get("numeric", np.empty((n, 0))).astype(np.float64)
        frame = pd.DataFrame({c: numeric[:, j] for j, c in enumerate(pre.numeric_columns)})
        frame.index = pd.RangeIndex(n)
        for j, category in enumerate(pre.categories):
            frame[category.column] = feeds["text"][:, j]
        path = folder / "rows.csv"
        frame.to_csv(path, index=False)
    return pd.concat(list(prediction_frames(model, path, proba=True)), ignore_index=True)


def check_against_predict(model: Model, folder: Path) -> None:
    """Export ``model``, then compare onnxruntime and nnctl predict on batches of each size."""
    out = folder / "model.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NnctlWarning)
        export_onnx(model.path, out)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    rows = check_rows(model, n=1000, seed=7)
    expected = predicted_by_nnctl(model, rows, folder)
    target = model.preprocessor.target_column or "label"
    for size in BATCHES:
        # the edge rows (at the end) are in every batch
        take = np.r_[np.arange(size - 1), len(expected) - np.arange(1, 8)][: max(size, 1)]
        if size == 1000:
            take = np.arange(len(expected))
        feeds = {name: values[take] for name, values in rows.items()}
        got = dict(zip(["label", "probabilities", "prediction"], [None] * 3, strict=True))
        names = [o.name for o in session.get_outputs()]
        got.update(zip(names, session.run(names, feeds), strict=True))
        want = expected.iloc[take]
        assert got[names[0]].shape == (len(take),)
        if model.task == "regression":
            std = model.preprocessor.target.std
            np.testing.assert_allclose(got["prediction"], want[target], RTOL, ATOL * std)
            continue
        classes = model.preprocessor.class_names or []
        proba = want[[f"proba_{c}" for c in classes]].to_numpy()
        np.testing.assert_allclose(got["probabilities"], proba, RTOL, ATOL)
        top = np.sort(proba, axis=1)
        decided = top[:, -1] - top[:, -2] > 1e-4
        assert size < 1000 or decided.mean() > 0.5  # the labels are compared on most rows
        labels: Any = got["label"]
        assert list(labels[decided]) == list(want[target].to_numpy()[decided])


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_dtype_and_task(
    make_model: Callable[..., Model], tmp_path: Path, activation: str, dtype: str, task: str
) -> None:
    params = {"alpha": 0.2} if activation in ("leaky_relu", "elu") else None
    model = make_model(task=task, activation=activation, dtype=dtype, params=params)
    check_against_predict(model, tmp_path)


PREPROCESSING = {
    "standard": {"normalize": "standard"},
    "minmax": {"normalize": "minmax"},
    "scale": {"normalize": "scale"},
    "none": {"normalize": "none"},
    "missing-mean": {"missing": "mean"},
    "missing-median": {"missing": "median"},
    "missing-most-frequent": {"missing": "most_frequent", "normalize": "minmax"},
    "onehot-unseen-ignore": {"text": True, "unseen": "ignore"},
    "onehot-unseen-error": {"text": True, "unseen": "error"},
    "onehot-missing-filled": {"text": True, "missing": "most_frequent"},
    "onehot-only": {"text": True, "numeric_columns": False},
    "idx-pixels": {"idx": True, "normalize": "none"},
    "idx-standard": {"idx": True, "normalize": "standard"},
}


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", sorted(PREPROCESSING))
def test_every_preprocessing_kind(
    make_model: Callable[..., Model], tmp_path: Path, kind: str, dtype: str, task: str
) -> None:
    model = make_model(task=task, dtype=dtype, activation="tanh", **PREPROCESSING[kind])
    check_against_predict(model, tmp_path)


@pytest.mark.parametrize("task", ["classification", "binary"])
@pytest.mark.parametrize("labels", ["int", "string"])
def test_labels_keep_their_type(
    make_model: Callable[..., Model], tmp_path: Path, labels: str, task: str
) -> None:
    model = make_model(task=task, labels=labels, text=True, missing="mean")
    check_against_predict(model, tmp_path)
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    label = session.get_outputs()[0]
    assert (label.name, label.type) == (
        "label",
        "tensor(int64)" if labels == "int" else "tensor(string)",
    )
