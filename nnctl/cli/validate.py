"""``nnctl validate``: check a config file and show the network it describes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnctl.errors import NotBuiltYet


def validate(
    config: Annotated[Path, typer.Argument(help="The YAML config file.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config key: KEY=VALUE, VALUE parsed as YAML."),
    ] = None,
) -> None:
    """Check a config without training; print its layer table.

    Example: nnctl validate configs/iris.yaml --set model.layers.0.units=64
    """
    raise NotBuiltYet("'nnctl validate' is not built yet")
