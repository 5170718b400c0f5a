"""Everything nnctl shows on a terminal; the only package that imports Rich.

Commands call these functions as ``render.X``; the library never prints.

- `consoles`: the Rich consoles on stdout and stderr, with nnctl's closed-pipe policies.
- `progress`: downloads, loading and training as they happen (a live display or plain lines).
- `tables`: the tables of results (validate, evaluate, runs list and show, a run's summary).
- `formats`: how a metric's value and a duration read, the same in every table and line.
- `diagnostics`: the reports of gradcheck and doctor.
- `charts`: line charts on a grid of characters (braille, symbols, ASCII); `plots`: ``nnctl plot``.
"""

from nnctl.cli.render.consoles import NnctlConsole, stderr_console, stdout_console
from nnctl.cli.render.diagnostics import print_findings, print_gradcheck, print_warnings
from nnctl.cli.render.inspect import print_inspection, print_trace
from nnctl.cli.render.progress import (
    TrainingProgress,
    describe_files,
    download_progress,
    loading_status,
)
from nnctl.cli.render.tables import (
    print_evaluation,
    print_run_details,
    print_run_summary,
    print_runs,
    print_table,
)

__all__ = [
    "NnctlConsole",
    "TrainingProgress",
    "describe_files",
    "download_progress",
    "loading_status",
    "print_evaluation",
    "print_findings",
    "print_gradcheck",
    "print_inspection",
    "print_run_details",
    "print_run_summary",
    "print_runs",
    "print_table",
    "print_trace",
    "print_warnings",
    "stderr_console",
    "stdout_console",
]
