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
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from nnctl.cli.formats import format_duration, format_metric, time_left
from nnctl.cli.streams import OutputClosed
from nnctl.training.callbacks import Callback, Logs
from nnctl.training.trainer import Trainer


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


def describe_files(paths: Sequence[Path]) -> str:
    """``datasets/iris.csv``, or ``train.csv and 2 more files``: what is being loaded."""
    shown = [_relative(path) for path in paths]
    if len(shown) <= 1:
        return "".join(shown)
    return f"{shown[0]} and {len(shown) - 1} more file{'s' if len(shown) > 2 else ''}"


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@contextmanager
def loading_status(what: str, console: Console | None = None) -> Iterator[None]:
    """``loading WHAT...`` on stderr while the block runs, then ``loaded WHAT in 1.2s``.

    In a terminal the first is a spinner that the second replaces; elsewhere both are plain
    lines. When the block raises, only its error follows.
    """
    console = console or stderr_console()
    started = time.perf_counter()
    if console.is_terminal:
        with console.status(Text(f"loading {what}..."), spinner="dots"):
            yield
    else:
        console.file.write(f"loading {what}...\n")
        console.file.flush()
        yield
    seconds = format_metric(time.perf_counter() - started, "seconds")
    console.print(Text(f"loaded {what} in {seconds}s"), highlight=False)


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
        self.epoch = 0
        self.past_epochs: list[float] = []  # seconds of each epoch finished, for the ETA

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
            TextColumn("{task.fields[eta]}"),
            console=self.console,
            transient=True,
            auto_refresh=False,
        )
        self.progress.start()
        self.task = self.progress.add_task("train", total=1, epoch=0, rate="", loss="-", eta="")

    def on_epoch_begin(self, epoch: int, logs: Logs) -> None:
        self.epoch_started = time.perf_counter()
        self.epoch = epoch
        if self.progress is None or self.task is None:
            return
        self.progress.reset(
            self.task, total=self._batches(), epoch=epoch, rate="", loss="-", eta=""
        )

    def _batches(self) -> int:
        """Batches in an epoch: the training rows over the batch size, rounded up."""
        return -(-len(self.trainer.train_split.X) // self.trainer.batch_size)

    def on_batch_end(self, batch: int, logs: Logs) -> None:
        if self.progress is None or self.task is None:
            return
        now = time.perf_counter()
        if now - self.last_refresh < self.REFRESH_SECONDS:
            return
        self.last_refresh = now
        elapsed = max(now - self.epoch_started, 1e-9)
        rate = logs["samples"] / elapsed
        epoch_left, run_left = time_left(
            batch + 1, self._batches(), elapsed, self.epochs - self.epoch, self.past_epochs
        )
        self.progress.update(
            self.task,
            completed=batch + 1,
            rate=f"{rate:,.0f} samples/s",
            loss=format_metric(logs["loss"], "loss"),
            eta=f"{format_duration(epoch_left)} left, run {format_duration(run_left)}",
        )
        self.progress.refresh()

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        self.past_epochs.append(time.perf_counter() - self.epoch_started)
        keys = [k for k in logs if not k.startswith("_") and k not in ("lr", "seconds")]
        keys = sorted(keys, key=lambda k: (k.startswith("val_"), k != "loss" and k != "val_loss"))
        if self.live:
            self._table_row(epoch, keys, logs)
        else:
            parts = [f"epoch {epoch}/{self.epochs}"]
            parts += [f"{key} {format_metric(logs[key], key)}" for key in keys]
            parts += [f"lr {format_metric(logs['lr'], 'lr')}"]
            parts += [f"{format_metric(logs.get('seconds', 0.0), 'seconds')}s"]
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
        cells = [f"{epoch}/{self.epochs}", *[format_metric(logs.get(k), k) for k in keys]]
        cells += [
            format_metric(logs["lr"], "lr"),
            format_metric(logs.get("seconds", 0.0), "seconds"),
        ]
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
    return [run["name"], run["status"], str(run["epochs"]), best, created]


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
