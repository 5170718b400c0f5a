"""``nnctl validate``: check a config file and show the network it describes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from nnctl.config import Config


def validate(
    config: Annotated[
        Path, typer.Argument(metavar="CONFIG", help="The YAML config file.", readable=False)
    ],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="KEY=VALUE", help="Override a config key; VALUE is parsed as YAML."
        ),
    ] = None,
) -> None:
    """Check a config without training; print its layer table.

    Every mistake in the file is reported, each with its line and column (exit 2). The data files
    are read, when they exist, only to find the input width and the number of classes.

    Example: nnctl validate configs/iris.yaml --set model.layers.0.units=64
    """
    from nnctl.cli.render import print_table
    from nnctl.config import load_config
    from nnctl.config_summary import layer_table

    cfg = load_config(config, set_ or ())
    table = layer_table(cfg, _inspect_data(cfg, str(config)))
    print_table(
        table.title, table.columns, table.rows, right_align=table.numeric, footer=table.footer
    )


def _inspect_data(cfg: Config, shown: str) -> int | None:
    """The input width from the data, or None when the data cannot be read (yet).

    DATA INSPECTION PLUGS IN HERE, and only here: ``nnctl.data.inspect(cfg) -> (n_inputs,
    n_classes)``. Missing or unreadable data files are a warning, not an error: a config is
    valid without its data.
    """
    import nnctl.data
    from nnctl.config_checks import output_units_problem
    from nnctl.errors import ConfigError, DataError

    inspect = getattr(nnctl.data, "inspect", None)
    if inspect is None:
        return None
    try:
        n_inputs, n_classes = inspect(cfg)
    except DataError as error:
        sys.stderr.write(f"nnctl: warning: {error.message}; the input width is unknown\n")
        return None
    problem = output_units_problem(cfg, n_classes)
    if problem is not None:
        raise ConfigError(f"{shown}: {problem}")
    return int(n_inputs)
