"""``nnctl draw``: a picture of the network, TensorFlow Playground's way."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.options import ModelArgument, RowInputOption, RunsDirOption


def draw(
    model: ModelArgument,
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            metavar="FILE",
            help="net.svg, net.png or net.pdf (by the suffix); - writes the SVG to stdout.",
        ),
    ] = Path("net.svg"),
    row: Annotated[
        int | None,
        typer.Option("--row", metavar="N", help="Fill the neurons with row N's activations."),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split", help="The split --row counts in: test (default), validation, train."
        ),
    ] = None,
    input_: RowInputOption = None,
    max_units: Annotated[
        int, typer.Option("--max-units", metavar="K", help="Neurons shown per layer at most.")
    ] = 12,
    runs_dir: RunsDirOption = None,
) -> None:
    """Draw the network: layers as columns of neurons, a line per weight (blue > 0, orange < 0,
    as wide as |W|), each neuron's bias; an image input as its picture.

    A layer with more than K units shows the K strongest (total |W|) and "... N more". With
    --row, each neuron is filled by its activation for that row and the outputs show the
    probabilities (or the prediction).

    Example: nnctl draw runs/iris-20260101-120000 -o net.png --row 0
    """
    from nnctl.workflows.draw import draw as draw_network

    drawn = draw_network(
        model, output, row=row, max_units=max_units, split=split, input_path=input_,
        runs_dir=runs_dir,
    )  # fmt: skip
    more = f", {drawn.hidden} more not drawn" if drawn.hidden else ""
    sys.stderr.write(f"drew {drawn.neurons} neurons and {drawn.connections} connections{more}\n")
    if drawn.path is None:
        sys.stdout.write(drawn.data.decode("utf-8"))
    else:
        sys.stdout.write(f"{drawn.path}\n")
