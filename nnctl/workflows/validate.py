"""``nnctl validate``: a config and its data checked as training checks them, without training.

`validate` loads the config (every mistake with its line and column, exit 2), then inspects its
data without fitting the preprocessing (missing files or columns, values training refuses: exit 3;
an output layer that does not fit the classes: exit 2), refuses a network too big for this
machine's memory (exit 2), and gives the layer table. The messages are those of ``nnctl train``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nnctl import data
from nnctl.config.checks import output_units_problem
from nnctl.config.loader import Config, load_config
from nnctl.config.summary import LayerTable, inputs_line, layer_table
from nnctl.data import DataFacts
from nnctl.errors import ConfigError
from nnctl.workflows.memory import memory_hint, network_memory_problem


@dataclass(frozen=True)
class Validation:
    """What ``nnctl validate`` shows of a valid config: its layer table and how inputs are made."""

    config: Config
    table: LayerTable
    inputs: str


def validate(config: Path, overrides: Sequence[str] = (), *, read_data: bool = True) -> Validation:
    """Check the config file ``config`` (with ``--set`` ``overrides``) and, unless told not to,
    its data; raise what ``nnctl train`` would raise, else give the layer table.

    Without the data (``read_data=False``) the input width is unknown (``?`` in the table).
    """
    cfg = load_config(config, overrides)
    facts = _check_data(cfg, str(config)) if read_data else None
    n_inputs = None if facts is None else facts.n_inputs
    _check_memory(cfg, n_inputs, None if facts is None else facts.n_train, str(config))
    return Validation(cfg, layer_table(cfg, n_inputs), inputs_line(cfg, n_inputs))


def _check_data(cfg: Config, shown: str) -> DataFacts:
    """The input width (and more) of the config's data, after training's checks of that data.

    Raises what ``nnctl train`` raises: `nnctl.errors.DataError` for data that is missing,
    unreadable or does not fit (exit 3), `nnctl.errors.ConfigError` for an output layer that
    does not fit the classes, named after the config file ``shown`` (exit 2).
    """
    facts = data.inspect(cfg)  # looked up when called, as the cli looked it up before
    problem = output_units_problem(cfg, facts.n_classes, facts.classes)
    if problem is not None:
        raise ConfigError(f"{shown}: {problem}")
    return facts


def _check_memory(cfg: Config, n_inputs: int | None, n_train: int | None, shown: str) -> None:
    """Refuse a network too big to train on this machine, as ``nnctl train`` does (exit 2).

    Without the data (``--no-data``) one input and one training row are assumed: the least the
    network can need.
    """
    width, rows = (1, 1) if n_inputs is None else (n_inputs, n_train)
    problem = network_memory_problem(cfg, width, n_rows=rows)
    if problem is not None:
        raise ConfigError(f"{shown}: {problem}", hint=memory_hint(problem))
