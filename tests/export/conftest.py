"""Tiny models built in-process for the export tests: a fitted preprocessor, a network, a bundle.

`make_model` fits the preprocessing on random training rows with nnctl's own fitting code
(`NumericTransform.fit_apply`, `Category.fit`), builds a network with random weights and saves
the bundle a run's checkpoint is, so that `load_model` reads it as `nnctl export` does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nnctl.data import Preprocessor
from nnctl.data.encoding import Category, TargetMap
from nnctl.data.numeric import NumericTransform
from nnctl.nn.network import Network
from nnctl.store.bundle import save_bundle
from nnctl.store.model import Model, bundle_contents, load_model

LOSS = {"classification": "categorical_crossentropy", "binary": "binary_crossentropy",
        "regression": "mse"}  # fmt: skip
OUTPUT = {"classification": "softmax", "binary": "sigmoid", "regression": "linear"}
LABELS = {"int": [3, 7, 11], "string": ["setosa", "versicolor", "virginica"]}


def build_model(
    folder: Path,
    *,
    task: str = "classification",
    activation: str = "relu",
    dtype: str = "float32",
    normalize: str = "standard",
    missing: str = "error",
    text: bool = False,
    unseen: str = "ignore",
    labels: str = "string",
    idx: bool = False,
    seed: int = 0,
    params: dict[str, float] | None = None,
    numeric_columns: bool = True,
) -> Model:
    """Save a tiny model's bundle in ``folder`` and load it back; see the module docstring."""
    rng = np.random.default_rng(seed)
    k = 16 if idx else 4
    train = (
        rng.integers(0, 256, size=(50, k)).astype(float)
        if idx
        else rng.normal(loc=rng.normal(size=k) * 5, scale=rng.uniform(0.5, 3, size=k), size=(50, k))
    )
    if idx:
        train /= 255
    if missing != "error":
        train[rng.random(train.shape) < 0.1] = np.nan
    scale = 4.0 if normalize == "scale" else None
    numeric = NumericTransform.fit_apply(train.copy(), 50, normalize, scale, missing)  # type: ignore[arg-type]
    categories = []
    if text:
        for name, words in (("colour", ["red", "green", "blue"]), ("size", ["S", "M", "L", "XL"])):
            values = rng.choice(np.array(words, dtype=object), size=50)
            categories.append(Category.fit(name, values, impute=missing != "error"))
    classes: list[Any] = LABELS[labels][: 2 if task == "binary" else 3]
    target = TargetMap(task=task, classes=[] if task == "regression" else classes,  # type: ignore[arg-type]
                       mean=12.5 if task == "regression" else 0.0,
                       std=3.0 if task == "regression" else 1.0, column="y")  # fmt: skip
    pre = Preprocessor(
        input="idx" if idx else "csv",
        numeric_columns=[] if idx or not numeric_columns else [f"x{j}" for j in range(k)],
        numeric=numeric if numeric_columns else NumericTransform(*[np.zeros(0)] * 3),
        categories=categories,
        target=target,
        target_column=None if idx else "y",
        missing=missing,  # type: ignore[arg-type]
        unseen_categories=unseen,  # type: ignore[arg-type]
        image_shape=(4, 4) if idx else None,
    )
    n_out = 1 if task in ("binary", "regression") else 3
    hidden: dict[str, Any] = {"units": 6, "activation": activation}
    if params:
        hidden["activation_params"] = params
    layers = [
        hidden,
        {"units": 5, "activation": activation},
        {"units": n_out, "activation": OUTPUT[task]},
    ]
    network = Network.build(pre.n_features, layers, LOSS[task], rng, dtype=np.dtype(dtype))
    state = {name: w * 2.0 for name, w in network.state_dict().items()}  # livelier outputs
    network.load_state_dict(state)
    meta, groups = bundle_contents(network, pre, task)
    path = folder / f"model-{seed}.npz"
    save_bundle(path, meta, groups)
    return load_model(path)


@pytest.fixture
def make_model(tmp_path: Path) -> Callable[..., Model]:
    return lambda **kw: build_model(tmp_path, **kw)
