"""``nnctl validate``: check a config file and its data, and show the network it describes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from nnctl.config.loader import Config
    from nnctl.data.inspection import DataFacts


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
    from nnctl.config.loader import load_config
    from nnctl.config.summary import inputs_line, layer_table

    cfg = load_config(config, set_ or ())
    facts = None if no_data else _check_data(cfg, str(config))
    n_inputs = None if facts is None else facts.n_inputs
    _check_memory(cfg, n_inputs, None if facts is None else facts.n_train, str(config))
    table = layer_table(cfg, n_inputs)
    print_table(
        table.title, table.columns, table.rows, right_align=table.numeric, footer=table.footer
    )
    typer.echo(inputs_line(cfg, n_inputs))


def _check_data(cfg: Config, shown: str) -> DataFacts:
    """The input width (and more) of the config's data, after training's checks of that data.

    Raises what ``nnctl train`` raises: `nnctl.errors.DataError` for data that is missing,
    unreadable or does not fit (exit 3), `nnctl.errors.ConfigError` for an output layer that
    does not fit the classes, named after the config file ``shown`` (exit 2).
    """
    from nnctl.config.checks import output_units_problem
    from nnctl.data import inspect
    from nnctl.errors import ConfigError

    facts = inspect(cfg)
    problem = output_units_problem(cfg, facts.n_classes, facts.classes)
    if problem is not None:
        raise ConfigError(f"{shown}: {problem}")
    return facts


def _check_memory(cfg: Config, n_inputs: int | None, n_train: int | None, shown: str) -> None:
    """Refuse a network too big to train on this machine, as ``nnctl train`` does (exit 2).

    Without the data (``--no-data``) one input and one training row are assumed: the least the
    network can need.
    """
    from nnctl.errors import ConfigError
    from nnctl.workflows.memory import memory_hint, network_memory_problem

    width, rows = (1, 1) if n_inputs is None else (n_inputs, n_train)
    problem = network_memory_problem(cfg, width, n_rows=rows)
    if problem is not None:
        raise ConfigError(f"{shown}: {problem}", hint=memory_hint(problem))
