"""`output_frame`: predict's columns from the network's output, shared by predict and serve."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nnctl.config.loader import load_config
from nnctl.store.model import load_model
from nnctl.workflows.predict import output_frame, prediction_frames
from nnctl.workflows.train import train_run
from tests.helpers import DATASETS, iris_config


def test_output_frame_is_what_predict_writes(tmp_path: Path) -> None:
    run = train_run(load_config(iris_config(tmp_path, epochs=2)), runs_dir=tmp_path / "runs").path
    model = load_model(run)
    rows = pd.read_csv(DATASETS / "iris.csv").head(4)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    [written] = list(prediction_frames(model, tmp_path / "rows.csv", proba=True))
    X = model.preprocessor.transform_features(rows, np.float32)
    made = output_frame(model, model.network.predict(X), proba=True)
    pd.testing.assert_frame_equal(made, written)
    assert list(made.columns) == ["species", "proba_setosa", "proba_versicolor", "proba_virginica"]
    kept = output_frame(model, model.network.predict(X), frame=pd.DataFrame({"id": [1, 2, 3, 4]}))
    assert list(kept.columns) == ["id", "species"]
