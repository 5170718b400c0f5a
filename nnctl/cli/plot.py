"""``nnctl plot``: learning curves of runs, on the terminal or in a picture file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.options import RunsDirOption


def plot(
    runs: Annotated[
        list[Path],
        typer.Argument(
            metavar="RUN",
            help="Run directories, or runs' names in runs/; several are compared on one chart.",
            readable=False,
        ),
    ],
    what: Annotated[
        str | None,
        typer.Option(
            "--what",
            metavar="KINDS",
            help="Charts, comma-separated: loss,metrics,lr,update_ratio,confusion "
            "(default: every one the runs have).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Write a picture (.png, .svg, .pdf) instead.", readable=False
        ),
    ] = None,
    log_y: Annotated[
        bool, typer.Option("--log-y", help="The loss, errors and a changing lr on a log scale.")
    ] = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Plot the learning curves of training runs.

    The train and validation loss with the best epoch marked, each metric, the learning rate,
    each layer's update ratio ||dW||/||W|| (with the 1e-3 rule of thumb) and the confusion matrix
    on the test split. Without -o, charts on the terminal (plain ASCII under NO_COLOR); with -o,
    a picture file (needs the plot extra: pip install 'nnctl[plot]').

    Example: nnctl plot runs/iris-20260101-120000 -o curves.png
    """
    from nnctl.workflows.plot import gather, parse_what, save_plot

    plot_data = gather(runs, parse_what(what), runs_dir)
    for note in plot_data.notes:
        sys.stderr.write(f"nnctl: note: {note}\n")
    if output is not None:
        save_plot(plot_data, output, log_y)
        sys.stdout.write(f"{output}\n")
    else:
        from nnctl.cli.render.plots import print_plot

        print_plot(plot_data, log_y)
