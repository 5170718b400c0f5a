"""``nnctl evaluate``: metrics of a trained model on a data set."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.options import JsonOption, ModelArgument, RunsDirOption


def evaluate(
    model: ModelArgument,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data", help="Data to evaluate on (default: the test split).", readable=False
        ),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="IDX labels file that goes with --data.", readable=False),
    ] = None,
    json_: JsonOption = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Compute the loss and metrics of a trained model.

    Classification: accuracy, per-class precision, recall and F1, macro averages and the confusion
    matrix. Regression: MSE, RMSE, MAE and R^2 in the target's units. Default data: the run's
    test split.

    Example: nnctl evaluate runs/iris-20260101-120000 --json
    """
    from nnctl.workflows.evaluate import evaluate as evaluate_model

    report = evaluate_model(model, data, labels, runs_dir)
    if json_:
        from nnctl.store import jsonio

        sys.stdout.write(jsonio.dumps(report) + "\n")
    else:
        from nnctl.cli import render

        render.print_evaluation(report)
