"""``nnctl inspect``: each layer's weights, biases and (with --data) activations."""

from __future__ import annotations

import shutil
import sys
from typing import Annotated

import typer

from nnctl.cli.options import JsonOption, ModelArgument, RunsDirOption


def inspect(
    model: ModelArgument,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            metavar="SPLIT|PATH",
            help="Activations on a split of the run (train, validation, test) or a file.",
        ),
    ] = None,
    layer: Annotated[
        int | None,
        typer.Option("--layer", metavar="I", help="Show layer I's weights as a heatmap."),
    ] = None,
    json_: JsonOption = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Show each layer: its formula and shapes, its weights and biases, its activations.

    With --data, the activations' mean and std and the fractions of dead units (relu family:
    never positive on the data) and saturated units (sigmoid, tanh: within 0.01 of a bound on
    more than 99% of the rows).

    Example: nnctl inspect runs/digits-20260101-120000 --data validation --layer 0
    """
    from nnctl.inspection.inspect import inspect_model

    width = shutil.get_terminal_size((100, 24)).columns
    report = inspect_model(model, data, layer, runs_dir, heatmap_size=(32, max(8, width - 2)))
    if json_:
        from nnctl.store import jsonio

        sys.stdout.write(jsonio.dumps(report) + "\n")
    else:
        from nnctl.cli import render

        render.print_inspection(report)
