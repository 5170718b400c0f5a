"""What a report is made of, gathered by `nnctl.workflows.report` and drawn here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.inspection.curves import RunCurves
from nnctl.inspection.run_facts import Row


@dataclass(frozen=True)
class Wrong:
    """One test row the model got wrong, worst first.

    Attributes
    ----------
    row : int
        The row's number in its file (1 = the first row of data, or the first image).
    true, predicted : str
        The true and predicted label (classification) or value (regression), as text.
    score : float
        Classification: the probability the model gave the true class; regression: the absolute
        error, in the target's units.
    image : ndarray or None
        The image (height x width) for IDX data.
    values : dict of str to str or None
        The row's cells as read, for CSV data.
    """

    row: int
    true: str
    predicted: str
    score: float
    image: np.ndarray | None = None
    values: dict[str, str] | None = None


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows about one run.

    Attributes
    ----------
    run : Path
        The run directory.
    record : dict
        ``run.json`` as plain data (name, status, epochs, best epoch, seed, versions, data files).
    config_text : str
        ``config.yaml`` as written (the resolved config).
    metrics : list of Row
        ``metrics.csv``, one row per epoch.
    curves : RunCurves
        The learning curves and update ratios (`nnctl.inspection.curves.read_curves`).
    evaluation : dict or None
        The test split's loss and metrics (`nnctl.workflows.evaluate.evaluate_model`), with
        ``data`` naming it; None when the run has no test split.
    inspection : dict
        ``nnctl inspect``'s report on the test split (or on none).
    doctor : dict
        ``nnctl doctor``'s findings.
    layer_stats : list of Row or None
        ``layer_stats.csv``, None when the run has none.
    first_weights : ndarray
        The first layer's ``W`` (inputs x units).
    image_shape : tuple of int or None
        The images' shape for IDX data (height, width), None for CSV.
    wrong : list of Wrong
        The test rows the model got most wrong, worst first.
    regression : tuple of ndarray or None
        Regression: the test split's true and predicted targets in their units (rows x outputs).
    network_png : bytes or None
        The network drawn (`nnctl.inspection.drawing.network_figure`), as a PNG.
    """

    run: Path
    record: dict[str, Any]
    config_text: str
    metrics: list[Row]
    curves: RunCurves
    evaluation: dict[str, Any] | None
    inspection: dict[str, Any]
    doctor: dict[str, Any]
    layer_stats: list[Row] | None
    first_weights: np.ndarray
    image_shape: tuple[int, ...] | None
    wrong: list[Wrong]
    regression: tuple[np.ndarray, np.ndarray] | None = None
    network_png: bytes | None = None
