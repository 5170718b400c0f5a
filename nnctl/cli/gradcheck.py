"""``nnctl gradcheck``: backpropagation against central finite differences, in float64."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.options import JsonOption, RunsDirOption


def gradcheck(
    target: Annotated[
        Path,
        typer.Argument(
            metavar="CONFIG|MODEL",
            help="A config file (its network at initialization), or a run directory, a run's "
            "name in runs/, or a checkpoint file (its trained weights).",
            readable=False,
        ),
    ],
    rows: Annotated[
        int, typer.Option("--rows", min=1, help="Rows of data the loss is computed on.")
    ] = 3,
    per_param: Annotated[
        int,
        typer.Option("--per-param", min=1, help="Entries checked in every weight and bias tensor."),
    ] = 10,
    json_: JsonOption = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Check backpropagation's gradients against central finite differences.

    In float64 with dropout off, for sampled entries of every W and b: the relative error
    |a - n| / max(|a|, |n|) of each tensor, read with CS231n's bands (below 1e-7 excellent, below
    1e-4 fine, above 1e-2 wrong). L2 weight decay is checked apart from the data loss; an entry
    whose difference crosses a relu kink is reported, not counted. Exit 5 when a tensor fails.

    Example: nnctl gradcheck configs/iris.yaml --per-param 20
    """
    from nnctl.errors import CheckFailed
    from nnctl.workflows.gradcheck import gradcheck as check

    report = check(target, rows, per_param, runs_dir)
    if json_:
        from nnctl.store import jsonio

        sys.stdout.write(jsonio.dumps(report.to_json()) + "\n")
    else:
        from nnctl.cli import render

        render.print_gradcheck(report.to_json())
    if not report.passed:
        raise CheckFailed(report.verdict())
