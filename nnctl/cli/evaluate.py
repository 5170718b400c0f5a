"""``nnctl evaluate``: metrics of a trained model on a data set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnctl.errors import NotBuiltYet


def evaluate(
    model: Annotated[Path, typer.Argument(help="A run directory or a checkpoint file.")],
    data: Annotated[
        Path | None, typer.Option("--data", help="Data to evaluate on (default: the test split).")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option("--labels", help="IDX labels file that goes with --data.")
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Compute the loss and metrics of a trained model.

    Example: nnctl evaluate runs/iris-20260101-120000 --json
    """
    raise NotBuiltYet("'nnctl evaluate' is not built yet")
