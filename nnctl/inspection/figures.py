"""Learning curves as matplotlib figures: one function per chart, and ``nnctl plot``'s page of them.

Each ``*_figure`` function returns a `matplotlib.figure.Figure` of one chart kind, built with
the object API (never pyplot) on `nnctl.inspection.pictures.new_figure`; save it with
`nnctl.inspection.pictures.save_figure` (a file) or `figure_bytes` (an HTML page). The
``draw_*`` functions draw the same charts on an `Axes` someone else laid out (`plot_figure`
puts several on one page). matplotlib is the ``plot`` extra, imported only when a figure is made.

One run: train in blue, validation in orange, the run's name in the title. Several runs: one
colour per run (the legend names it), train solid, validation dashed. The best epoch (``run.json``)
is a dotted vertical line in the run's colour, and a dot on the curve it was chosen by.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from nnctl import extras
from nnctl.inspection.curves import (
    UPDATE_RATIO_REFERENCE,
    Confusion,
    Curve,
    RunCurves,
    log_scale_suits,
)
from nnctl.inspection.pictures import new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: matplotlib's default colour cycle ("tab10"), written out so the colours never depend on rc.
COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
_LINESTYLES = ("-", "--", ":", "-.")


_P = ParamSpec("_P")
_R = TypeVar("_R")


def plain_text(build: Callable[_P, _R]) -> Callable[_P, _R]:
    """Make ``build``'s figure with its texts as written: a ``$`` in a class, column or run name
    is a dollar sign, not the start of matplotlib's math (whose parser fails on ``$5^$``)."""

    @functools.wraps(build)
    def built(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        matplotlib = extras.load("matplotlib", "plot")
        with matplotlib.rc_context({"text.parse_math": False}):
            return build(*args, **kwargs)

    return built


#: Curves of at most this many epochs get a dot at each epoch.
_FEW_EPOCHS = 25
#: One chart's size in inches (at 100 dpi: 640 x 400 pixels).
PANEL = (6.4, 4.0)


@plain_text
def loss_figure(runs: Sequence[RunCurves], log_y: bool = False) -> Figure:
    """The training and validation loss of ``runs`` per epoch, the best epochs marked."""
    figure = new_figure(*PANEL)
    draw_loss(figure.add_subplot(), runs, log_y)
    return figure


@plain_text
def metrics_figure(runs: Sequence[RunCurves], log_y: bool = False) -> Figure:
    """Each metric of ``runs`` (accuracy, rmse, ...) on a chart of its own, two to a row."""
    return plot_figure(runs, ["metrics"], log_y=log_y)


@plain_text
def lr_figure(runs: Sequence[RunCurves], log_y: bool = False) -> Figure:
    """The learning rate of ``runs`` per epoch."""
    figure = new_figure(*PANEL)
    draw_lr(figure.add_subplot(), runs, log_y)
    return figure


@plain_text
def update_ratio_figure(runs: Sequence[RunCurves]) -> Figure:
    """Each layer's update ratio ``||dW|| / ||W||`` per epoch (log scale), with the 1e-3 line."""
    figure = new_figure(*PANEL)
    draw_update_ratio(figure.add_subplot(), runs)
    return figure


@plain_text
def confusion_figure(
    matrix: Sequence[Sequence[int]], labels: Sequence[str], title: str = ""
) -> Figure:
    """A confusion matrix (rows: true class, columns: predicted) as a heat map with its counts."""
    side = min(9.0, 2.5 + 0.45 * len(labels))
    figure = new_figure(side + 0.6, side)
    draw_confusion(figure.add_subplot(), matrix, labels, title)
    return figure


@plain_text
def plot_figure(
    runs: Sequence[RunCurves],
    kinds: Sequence[str],
    confusions: Sequence[Confusion] = (),
    log_y: bool = False,
) -> Figure:
    """``nnctl plot -o``'s page: a chart per kind in ``kinds`` (one per metric, one per confusion
    matrix), two to a row.

    ``log_y`` puts the loss, metrics and learning rate on a log scale (the update ratio always is).
    """
    panels: list[Callable[[Axes], None]] = []
    for kind in kinds:
        if kind == "loss":
            panels.append(lambda axes: draw_loss(axes, runs, log_y))
        elif kind == "metrics":
            panels.extend(_metric_panel(runs, name, log_y) for name in metric_names(runs))
        elif kind == "lr":
            panels.append(lambda axes: draw_lr(axes, runs, log_y))
        elif kind == "update_ratio":
            panels.append(lambda axes: draw_update_ratio(axes, runs))
        elif kind == "confusion":
            panels.extend(_confusion_panel(item) for item in confusions)
    columns = 1 if len(panels) <= 1 else 2
    rows = max(1, math.ceil(len(panels) / columns))
    figure = new_figure(PANEL[0] * columns, PANEL[1] * rows)
    for index, panel in enumerate(panels):
        panel(figure.add_subplot(rows, columns, index + 1))
    return figure


def _metric_panel(runs: Sequence[RunCurves], name: str, log_y: bool) -> Callable[[Axes], None]:
    return lambda axes: draw_metric(axes, runs, name, log_y)


def _confusion_panel(item: Confusion) -> Callable[[Axes], None]:
    return lambda axes: draw_confusion(axes, item.matrix, item.labels, item.title)


def metric_names(runs: Sequence[RunCurves]) -> list[str]:
    """The metrics of ``runs``, in the order the runs' ``metrics.csv`` have them."""
    names: list[str] = []
    for run in runs:
        names.extend(name for name in run.metrics if name not in names)
    return names


def draw_loss(axes: Axes, runs: Sequence[RunCurves], log_y: bool = False) -> None:
    """Draw the loss curves of ``runs`` on ``axes`` (see `loss_figure`)."""
    for index, run in enumerate(runs):
        _lines(axes, runs, index, run.loss)
        _best(axes, runs, index, run.loss, mark=True)
    _run_legend(axes, runs, ["train", "validation"], best=True)
    loss = _common({run.loss_name for run in runs})
    log_y = log_y and log_scale_suits("loss", [c for run in runs for c in run.loss])
    _finish(axes, runs, "loss" + (f" ({loss})" if loss else ""), log_y)


def draw_metric(axes: Axes, runs: Sequence[RunCurves], name: str, log_y: bool = False) -> None:
    """Draw the metric ``name`` of ``runs`` on ``axes`` (runs without it are left out)."""
    every: list[Curve] = []
    for index, run in enumerate(runs):
        curves = run.metrics.get(name, [])
        _lines(axes, runs, index, curves)
        _best(axes, runs, index, curves, mark=False)
        every.extend(curves)
    _run_legend(axes, runs, ["train", "validation"], False, lambda run: run.metrics.get(name))
    _finish(axes, runs, name, log_y and log_scale_suits(name, every))


def draw_lr(axes: Axes, runs: Sequence[RunCurves], log_y: bool = False) -> None:
    """Draw the learning rates of ``runs`` on ``axes``."""
    curves = [run.lr for run in runs if run.lr is not None]
    for index, run in enumerate(runs):
        if run.lr is not None:
            label = run.name if len(runs) > 1 else "learning rate"
            _plot(axes, run.lr, label, COLOURS[index % len(COLOURS)], "-")
    values = {y for curve in curves for _, y in curve.finite()}
    title = "learning rate"
    if len(values) == 1:  # no schedule: say the value, and keep 0 in sight
        value = values.pop()
        title += f" (constant {value:g})"
        axes.set_ylim(0, value * 1.5 if value > 0 else 1)
    _finish(axes, runs, title, log_y and log_scale_suits("lr", curves))


def draw_update_ratio(axes: Axes, runs: Sequence[RunCurves]) -> None:
    """Draw each layer's update ratio of ``runs`` on ``axes`` (log scale), the 1e-3 line dashed."""
    several = len(runs) > 1
    for index, run in enumerate(runs):
        for layer, curve in enumerate(run.update_ratio or []):
            colour = COLOURS[(index if several else layer) % len(COLOURS)]
            style = _LINESTYLES[layer % len(_LINESTYLES)] if several else "-"
            _plot(axes, curve, None if several else curve.label, colour, style)
    layers = max((len(run.update_ratio or []) for run in runs), default=0)
    _run_legend(axes, runs, [f"layer {k}" for k in range(layers)], False, lambda r: r.update_ratio)
    axes.axhline(UPDATE_RATIO_REFERENCE, color="#555555", linestyle="--", linewidth=1,
                 label=f"{UPDATE_RATIO_REFERENCE:g} (rule of thumb)")  # fmt: skip
    _finish(axes, runs, "update ratio ||dW|| / ||W||", log_y=True)


def draw_confusion(
    axes: Axes, matrix: Sequence[Sequence[int]], labels: Sequence[str], title: str = ""
) -> None:
    """Draw a confusion matrix on ``axes``: darker is more, each cell's count written in it."""
    n = len(labels)
    counts = [[int(v) for v in row] for row in matrix]
    top = max((max(row) for row in counts if row), default=0) or 1
    axes.imshow(counts, cmap="Blues", vmin=0, vmax=top, interpolation="nearest")
    size = 10 if n <= 10 else 7
    for i, row in enumerate(counts):
        for j, value in enumerate(row):
            colour = "white" if value > top / 2 else "black"
            axes.text(j, i, str(value), ha="center", va="center", color=colour, fontsize=size)
    axes.set_xticks(range(n), [str(label) for label in labels], rotation=45 if n > 6 else 0)
    axes.set_yticks(range(n), [str(label) for label in labels])
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(title or "confusion matrix", fontsize=10)


def _lines(axes: Axes, runs: Sequence[RunCurves], index: int, curves: Sequence[Curve]) -> None:
    """Draw ``curves`` (train, validation) of ``runs[index]`` in the run's style."""
    several = len(runs) > 1
    for split, curve in enumerate(curves):
        colour = COLOURS[(index if several else split) % len(COLOURS)]
        style = _LINESTYLES[split % len(_LINESTYLES)] if several else "-"
        _plot(axes, curve, None if several else curve.label, colour, style)


def _plot(axes: Axes, curve: Curve, label: str | None, colour: str, style: str) -> None:
    """One curve; with few epochs each is a dot too (one epoch would be no line at all)."""
    marker = "o" if len(curve.x) <= _FEW_EPOCHS else None
    axes.plot(curve.x, curve.y, label=label, color=colour, linestyle=style, linewidth=1.5,
              marker=marker, markersize=3)  # fmt: skip


def _run_legend(
    axes: Axes,
    runs: Sequence[RunCurves],
    kinds: Sequence[str],
    best: bool,
    drawn: Callable[[RunCurves], object] = lambda run: True,
) -> None:
    """Several runs' legend: a colour per run ``drawn`` on the chart (with its best epoch), a line
    style per kind.

    Entries drawn as empty lines, so that ``n`` runs of ``k`` curves need ``n + k`` entries and
    not ``n x k``; one run's curves are labelled as they are drawn instead.
    """
    if len(runs) == 1:
        return
    for index, run in enumerate(runs):
        if not drawn(run):
            continue
        label = run.name + (f" (best epoch {run.best_epoch})" if best and run.best_epoch else "")
        axes.plot([], [], color=COLOURS[index % len(COLOURS)], linewidth=3, label=label)
    for index, kind in enumerate(kinds):
        style = _LINESTYLES[index % len(_LINESTYLES)]
        axes.plot([], [], color="#444444", linestyle=style, linewidth=1.5, label=kind)


def _best(
    axes: Axes, runs: Sequence[RunCurves], index: int, curves: Sequence[Curve], mark: bool
) -> None:
    """The best epoch of ``runs[index]``: a dotted line, and with ``mark`` a dot on its curve."""
    run = runs[index]
    if run.best_epoch is None or not curves:
        return
    colour = COLOURS[index % len(COLOURS)] if len(runs) > 1 else "#444444"
    axes.axvline(run.best_epoch, color=colour, linestyle=":", linewidth=1)
    if not mark:
        return
    chosen = "train" if (run.monitor or "").startswith("train") else "validation"
    curve = next((c for c in curves if c.label == chosen), curves[-1])
    for x, y in curve.finite():
        if x == run.best_epoch:
            label = f"best epoch {x}" if len(runs) == 1 else None
            axes.plot([x], [y], "o", color=colour, markersize=5, label=label)


def _finish(axes: Axes, runs: Sequence[RunCurves], title: str, log_y: bool) -> None:
    """Title (with the run's name for one run), axis labels, grid, legend, log scale."""
    axes.set_title(f"{title} - {runs[0].name}" if len(runs) == 1 else title, fontsize=10)
    axes.set_xlabel("epoch")
    ticker = extras.load("matplotlib.ticker", "plot")
    epochs = ticker.MaxNLocator(integer=True, steps=[1, 2, 5, 10])  # whole numbers, round ones
    axes.xaxis.set_major_locator(epochs)
    low, high = axes.get_xlim()
    if high - low < 2:  # one or two epochs: room for whole numbers on either side
        middle = round((low + high) / 2)
        axes.set_xlim(middle - 1.5, middle + 1.5)
    if log_y:  # ticks at 1, 2, 3 and 5 of each power of ten, written as plain numbers
        axes.set_yscale("log")
        axes.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 3.0, 5.0)))
        axes.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
        axes.yaxis.set_minor_formatter(ticker.NullFormatter())
    axes.grid(True, color="#dddddd", linewidth=0.6)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=8, frameon=False)


def _common(values: set[str | None]) -> str | None:
    """The one value all runs share, else None."""
    return next(iter(values)) if len(values) == 1 else None
