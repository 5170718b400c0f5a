"""``nnctl data``: fetch public datasets."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Fetch public datasets.", no_args_is_help=True)


@app.command("fetch")
def fetch(
    name: Annotated[str, typer.Argument(metavar="NAME", help="mnist or fashion-mnist.")],
    dest: Annotated[
        Path | None, typer.Option("--dest", help="Folder to write into (default: datasets/NAME).")
    ] = None,
) -> None:
    """Download a dataset's IDX files and verify their checksums.

    Files already present with the right MD5 are skipped; each download goes to a temporary name
    and is renamed once verified; a failing mirror is followed by the next one. Prints the folder.

    Example: nnctl data fetch mnist
    """
    from nnctl.cli.render import download_progress
    from nnctl.workflows.data import fetch_dataset

    with download_progress() as progress:
        fetched = fetch_dataset(name, dest, progress=progress)
    for result in fetched.files:
        sys.stderr.write(f"{result.status}: {result.path}\n")
    sys.stdout.write(f"{fetched.folder}\n")
