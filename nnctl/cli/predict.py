"""``nnctl predict``: predictions of a trained model, as CSV."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from nnctl.cli.options import ModelArgument, RunsDirOption
from nnctl.errors import UsageError

if TYPE_CHECKING:
    from nnctl.store.model import Model


def predict(
    model: ModelArgument,
    input_arg: Annotated[
        str | None, typer.Argument(metavar="INPUT", help="Same as --input.", show_default=False)
    ] = None,
    input_: Annotated[
        str, typer.Option("--input", "-i", help="CSV or IDX images file; '-' is stdin.")
    ] = "-",
    output: Annotated[
        str, typer.Option("--output", "-o", help="Where to write the CSV; '-' is stdout.")
    ] = "-",
    proba: Annotated[
        bool, typer.Option("--proba", help="Add one probability column per class.")
    ] = False,
    keep: Annotated[
        list[str] | None,
        typer.Option("--keep", metavar="COLUMN", help="Input column to pass through (an id)."),
    ] = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Predict labels (or values) for new rows, in the original label names and units.

    Reads and writes in chunks, so it works as a pipeline stage on inputs of any length; output
    rows match input rows one to one. The target column may be present or absent in the input.

    Example: cat new.csv | nnctl predict runs/iris-20260101-120000 - > predictions.csv
    """
    from nnctl.workflows.predict import predict as write_predictions

    source = input_arg if input_arg is not None else input_
    reading_a_terminal = source == "-" and sys.stdin is not None and sys.stdin.isatty()
    write_predictions(
        model,
        source,
        output,
        proba=proba,
        keep=keep or [],
        runs_dir=runs_dir,
        before_reading=_reading_a_terminal if reading_a_terminal else None,
    )


def _reading_a_terminal(model: Model) -> None:
    """Stdin is a terminal: say that CSV rows are read from it (as sort or cat would read them).

    IDX images are bytes nobody types: that is a usage error.
    """
    if model.preprocessor.input == "idx":
        raise UsageError(
            "INPUT: the model reads IDX images and stdin is a terminal; "
            "give the images file: nnctl predict MODEL IMAGES"
        )
    sys.stderr.write("nnctl: reading CSV from stdin (a terminal); end with Ctrl-D, or give INPUT\n")
