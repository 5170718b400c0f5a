"""The ``nnctl`` command line: a Typer app (`nnctl.cli.main`) with one file per command.

Each command file parses its arguments, calls its `nnctl.workflows` operation and hands the result
to `nnctl.cli.render` (or writes JSON). Nothing imported here pulls NumPy, pandas or pydantic.
"""

from nnctl.cli.main import app

__all__ = ["app"]
