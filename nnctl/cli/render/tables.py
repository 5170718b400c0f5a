"""The tables of nnctl's results: validate's layers, evaluate's scores, runs list and show.

Results go to stdout (`stdout_console`), except the end-of-training summary, which is a
diagnostic on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.segment import Segment
from rich.table import Table

from nnctl.cli.render.consoles import stderr_console, stdout_console
from nnctl.cli.render.formats import format_metric
from nnctl.store.record import STOPPED


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
    console = stdout_console(out)
    with console.capture() as captured:
        console.print(table)
    out.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def print_run_summary(
    run: Path, info: Mapping[str, Any], test_metrics: Mapping[str, float] | None
) -> None:
    """The end of ``nnctl train``: how it stopped, the best epoch, the test metrics."""
    console = stderr_console()
    table = Table(title=f"run {run.name}", show_header=False, box=box.SIMPLE)
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")  # paths: folded, never cut
    table.add_row("status", str(info.get("status")))
    table.add_row("stopped", str(info.get("stop_reason")))
    table.add_row("epochs", str(info.get("epochs_done")))
    if info.get("best_epoch") is not None:
        monitor = str(info.get("monitor"))
        table.add_row(
            "best epoch",
            f"{info['best_epoch']} ({monitor} {format_metric(info.get('best_value'), monitor)})",
        )
    for key, value in (test_metrics or {}).items():
        table.add_row(f"test {key}", format_metric(value, key))
    table.add_row("run directory", str(run))
    console.print(table)


def print_evaluation(report: Mapping[str, Any]) -> None:
    """``nnctl evaluate``'s tables on stdout: the metrics, per-class scores, confusion matrix."""
    console = stdout_console()
    console.print(
        f"model: {report['model']}\ndata:  {report['data']}", markup=False, soft_wrap=True
    )
    table = Table(box=box.SIMPLE)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("samples", f"{report['n_samples']:,}")
    for key in ("loss", "accuracy", "mse", "rmse", "mae", "r2"):
        if key in report:
            table.add_row(key, format_metric(report[key], key))
    for key, value in (report.get("macro") or {}).items():
        table.add_row(f"macro {key}", format_metric(value, key))
    console.print(table)
    per_class = report.get("per_class")
    if per_class:
        scores = Table(title="per class", box=box.SIMPLE)
        for column in ("class", "precision", "recall", "f1", "support"):
            scores.add_column(column, justify="left" if column == "class" else "right")
        for name, row in per_class.items():
            scores.add_row(
                name,
                *[format_metric(row[k], k) for k in ("precision", "recall", "f1")],
                str(row["support"]),
            )
        console.print(scores)
    cm = report.get("confusion_matrix")
    if cm:
        console.print(confusion_table(cm["matrix"], cm["labels"]))


def confusion_table(
    matrix: Sequence[Sequence[int]], labels: Sequence[str], style: box.Box = box.SIMPLE
) -> Table:
    """A confusion matrix as a table: a row per true class, a column per predicted class."""
    table = Table(
        title="confusion matrix",
        caption="rows: true class; columns: predicted class",
        box=style,
    )
    table.add_column("")
    for label in labels:
        table.add_column(label, justify="right")
    for label, row in zip(labels, matrix, strict=True):
        table.add_row(label, *[str(v) for v in row])
    return table


def print_runs(runs: Sequence[Mapping[str, Any]], console: Console | None = None) -> None:
    """``nnctl runs list`` as a table on stdout (``console``: where, for tests).

    A run's name is what people copy, so it is never cut. On a narrow terminal ``created`` goes
    (the name ends in the start time anyway) and ``best`` wraps into the room left; when even its
    longest word does not fit, the table is printed wider, for the terminal to wrap.
    """
    console = console or stdout_console()
    rows = [_run_row(run) for run in runs]
    full = _runs_table(rows, _RUN_COLUMNS)
    if _natural_width(console, full) <= console.width:
        console.print(full)
        return
    columns = _RUN_COLUMNS[:4]
    rest = _natural_width(console, _runs_table(rows, columns, best_width=1)) - 1
    best = [columns[3], *(row[3] for row in rows)]
    longest_word = max(len(word) for cell in best for word in cell.split())
    width = min(max(console.width - rest, longest_word), max(map(len, best)))
    table = _runs_table(rows, columns, width)
    terminal = console.width
    console.width = max(terminal, rest + width)  # wider only when the terminal must wrap
    try:
        console.print(table)
    finally:
        console.width = terminal


