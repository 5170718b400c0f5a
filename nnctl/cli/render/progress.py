"""What a person sees while nnctl works: downloads, loading, and training (a live bar or lines).

In a terminal these are Rich live displays on stderr; elsewhere plain lines, one per event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

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
from rich.text import Text

from nnctl.cli.render.consoles import stderr_console
from nnctl.cli.render.formats import format_duration, format_metric, time_left
from nnctl.training.callbacks import Callback, Logs
from nnctl.training.trainer import Trainer


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
