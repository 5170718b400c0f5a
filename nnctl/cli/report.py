"""``nnctl report``: one self-contained HTML page about a run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.options import RunsDirOption


def report(
    run: Annotated[
        Path,
        typer.Argument(
            metavar="RUN", help="A run directory, or a run's name in runs/.", readable=False
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", metavar="FILE", help="The HTML file (default: RUN/report.html)."
        ),
    ] = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Write one HTML page about a run, to open with a double click and hand to a colleague.

    The run and its config, the learning curves, the test split's scores, per-class metrics and
    confusion matrix, the layer table, the layer statistics over epochs, the doctor's findings,
    the first layer's weights (images) and the test rows the model got most wrong. The page
    needs no other file and makes no network request. Prints the file's path.

    Example: nnctl report runs/digits-20260101-120000 -o digits.html
    """
    from nnctl.workflows.report import report as write_report

    path = write_report(run, output, runs_dir)
    sys.stdout.write(f"{path}\n")
