"""``nnctl data``: fetch public datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnctl.errors import NotBuiltYet

app = typer.Typer(help="Fetch public datasets.", no_args_is_help=True)


@app.command("fetch")
def fetch(
    name: Annotated[str, typer.Argument(help="mnist or fashion-mnist.")],
    dest: Annotated[
        Path | None, typer.Option("--dest", help="Folder to write into (default: datasets/NAME).")
    ] = None,
) -> None:
    """Download a dataset's IDX files and verify their checksums.

    Example: nnctl data fetch mnist
    """
    raise NotBuiltYet("'nnctl data fetch' is not built yet")
