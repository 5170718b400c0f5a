"""``nnctl predict``: predictions of a trained model, as CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnctl.errors import NotBuiltYet


def predict(
    model: Annotated[Path, typer.Argument(help="A run directory or a checkpoint file.")],
    input_: Annotated[
        str, typer.Option("--input", "-i", help="CSV or IDX file to predict on; '-' is stdin.")
    ] = "-",
    output: Annotated[
        str, typer.Option("--output", "-o", help="Where to write the CSV; '-' is stdout.")
    ] = "-",
    proba: Annotated[
        bool, typer.Option("--proba", help="Add one probability column per class.")
    ] = False,
    keep: Annotated[
        list[str] | None, typer.Option("--keep", help="Input column to pass through (an id).")
    ] = None,
) -> None:
    """Predict labels (or values) for new rows, in the original label names and units.

    Example: cat new.csv | nnctl predict runs/iris-20260101-120000 - > predictions.csv
    """
    raise NotBuiltYet("'nnctl predict' is not built yet")
