"""``nnctl validate``: check a config file and its data, and show the network it describes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


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
    no_data: Annotated[
        bool,
        typer.Option(
            "--no-data", help="Check the config alone: do not read its data files (input width ?)."
        ),
    ] = False,
) -> None:
    """Check a config and its data without training; print its layer table.

    Every mistake in the file is reported, each with its line and column (exit 2). Then the data
    is checked as training checks it, without fitting the preprocessing: a missing or misspelt
    file or column, or a value training refuses (exit 3), an identifier column (exit 2),
    targets that do not fit the loss (exit 3), an output layer that does not fit the classes
    (exit 2). The messages are those of `nnctl train`.

    Example: nnctl validate configs/iris.yaml --set model.layers.0.units=64
    """
    from nnctl.cli.render import print_table
    from nnctl.workflows.validate import validate as validate_config

    checked = validate_config(config, set_ or (), read_data=not no_data)
    table = checked.table
    print_table(
        table.title, table.columns, table.rows, right_align=table.numeric, footer=table.footer
    )
    typer.echo(checked.inputs)
    stats = checked.config.diagnostics.layer_stats
    typer.echo(
        "diagnostics: "
        + ("layer_stats.csv each epoch" if stats else "no layer_stats.csv")
        + f" (diagnostics.layer_stats: {'true' if stats else 'false'})"
    )
