"""Everything nnctl shows on a terminal; the only module that imports Rich.

Commands call these functions; the library never prints.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from nnctl.callbacks import Callback, Logs
from nnctl.cli.streams import OutputClosed
from nnctl.training import Trainer


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


# --- training progress ----------------------------------------------------------------------------


def _format_value(value: object) -> str:
    if isinstance(value, float):
        if value != value:
            return "-"
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.4e}"
    return "-" if value is None else str(value)


class TrainingProgress(Callback):
    """Training on stderr: a live bar and a row per epoch in a terminal, plain lines elsewhere.

    The bar is redrawn at most four times a second, so the cost per batch is one clock read;
    each redraw costs a few milliseconds (``benchmarks/bench_progress.py`` measures the total).
    """

    REFRESH_SECONDS = 0.25

    def __init__(self, epochs: int, metrics: Sequence[str], console: Console | None = None) -> None:
        self.console = console or stderr_console()
        self.epochs = epochs
        self.metrics = list(metrics)
        self.live = self.console.is_terminal
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.last_refresh = 0.0
        self.columns: list[str] | None = None
        self.epoch_started = 0.0

    def on_train_begin(self, trainer: Trainer) -> None:
        super().on_train_begin(trainer)
        if not self.live:
            return
        # One live display for the whole run: starting one per epoch costs milliseconds, which
        # is several percent of a short epoch.
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}/" + str(self.epochs)),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("batches"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            auto_refresh=False,
        )
        self.progress.start()
        self.task = self.progress.add_task("train", total=1, epoch=0, rate="", loss="-")

    def on_epoch_begin(self, epoch: int, logs: Logs) -> None:
        self.epoch_started = time.perf_counter()
        if self.progress is None or self.task is None:
            return
        trainer = self.trainer
        total = -(-len(trainer.train_split.X) // trainer.batch_size)  # batches, rounded up
        self.progress.reset(self.task, total=total, epoch=epoch, rate="", loss="-")

    def on_batch_end(self, batch: int, logs: Logs) -> None:
        if self.progress is None or self.task is None:
            return
        now = time.perf_counter()
        if now - self.last_refresh < self.REFRESH_SECONDS:
            return
        self.last_refresh = now
        rate = logs["samples"] / max(now - self.epoch_started, 1e-9)
        self.progress.update(
            self.task,
            completed=batch + 1,
            rate=f"{rate:,.0f} samples/s",
            loss=f"{logs['loss']:.4f}",
        )
        self.progress.refresh()

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        keys = [k for k in logs if not k.startswith("_") and k not in ("lr", "seconds")]
        keys = sorted(keys, key=lambda k: (k.startswith("val_"), k != "loss" and k != "val_loss"))
        if self.live:
            self._table_row(epoch, keys, logs)
        else:
            parts = [f"epoch {epoch}/{self.epochs}"]
            parts += [f"{key} {_format_value(logs[key])}" for key in keys]
            parts += [f"lr {logs['lr']:.3g}", f"{logs.get('seconds', 0.0):.2f}s"]
            self._write_line("  ".join(parts))

    def _write_line(self, line: str) -> None:
        """A plain line on the console's stream; once the stream is gone, nothing more is written.

        Progress is not a result: a reader of stderr that went away (``2>&1 | head -3``) stops
        the lines, not the training.
        """
        if self.console.quiet:
            return
        try:
            self.console.file.write(line + "\n")
            self.console.file.flush()
        except OSError:
            self.console.quiet = True

    def _table_row(self, epoch: int, keys: list[str], logs: Logs) -> None:
        widths = [7, *[max(len(k), 9) for k in keys], 9, 8]
        if self.columns is None:
            self.columns = keys
            header = ["epoch", *keys, "lr", "seconds"]
            line = "  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))
            self.console.print(Text(line, style="bold"))
        cells = [f"{epoch}/{self.epochs}", *[_format_value(logs.get(k)) for k in keys]]
        cells += [f"{logs['lr']:.3g}", f"{logs.get('seconds', 0.0):.2f}"]
        line = "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))
        self.console.print(line, markup=False, highlight=False)

    def on_train_end(self, logs: Logs) -> None:
        self.close()

    def close(self) -> None:
        """Take the live bar off the screen (also when training ends in an error)."""
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def print_run_summary(
    run: Path, info: Mapping[str, Any], test_metrics: Mapping[str, float] | None
) -> None:
    """The end of ``nnctl train``: how it stopped, the best epoch, the test metrics."""
    console = stderr_console()
    table = Table(title=f"run {run.name}", show_header=False, box=box.SIMPLE)
    table.add_column("key", style="bold")
    table.add_column("value")
    table.add_row("status", str(info.get("status")))
    table.add_row("stopped", str(info.get("stop_reason")))
    table.add_row("epochs", str(info.get("epochs_done")))
    if info.get("best_epoch") is not None:
        table.add_row(
            "best epoch",
            f"{info['best_epoch']} ({info.get('monitor')} {_format_value(info.get('best_value'))})",
        )
    for key, value in (test_metrics or {}).items():
        table.add_row(f"test {key}", _format_value(value))
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
    table.add_row("samples", str(report["n_samples"]))
    for key in ("loss", "accuracy", "mse", "rmse", "mae", "r2"):
        if key in report:
            table.add_row(key, _format_value(report[key]))
    for key, value in (report.get("macro") or {}).items():
        table.add_row(f"macro {key}", _format_value(value))
    console.print(table)
    per_class = report.get("per_class")
    if per_class:
        scores = Table(title="per class", box=box.SIMPLE)
        for column in ("class", "precision", "recall", "f1", "support"):
            scores.add_column(column, justify="left" if column == "class" else "right")
        for name, row in per_class.items():
            scores.add_row(
                name,
                *[_format_value(row[k]) for k in ("precision", "recall", "f1")],
                str(row["support"]),
            )
        console.print(scores)
    cm = report.get("confusion_matrix")
    if cm:
        matrix = Table(
            title="confusion matrix",
            caption="rows: true class; columns: predicted class",
            box=box.SIMPLE,
        )
        matrix.add_column("")
        for label in cm["labels"]:
            matrix.add_column(label, justify="right")
        for label, row in zip(cm["labels"], cm["matrix"], strict=True):
            matrix.add_row(label, *[str(v) for v in row])
        console.print(matrix)


def print_runs(runs: Sequence[Mapping[str, Any]]) -> None:
    """``nnctl runs list`` as a table on stdout."""
    table = Table(box=box.SIMPLE)
    for column in ("run", "status", "epochs", "best", "created"):
        table.add_column(column)
    for run in runs:
        best = (
            f"{run['monitor']} {_format_value(run['best_value'])} (epoch {run['best_epoch']})"
            if run.get("best_epoch") is not None
            else "-"
        )
        table.add_row(run["name"], run["status"], str(run["epochs"]), best, run["created"])
    stdout_console().print(table)


def print_run_details(details: Mapping[str, Any]) -> None:
    """``nnctl runs show`` as tables on stdout."""
    console = stdout_console()
    info = details["info"]
    table = Table(title=details["run"], show_header=False, box=box.SIMPLE)
    table.add_column("key", style="bold")
    table.add_column("value")
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
        table.add_row(key, _format_value(info.get(key)))
    config = details["config"]
    table.add_row("layers", ", ".join(config["layers"]))
    table.add_row("loss", _format_value(config["loss"]))
    optimizer = dict(config["optimizer"] or {})
    name = optimizer.pop("name", "?")
    table.add_row("optimizer", f"{name} " + ", ".join(f"{k}={v}" for k, v in optimizer.items()))
    table.add_row("epochs / batch", f"{config['epochs']} / {config['batch_size']}")
    for key, value in (details.get("last_epoch") or {}).items():
        table.add_row(f"last {key}", value)
    for key, value in (details.get("test") or {}).items():
        if key not in ("split", "checkpoint"):
            table.add_row(f"test {key}", _format_value(value))
    console.print(table)
    files = Table(title="files", box=box.SIMPLE)
    files.add_column("path")
    files.add_column("bytes", justify="right")
    for item in details["files"]:
        files.add_row(item["path"], f"{item['bytes']:,}")
    console.print(files)
