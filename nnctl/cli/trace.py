"""``nnctl trace``: one input through the network, layer by layer."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from nnctl.cli.options import JsonOption, ModelArgument, RowInputOption, RunsDirOption


def trace(
    model: ModelArgument,
    row: Annotated[int, typer.Option("--row", metavar="N", help="The row, counting from 0.")],
    split: Annotated[
        str | None,
        typer.Option("--split", help="A split of the run: test (default), validation, train."),
    ] = None,
    input_: RowInputOption = None,
    top: Annotated[
        int, typer.Option("--top", metavar="K", help="Units per layer and terms per unit shown.")
    ] = 5,
    backward: Annotated[
        bool, typer.Option("--backward", help="Gradients of the row's loss, one SGD step.")
    ] = False,
    json_: JsonOption = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Follow one input through the network: z = x @ W + b and a = f(z) for each layer.

    Shows the raw row, the prepared inputs, for up to K units per layer the K largest terms
    x_i * W_ij of z_j, the output probabilities (or value), the predicted and true label and the
    row's loss. --backward adds dL/dz, dL/dW, dL/db and one SGD step on a copy.

    Example: nnctl trace runs/iris-20260101-120000 --row 0 --split test --backward
    """
    from nnctl.inspection.trace import trace_row

    report = trace_row(
        model, row, split=split, input_path=input_, top=top, backward=backward, runs_dir=runs_dir
    )
    if json_:
        from nnctl.store import jsonio

        sys.stdout.write(jsonio.dumps(report) + "\n")
    else:
        from nnctl.cli import render

        render.print_trace(report)
