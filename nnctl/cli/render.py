"""Everything nnctl shows on a terminal; the only module that imports Rich.

Commands call these functions; the library never prints.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table


def stderr_console() -> Console:
    """A console on stderr; plain text (no colour, no cursor movement) when it is not a terminal."""
    return Console(file=sys.stderr, highlight=False)


def print_table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    file: TextIO | None = None,
    *,
    right_align: Collection[int] = (),
    footer: Sequence[str] | None = None,
) -> None:
    """Print a table of plain strings (no markup is interpreted) to ``file`` (default stdout).

    ``right_align`` lists the indexes of numeric columns; ``footer``, if given, is a last row set
    apart by a rule (totals).
    """
    table = Table(title=title, box=box.SIMPLE, show_edge=False, show_footer=footer is not None)
    for index, name in enumerate(columns):
        table.add_column(
            name,
            justify="right" if index in right_align else "left",
            footer=footer[index] if footer is not None else "",
        )
    for row in rows:
        table.add_row(*row)
    out = file or sys.stdout
    console = Console(file=out, markup=False, highlight=False, emoji=False)
    with console.capture() as captured:
        console.print(table)
    out.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


@contextmanager
def download_progress() -> Iterator[Callable[[str, int, int | None], None]]:
    """A Rich progress bar per downloaded file on stderr; yields the callback that advances it.

    The callback takes (file name, bytes so far, total bytes or None).
    """
    console = stderr_console()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        tasks: dict[str, TaskID] = {}

        def update(name: str, done: int, total: int | None) -> None:
            if name not in tasks:
                tasks[name] = progress.add_task(name, total=total)
            progress.update(tasks[name], completed=done, total=total)

        yield update
