"""``nnctl plot`` on a terminal: each chart the workflow gathered, drawn with `charts.line_chart`.

The loss (train and validation, the best epoch marked), each metric, the learning rate (one line
when it does not change), each layer's update ratio (log scale, with the 1e-3 rule of thumb), and
the confusion matrix as a table. One run: the run's name in each title. Several: each line's
label starts with its run's name.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from rich import box
from rich.console import Console
from rich.text import Text

from nnctl.cli.render.charts import Line, Mark, Style, line_chart
from nnctl.cli.render.consoles import NnctlConsole
from nnctl.cli.render.formats import format_metric
from nnctl.cli.render.tables import confusion_table
from nnctl.inspection.curves import (
    UPDATE_RATIO_REFERENCE,
    Curve,
    RunCurves,
    log_scale_suits,
)
from nnctl.workflows.plot import Plot

#: The widest chart drawn, in characters, however wide the terminal is.
MAX_WIDTH = 100
#: A chart's height in rows of characters (the loss's, and the others').
LOSS_HEIGHT, HEIGHT = 14, 10


def chart_console(file: TextIO | None = None) -> Console:
    """A console for charts on ``file`` (stdout): the terminal's width, else ``COLUMNS`` or 80."""
    return NnctlConsole(
        file=file or sys.stdout, results=True, highlight=False, markup=False, emoji=False
    )


def print_plot(plot: Plot, log_y: bool = False, console: Console | None = None) -> None:
    """Draw ``plot``'s charts on ``console`` (default: stdout), one after the other."""
    console = console or chart_console()
    style = Style.of(console)
    width = min(console.width, MAX_WIDTH)
    runs = plot.runs
    blocks: list[list[Text]] = []
    for kind in plot.kinds:
        if kind == "loss":
            blocks.append(_loss(runs, style, width, log_y))
        elif kind == "metrics":
            blocks.extend(_metric(runs, name, style, width, log_y) for name in _names(runs))
        elif kind == "lr":
            blocks.append(_lr(runs, style, width, log_y))
        elif kind == "update_ratio":
            blocks.append(_update_ratio(runs, style, width))
    for index, block in enumerate(blocks):
        if index:
            console.print()
        for row in block:  # a chart's rows fit; a long title or legend entry wraps
            console.print(row, overflow="fold")
    frame = box.ASCII if style.ascii else box.SIMPLE
    for index, confusion in enumerate(plot.confusions if "confusion" in plot.kinds else []):
        if blocks or index:  # a blank line between charts, none before the first
            console.print()
        console.print(Text(confusion.title.replace("\n", ", "), style="bold"), overflow="fold")
        table = confusion_table(confusion.matrix, confusion.labels, frame)
        table.title = None
        console.print(table)


def _title(runs: Sequence[RunCurves], title: str) -> Text:
    return Text(f"{title} - {runs[0].name}" if len(runs) == 1 else title, style="bold")


def _lines(runs: Sequence[RunCurves], curves_of: Sequence[Sequence[Curve]]) -> list[Line]:
    """One `Line` per curve, labelled with the run's name when there are several runs."""
    several = len(runs) > 1
    return [
        Line(f"{run.name} {curve.label}" if several else curve.label, curve.x, curve.y)
        for run, curves in zip(runs, curves_of, strict=True)
        for curve in curves
    ]


def _loss(runs: Sequence[RunCurves], style: Style, width: int, log_y: bool) -> list[Text]:
    lines = _lines(runs, [run.loss for run in runs])
    marks, first = [], 0
    for run in runs:
        if run.best_epoch is not None:
            line = first + len(run.loss) - 1 if len(runs) > 1 else -1
            value = f" ({run.monitor} {format_metric(run.best_value, run.monitor or 'loss')})"
            name = f" of {run.name}" if len(runs) > 1 else ""
            marks.append(Mark(run.best_epoch, f"best epoch {run.best_epoch}{name}{value}", line))
        first += len(run.loss)
    losses = {run.loss_name for run in runs}
    title = "loss" + (f" ({losses.pop()})" if len(losses) == 1 and None not in losses else "")
    log_y = log_y and log_scale_suits("loss", [c for run in runs for c in run.loss])
    chart = line_chart(lines, width=width, height=LOSS_HEIGHT, style=style, log_y=log_y,
                       marks=marks)  # fmt: skip
    return [_title(runs, title + (" (log scale)" if log_y else "")), *chart]


def _names(runs: Sequence[RunCurves]) -> list[str]:
    names: list[str] = []
    for run in runs:
        names.extend(name for name in run.metrics if name not in names)
    return names


def _metric(
    runs: Sequence[RunCurves], name: str, style: Style, width: int, log_y: bool
) -> list[Text]:
    curves = [run.metrics.get(name, []) for run in runs]
    log_y = log_y and log_scale_suits(name, [c for group in curves for c in group])
    chart = line_chart(_lines(runs, curves), width=width, height=HEIGHT, style=style, log_y=log_y)
    return [_title(runs, name + (" (log scale)" if log_y else "")), *chart]


def _lr(runs: Sequence[RunCurves], style: Style, width: int, log_y: bool) -> list[Text]:
    curves = [run.lr for run in runs if run.lr is not None]
    if all(curve.is_constant() for curve in curves):
        values = [f"{curve.finite()[0][1]:g}" if curve.finite() else "none" for curve in curves]
        if len(runs) == 1:
            return [_title(runs, f"learning rate: {values[0]}, constant")]
        text = ", ".join(f"{run.name} {value}" for run, value in zip(runs, values, strict=True))
        return [Text(f"learning rate, constant: {text}", style="bold")]
    lines = _lines(runs, [[run.lr] if run.lr is not None else [] for run in runs])
    log_y = log_y and log_scale_suits("lr", curves)
    chart = line_chart(lines, width=width, height=HEIGHT, style=style, log_y=log_y)
    return [_title(runs, "learning rate" + (" (log scale)" if log_y else "")), *chart]


def _update_ratio(runs: Sequence[RunCurves], style: Style, width: int) -> list[Text]:
    lines = _lines(runs, [run.update_ratio or [] for run in runs])
    reference = (UPDATE_RATIO_REFERENCE, f"{UPDATE_RATIO_REFERENCE:g} (rule of thumb)")
    chart = line_chart(lines, width=width, height=HEIGHT, style=style, log_y=True,
                       reference=reference)  # fmt: skip
    return [_title(runs, "update ratio ||dW|| / ||W|| (log scale)"), *chart]
