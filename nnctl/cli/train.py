"""``nnctl train``: train a network from a config file and write a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnctl.errors import NotBuiltYet


def train(
    config: Annotated[
        Path | None,
        typer.Argument(help="The YAML config file (optional with --resume: the run's own config)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config key: KEY=VALUE, VALUE parsed as YAML."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Run-name prefix.")] = None,
    runs_dir: Annotated[
        Path | None,
        typer.Option("--runs-dir", envvar="NNCTL_RUNS_DIR", help="Where run directories go."),
    ] = None,
    resume: Annotated[
        Path | None, typer.Option("--resume", help="Continue this run directory.")
    ] = None,
    json_: Annotated[
        bool, typer.Option("--json", help="Print a JSON summary instead of the run path.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing on stderr but errors.")
    ] = False,
) -> None:
    """Train the network a config file describes; print the run directory.

    Example: run=$(nnctl train configs/iris.yaml --set training.epochs=50)
    """
    raise NotBuiltYet("'nnctl train' is not built yet")
