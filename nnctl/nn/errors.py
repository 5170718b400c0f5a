"""The engine's own exceptions, raised by `nnctl.nn` and translated at its boundary.

The engine imports nothing of the command line, so it cannot raise ``nnctl.errors.ConfigError``
or ``TrainingDiverged``; the code that calls it turns these into those, with the same message and
hint (`nnctl.training.boundary.engine_errors`).

- `EngineConfigError` (also a `ValueError`): a bad name, parameter or shape, raised when the
  object is built, with a did-you-mean where a name is unknown.
- `NonFiniteError` (also an `ArithmeticError`): the loss, the gradient norm or a parameter of a
  training step is NaN or infinite.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base of the engine's errors: a one-line ``message`` and an optional ``hint``.

    Parameters
    ----------
    message : str
        What is wrong, naming the value; ``str(error)`` is this message.
    hint : str, optional
        What to do about it.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class EngineConfigError(EngineError, ValueError):
    """A layer, loss, activation, initializer, optimizer or schedule was built with a bad value."""


class NonFiniteError(EngineError, ArithmeticError):
    """A training step met a loss, gradient norm or parameter that is not finite."""
