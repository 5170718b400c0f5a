"""Where the engine meets the rest of nnctl: its exceptions become nnctl's, message for message.

The engine (`nnctl.nn`) raises its own `EngineConfigError` and `NonFiniteError`; the command line
knows `ConfigError` (exit 2) and `TrainingDiverged` (exit 4). Code that builds engine objects or
runs training steps does so inside `engine_errors`::

    with engine_errors():
        network = Network.build(...)

Config validation, the workflows and the training loop share this one translation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nnctl.errors import ConfigError, NnctlError, TrainingDiverged
from nnctl.nn.errors import EngineError, NonFiniteError


def translate(error: EngineError) -> NnctlError:
    """The nnctl error for an engine error: the same message and hint.

    `NonFiniteError` becomes `TrainingDiverged`; `EngineConfigError` (any other) `ConfigError`.
    """
    if isinstance(error, NonFiniteError):
        return TrainingDiverged(error.message, hint=error.hint)
    return ConfigError(error.message, hint=error.hint)


@contextmanager
def engine_errors() -> Iterator[None]:
    """Run a block, raising the engine's errors as `translate` gives them (without a chain)."""
    try:
        yield
    except EngineError as error:
        raise translate(error) from None
