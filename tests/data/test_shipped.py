"""The datasets and configs this project ships."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from datahelp import DATASETS, ROOT

from nnctl.config.loader import load_config
from nnctl.data import inspect, load_training_data
from nnctl.data.formats.idx import read_images, read_labels
from nnctl.errors import DataError


def test_iris_and_diabetes() -> None:
    iris = pd.read_csv(DATASETS / "iris.csv")
    assert iris.shape == (150, 5) and sorted(iris["species"].unique()) == [
        "setosa",
        "versicolor",
        "virginica",
    ]
    diabetes = pd.read_csv(DATASETS / "diabetes.csv")
    assert diabetes.shape == (442, 11) and diabetes.columns[-1] == "target"
    assert diabetes["age"].max() > 1  # unscaled values, not scikit-learn's scaled ones


def test_digits_idx_split() -> None:
    folder = DATASETS / "digits"
    train = read_images(folder / "train-images-idx3-ubyte.gz")
    test = read_images(folder / "test-images-idx3-ubyte.gz")
    assert train.shape == (1437, 64) and test.shape == (360, 64)
    assert train.max() == 1.0  # 16 -> 255 -> 1.0
    labels = read_labels(folder / "train-labels-idx1-ubyte.gz")
    assert np.bincount(labels).min() >= 139


def test_mnist_config_without_files_says_fetch() -> None:
    cfg = load_config(ROOT / "configs" / "mnist.yaml")
    if Path(cfg.data.train).exists():
        pytest.skip("MNIST has been fetched")
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: no such file") as info:
        load_training_data(cfg)
    assert info.value.hint == "run `nnctl data fetch mnist` to download it"
    with pytest.raises(DataError):
        inspect(cfg)
