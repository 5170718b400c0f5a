"""``nnctl report``: gather what a run's HTML report shows, render it, write it.

The run's records (``run.json``, ``config.yaml``, ``metrics.csv``, ``layer_stats.csv``), its
model (the best checkpoint, else the last), the test split's scores (`evaluate_model`, as
``nnctl evaluate`` scores it), ``nnctl inspect``'s layer table on the test split, ``nnctl
doctor``'s findings, and the test rows the model got most wrong. The page is written atomically
to ``RUN/report.html`` unless told otherwise; the run's records are never written.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from nnctl import extras
from nnctl.data.load import run_split
from nnctl.errors import UsageError
from nnctl.inspection.curves import read_curves
from nnctl.inspection.doctor import diagnose
from nnctl.inspection.drawing import network_figure
from nnctl.inspection.inspect import inspect_model
from nnctl.inspection.pictures import figure_bytes
from nnctl.inspection.report import ReportInputs, Wrong, render_report
from nnctl.inspection.run_facts import read_run
from nnctl.inspection.sources import Opened, open_model
from nnctl.nn.layers.dense import Dense
from nnctl.store import files
from nnctl.store.record import read_record
from nnctl.store.runs import CONFIG_FILE, resolve_run
from nnctl.training.metrics import predicted_classes, true_classes
from nnctl.training.split import Split
from nnctl.workflows.evaluate import evaluate_model
from nnctl.workflows.predict import lost_rows

#: The report's file name inside the run directory when no ``-o`` is given.
REPORT_FILE = "report.html"

#: How many of the test rows the model got most wrong the report shows.
N_WRONG = 16
NO_ANSWER = "(no prediction)"  # a row the network overflowed on: its output is NaN


def report(run: Path, output: Path | None = None, runs_dir: Path | None = None) -> Path:
    """Write the HTML report of ``run`` (a run directory or name) to ``output``; return its path.

    ``output`` defaults to ``RUN/report.html``; it must end in ``.html`` (so that no run record
    is overwritten). matplotlib (the ``plot`` extra) draws the pictures.
    """
    path = resolve_run(run, runs_dir)
    target = output if output is not None else path / REPORT_FILE
    if target.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"-o {target}: expected a file ending in .html, found {target.suffix!r}")
    if target.is_dir():
        raise UsageError(f"-o {target}: expected a file, found a directory")
    if not target.absolute().parent.is_dir():
        raise UsageError(f"-o {target}: the folder {target.absolute().parent} does not exist")
    extras.load("matplotlib", "plot")
    page = render_report(gather(path))
    with files.atomic_writer(target, "wb") as out:
        out.write(page.encode("utf-8"))
    return target


def gather(path: Path) -> ReportInputs:
    """Everything the report of the run directory ``path`` shows."""
    facts = read_run(path)
    opened = open_model(path)
    model = opened.model
    cfg = opened.config("the report")
    test = run_split(model.preprocessor, cfg, "test", opened.dtype)
    evaluation = None
    wrong: list[Wrong] = []
    fitted = None
    if test is not None:
        evaluation = evaluate_model(model, test.split) | {"data": f"test split of {path}"}
        wrong = most_wrong(opened, test.split, test.raw, test.rows)
        if model.task == "regression":
            fitted = regression_points(opened, test.split)
    dense = [layer for layer in model.network.layers if isinstance(layer, Dense)]
    shape = model.preprocessor.image_shape
    return ReportInputs(
        run=path,
        record=dataclasses.asdict(read_record(path)),
        config_text=(path / CONFIG_FILE).read_text(encoding="utf-8"),
        metrics=facts.metrics,
        curves=read_curves(path),
        evaluation=evaluation,
        inspection=inspect_model(path, "test" if test is not None else None),
        doctor=diagnose(path),
        layer_stats=facts.layer_stats,
        first_weights=np.asarray(dense[0].W, dtype=np.float64),
        image_shape=tuple(shape[-2:]) if shape and len(shape) >= 2 else None,
        wrong=wrong,
        regression=fitted,
        network_png=figure_bytes(network_figure(opened), "png"),
    )


def most_wrong(opened: Opened, split: Split, raw: object, rows: np.ndarray | None) -> list[Wrong]:
    """The ``N_WRONG`` test rows the model got most wrong, worst first (ties: the first row).

    Classification: the lowest probability given to the true class; regression: the largest
    absolute error in the target's units. ``raw`` (CSV: the rows as read) and ``rows`` (their
    positions in the file, None: all in order) say where each row comes from.
    """
    model = opened.model
    network, pre = model.network, model.preprocessor
    output = network.predict(split.X.astype(network.dtype, copy=False))
    lost = lost_rows(model, output)  # no prediction: the worst rows of all
    if model.task == "regression":
        y_true, y_pred = regression_points(opened, split, output)
        score = np.abs(y_pred - y_true).max(axis=1)
        order = np.argsort(-_put(score, lost, np.inf), kind="stable")[:N_WRONG]
        texts = [(f"{y_true[i, 0]:.4g}", f"{y_pred[i, 0]:.4g}") for i in order]
    else:
        names = pre.class_names or [str(k) for k in range(max(pre.n_outputs, 2))]
        truth = true_classes(model.task, split.y)
        guess = predicted_classes(model.task, output)
        if model.task == "binary":
            p1 = output.reshape(-1)
            score = np.where(truth == 1, p1, 1 - p1)
        else:
            score = output[np.arange(len(output)), truth]
        order = np.argsort(_put(score, lost, -np.inf), kind="stable")[:N_WRONG]
        said = [str(name) for name in names]
        texts = [(said[truth[i]], NO_ANSWER if i in lost else said[guess[i]]) for i in order]
    return [
        _wrong(opened, split, raw, rows, int(i), t, float(score[i]))
        for i, t in zip(order, texts, strict=True)
    ]


def _put(score: np.ndarray, rows: np.ndarray, value: float) -> np.ndarray:
    """A copy of ``score`` with ``value`` at ``rows``: the key that sorts them first."""
    key = score.astype(np.float64)
    key[rows] = value
    return key


def regression_points(
    opened: Opened, split: Split, output: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The true and predicted targets of ``split`` in their units, (rows, outputs) each."""
    model = opened.model
    network, pre = model.network, model.preprocessor
    if output is None:
        output = network.predict(split.X.astype(network.dtype, copy=False))
    y_true = pre.inverse_target(np.asarray(split.y)).reshape(len(output), -1)
    y_pred = pre.inverse_target(output).reshape(len(output), -1)
    return np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)


def _wrong(
    opened: Opened, split: Split, raw: object, rows: np.ndarray | None, i: int,
    texts: tuple[str, str], score: float,
) -> Wrong:  # fmt: skip
    """Test row ``i`` as the report shows it: its number in its file, its image or its cells."""
    number = (int(rows[i]) if rows is not None else i) + 1
    shape = opened.model.preprocessor.image_shape
    image = None
    values = None
    if shape and len(shape) >= 2:
        image = np.asarray(split.X[i], dtype=np.float64).reshape(tuple(shape[-2:]))
    elif raw is not None:
        record = raw.iloc[i]  # type: ignore[attr-defined]
        values = {str(k): _cell(v) for k, v in record.items()}
    return Wrong(number, texts[0], texts[1], score, image=image, values=values)


def _cell(value: object) -> str:
    """A CSV cell as text; a float with the 7 digits a float32 holds (131.4, not 131.39999).

    A missing cell (pandas reads it as NaN, or None) is empty, as it is in the file.
    """
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return ""
    if isinstance(value, float | np.floating):
        return f"{float(value):.7g}"
    return str(value)
