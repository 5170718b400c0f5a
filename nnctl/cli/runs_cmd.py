"""``nnctl runs``: list and show run directories."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnctl.errors import NotBuiltYet

app = typer.Typer(help="List and inspect run directories.", no_args_is_help=True)


@app.command("list")
def list_runs(
    runs_dir: Annotated[
        Path | None,
        typer.Option("--runs-dir", envvar="NNCTL_RUNS_DIR", help="Where run directories are."),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List runs, newest first.

    Example: nnctl runs list --json
    """
    raise NotBuiltYet("'nnctl runs list' is not built yet")


@app.command("show")
def show_run(
    run: Annotated[Path, typer.Argument(help="A run directory.")],
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a run's config summary, final metrics and files.

    Example: nnctl runs show runs/iris-20260101-120000
    """
    raise NotBuiltYet("'nnctl runs show' is not built yet")
