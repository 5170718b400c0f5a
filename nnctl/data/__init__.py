"""nnctl's data layer: CSV (pandas) and MNIST-style IDX files, split and prepared the same way for
training, evaluation and prediction.

    ds = load_training_data(cfg)          # ds.train.X, ds.train.y, ds.preprocessor, ds.files
    X = ds.preprocessor.transform_features(frame, ds.train.X.dtype.type)
    meta, arrays = ds.preprocessor.to_bundle()
    pre = Preprocessor.from_bundle(meta, arrays)
"""

from __future__ import annotations

from nnctl.data.inspection import DataFacts, inspect
from nnctl.data.load import (
    Datasets,
    Split,
    load_eval_data,
    load_training_data,
    read_features_for_predict,
    read_split,
    run_split,
    test_split,
)
from nnctl.data.preprocess import Preprocessor

__all__ = [
    "DataFacts",
    "Datasets",
    "Preprocessor",
    "Split",
    "inspect",
    "load_eval_data",
    "load_training_data",
    "read_features_for_predict",
    "read_split",
    "run_split",
    "test_split",
]
