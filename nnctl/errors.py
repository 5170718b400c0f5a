"""The errors nnctl raises, each with the exit code the command line gives it.

A user's mistake (a bad config, a missing file, a corrupt checkpoint) raises a subclass of
`NnctlError`; the CLI turns it into one line on stderr and its ``exit_code``. Anything else that
escapes is a bug: exit 1, with the traceback only under ``--debug``.
"""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_DATA = 3
EXIT_DIVERGED = 4
EXIT_CHECK_FAILED = 5
EXIT_INTERRUPTED = 130


class NnctlError(Exception):
    """Base of every error that is the user's to fix; ``exit_code`` is what the CLI exits with."""

    exit_code: int = EXIT_INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        #: For an error that ended a training: the run's summary as ``nnctl train --json``
        #: prints it (status ``diverged`` or ``interrupted``), so that it still can.
        self.run_summary: dict[str, Any] | None = None

    def __str__(self) -> str:
        return self.message


class ConfigError(NnctlError):
    """A config file, a ``--set`` override or a command-line argument is wrong (exit 2)."""

    exit_code = EXIT_USAGE

    def __init__(
        self, message: str, *, hint: str | None = None, problems: list[str] | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems or [message]


class UsageError(ConfigError):
    """The command line itself is wrong: a missing argument, a run that does not exist (exit 2)."""


class DataError(NnctlError):
    """A data file is missing, unreadable or does not fit the model (exit 3)."""

    exit_code = EXIT_DATA


class NnctlWarning(UserWarning):
    """Something the user should know that is no error; the library goes on.

    The library prints nothing: it raises the warning with `warnings.warn`, and the CLI shows it
    on stderr when it is raised, as ``nnctl: warning: MESSAGE``.
    """


class CheckpointError(NnctlError):
    """A checkpoint is missing, truncated, of an unknown format, or not an nnctl bundle (exit 3)."""

    exit_code = EXIT_DATA


class TrainingDiverged(NnctlError):
    """The loss or a parameter became NaN or infinite during training (exit 4)."""

    exit_code = EXIT_DIVERGED


class CheckFailed(NnctlError):
    """A check ran and found a problem: a gradient that disagrees with its finite differences
    (``nnctl gradcheck``), shown after the report (exit 5)."""

    exit_code = EXIT_CHECK_FAILED


class Interrupted(NnctlError):
    """Ctrl-C or SIGTERM stopped a command; what was complete is saved (exit 130)."""

    exit_code = EXIT_INTERRUPTED
