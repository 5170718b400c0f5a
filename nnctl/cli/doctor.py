"""``nnctl doctor``: findings about a training run, with their evidence and rules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.options import JsonOption, RunsDirOption


def doctor(
    run: Annotated[
        Path,
        typer.Argument(
            metavar="RUN", help="A run directory, or a run's name in runs/.", readable=False
        ),
    ],
    json_: JsonOption = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Diagnose a training run from metrics.csv and layer_stats.csv.

    The loss at initialization against chance (ln K), a loss that oscillates or does not fall (the
    learning rate), overfitting, dead relu units, update ratios far from 1e-3, gradients that
    vanish or explode between the first layer and the last. Each finding is info or warn, with
    its evidence, the rule's threshold and its source.

    Example: nnctl doctor runs/iris-20260101-120000
    """
    from nnctl.inspection.doctor import diagnose

    report = diagnose(run, runs_dir)
    if json_:
        from nnctl.store import jsonio

        sys.stdout.write(jsonio.dumps(report) + "\n")
    else:
        from nnctl.cli import render

        render.print_findings(report)