_RUN_COLUMNS = ("run", "status", "epochs", "best", "created")


def _natural_width(console: Console, table: Table) -> int:
    """The width ``table`` takes on a terminal wide enough for all of it."""
    lines = console.render_lines(table, console.options.update_width(1 << 16), pad=False)
    return max((Segment.get_line_length(line) for line in lines), default=0)


def _run_row(run: Mapping[str, Any]) -> list[str]:
    """A run's cells: name, status, epochs, best, created (to the minute, local time)."""
    best = "-"
    if run.get("best_epoch") is not None:
        value = format_metric(run["best_value"], run["monitor"])
        best = f"{run['monitor']} {value} (epoch {run['best_epoch']})"
    created = str(run["created"])[:16].replace("T", " ")
    status = "stopped (killed?)" if run["status"] == STOPPED else run["status"]  # its process gone
    return [run["name"], status, str(run["epochs"]), best, created]


def _runs_table(
    rows: Sequence[Sequence[str]], columns: Sequence[str], best_width: int | None = None
) -> Table:
    """The runs table with ``columns`` (a prefix of `_RUN_COLUMNS`); only ``best`` may wrap."""
    table = Table(box=box.SIMPLE)
    for name in columns:
        wraps = name == "best"
        table.add_column(
            name,
            justify="right" if name == "epochs" else "left",
            no_wrap=not wraps,  # never shrunk by Rich, so never cut with an ellipsis
            width=best_width if wraps else None,
        )
    for row in rows:
        table.add_row(*row[: len(columns)])
    return table


def _csv_value(value: float | None, name: str) -> str:
    """A ``metrics.csv`` value (a number, None when empty) as `format_metric` shows it."""
    return format_metric(value, name)


def print_run_details(details: Mapping[str, Any]) -> None:
    """``nnctl runs show`` as tables on stdout."""
    console = stdout_console()
    info = details["info"]
    table = Table(title=details["run"], show_header=False, box=box.SIMPLE)
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")  # paths: folded, never cut
    for key in (
        "status",
        "stop_reason",
        "epochs_done",
        "best_epoch",
        "monitor",
        "best_value",
        "seed",
        "started",
        "ended",
    ):
        name = str(info.get("monitor")) if key == "best_value" else key
        table.add_row(key, format_metric(info.get(key), name))
    config = details["config"]
    table.add_row("layers", ", ".join(config["layers"]))
    table.add_row("loss", format_metric(config["loss"]))
    optimizer = dict(config["optimizer"] or {})
    name = optimizer.pop("name", "?")
    table.add_row("optimizer", f"{name} " + ", ".join(f"{k}={v}" for k, v in optimizer.items()))
    table.add_row("epochs / batch", f"{config['epochs']} / {config['batch_size']}")
    for key, value in (details.get("last_epoch") or {}).items():
        table.add_row(f"last {key}", _csv_value(value, key))
    for key, value in (details.get("test") or {}).items():
        if key not in ("split", "checkpoint"):
            table.add_row(f"test {key}", format_metric(value, key))
    console.print(table)
    files = Table(title="files", box=box.SIMPLE)
    files.add_column("path", overflow="fold")
    files.add_column("bytes", justify="right")
    for item in details["files"]:
        files.add_row(item["path"], f"{item['bytes']:,}")
    console.print(files)
