"""``nnctl runs``: list and show run directories."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.options import JsonOption, RunsDirOption

app = typer.Typer(help="List and inspect run directories.", no_args_is_help=True)


@app.command("list")
def list_runs(
    runs_dir: Annotated[
        Path | None,
        typer.Option("--runs-dir", envvar="NNCTL_RUNS_DIR", help="Where run directories are."),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON lines, one per run.")] = False,
) -> None:
    """List runs, newest first: name, status, epochs, best monitored value, created.

    Example: nnctl runs list --json | jq -r 'select(.status == "completed") | .run'
    """
    from nnctl.store import jsonio
    from nnctl.workflows.runs import runs_in

    def warn(path: Path, error: Exception) -> None:
        sys.stderr.write(f"nnctl: warning: skipped {path}: {error}\n")

    found = runs_in(runs_dir, on_error=warn)
    if json_:
        for run in found:
            sys.stdout.write(jsonio.dumps(run.as_dict()) + "\n")
        return
    from nnctl.cli import render

    render.print_runs([run.as_dict() for run in found])


@app.command("show")
def show_run(
    run: Annotated[
        Path,
        typer.Argument(
            metavar="RUN", help="A run directory, or a run's name in runs/.", readable=False
        ),
    ],
    runs_dir: RunsDirOption = None,
    json_: JsonOption = False,
) -> None:
    """Show a run's config summary, final metrics, files and nnctl doctor's warnings.

    Example: nnctl runs show runs/iris-20260101-120000
    """
    from nnctl.store import jsonio
    from nnctl.workflows.runs import describe_run

    details = describe_run(run, runs_dir)
    if json_:
        sys.stdout.write(jsonio.dumps(details) + "\n")
        return
    from nnctl.cli import render

    render.print_run_details(details)
    render.print_warnings(details["warnings"])
