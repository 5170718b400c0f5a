"""Arguments and options that several commands share, declared once (Typer's `Annotated`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ModelArgument = Annotated[
    Path,
    typer.Argument(
        metavar="MODEL",
        help="A run directory, a run's name in runs/, or a checkpoint file.",
        readable=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
RunsDirOption = Annotated[
    Path | None,
    typer.Option("--runs-dir", envvar="NNCTL_RUNS_DIR", help="Where run names are looked up."),
]
RowInputOption = Annotated[
    Path | None,
    typer.Option(
        "--input",
        metavar="FILE",
        help="A CSV or IDX images file instead of a split.",
        readable=False,
    ),
]
