"""The Rich consoles nnctl prints on: results on stdout, diagnostics on stderr.

A closed pipe follows the policies of `nnctl.cli.streams`, not Rich's (which exits with 1).
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from rich.console import Console

from nnctl.cli.streams import OutputClosed


class NnctlConsole(Console):
    """A Rich console that a closed pipe never turns into ``SystemExit(1)`` (Rich's default).

    A console of results (stdout) whose reader went away raises `OutputClosed`: the command stops
    quietly with exit 0. A console of diagnostics (stderr) goes quiet and the command carries on.
    """

    def __init__(self, *args: Any, results: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.results = results

    def on_broken_pipe(self) -> None:
        self.quiet = True
        if self.results:
            raise OutputClosed


def stderr_console() -> Console:
    """A console on stderr; plain text (no colour, no cursor movement) when it is not a terminal."""
    return NnctlConsole(file=sys.stderr, highlight=False, results=False)


def stdout_console(file: TextIO | None = None) -> Console:
    """A console for results printed as tables; wide when not a terminal, so nothing is cut."""
    out = file or sys.stdout
    options: dict[str, Any] = {"highlight": False, "markup": False, "emoji": False}
    console = NnctlConsole(file=out, results=True, **options)
    if not console.is_terminal:
        console = NnctlConsole(file=out, results=True, width=250, **options)
    return console
