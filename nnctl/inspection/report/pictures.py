"""The report's own pictures: layer activity over epochs, first-layer weights as image tiles,
and the test images the model got most wrong. The learning curves, the update ratio and the
confusion matrix come from `nnctl.inspection.figures` (the charts ``nnctl plot`` draws)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from nnctl import extras
from nnctl.inspection.figures import COLOURS, plain_text
from nnctl.inspection.pictures import figure_bytes, new_figure
from nnctl.inspection.report.inputs import Wrong
from nnctl.inspection.run_facts import Row

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: At most this many first-layer units are drawn as tiles, and this many wrong images.
MAX_TILES = 64
MAX_WRONG = 16


def png(figure: Figure) -> bytes:
    """``figure`` as PNG bytes (the same bytes for the same figure)."""
    return figure_bytes(figure, "png")


@plain_text
def activity_figure(rows: Sequence[Row]) -> Figure:
    """Each layer's dead and saturated fractions per epoch (``layer_stats.csv``), side by side."""
    figure = new_figure(10.0, 3.6)
    ticker = extras.load("matplotlib.ticker", "plot")
    layers = sorted({int(r["layer"] or 0) for r in rows})
    for position, (column, title) in enumerate(
        (
            ("dead_fraction", "dead units (relu: never positive)"),
            ("saturated_fraction", "saturated units (sigmoid, tanh)"),
        )
    ):
        axes = figure.add_subplot(1, 2, position + 1, sharex=figure.axes[0] if position else None)
        for layer in layers:
            points = [(r["epoch"], r[column]) for r in rows if int(r["layer"] or 0) == layer]
            x = [math.nan if p[0] is None else p[0] for p in points]
            y = [math.nan if p[1] is None else p[1] for p in points]
            if any(math.isfinite(v) for v in y):
                colour = COLOURS[layer % len(COLOURS)]
                axes.plot(x, y, color=colour, label=f"layer {layer}", marker=".")
        axes.set_ylim(-0.03, 1.03)
        axes.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))  # epochs: no 0.5
        axes.set_xlabel("epoch (0 = initialization)")
        axes.set_ylabel("fraction of units")
        axes.set_title(title, fontsize=10)
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=8)
        else:
            axes.text(0.5, 0.5, "no layer of this kind", ha="center", va="center",
                      transform=axes.transAxes, color="#777777")  # fmt: skip
    return figure


@plain_text
def weight_tiles_figure(weights: np.ndarray, shape: tuple[int, ...]) -> Figure:
    """The first layer's ``W`` (pixels x units): each unit's incoming weights as an image.

    Each tile has its own symmetric colour scale (red positive, blue negative, white 0), so that a
    unit's pattern shows whatever its size.
    """
    units = min(weights.shape[1], MAX_TILES)
    columns = min(units, 16)
    rows = math.ceil(units / columns)
    figure = new_figure(columns * 0.75, rows * 0.75 + 0.3)
    for unit in range(units):
        axes = figure.add_subplot(rows, columns, unit + 1)
        tile = weights[:, unit].reshape(shape[-2:])
        limit = float(np.max(np.abs(tile))) or 1.0
        axes.imshow(tile, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        axes.set_axis_off()
        axes.set_title(str(unit), fontsize=6, pad=1)
    return figure


@plain_text
def wrong_images_figure(wrong: Sequence[Wrong]) -> Figure:
    """The test images the model got most wrong, worst first, each titled true -> predicted."""
    shown = list(wrong[:MAX_WRONG])
    columns = min(len(shown), 8)
    rows = math.ceil(len(shown) / columns)
    figure = new_figure(columns * 1.25, rows * 1.55)
    for index, item in enumerate(shown):
        axes = figure.add_subplot(rows, columns, index + 1)
        axes.imshow(
            item.image if item.image is not None else np.zeros((1, 1)),
            cmap="gray_r",
            interpolation="nearest",
        )
        axes.set_axis_off()
        axes.set_title(
            f"#{item.row}\n{item.true} -> {item.predicted}\np={item.score:.2f}", fontsize=7
        )
    return figure


@plain_text
def fit_figure(y_true: np.ndarray, y_pred: np.ndarray) -> Figure:
    """Predicted against true targets (the first output), with the line where they are equal."""
    figure = new_figure(5.0, 4.6)
    axes = figure.add_subplot()
    truth, guess = y_true[:, 0], y_pred[:, 0]
    low = float(min(truth.min(), guess.min()))
    high = float(max(truth.max(), guess.max()))
    axes.plot([low, high], [low, high], color="#555555", linestyle="--", linewidth=1,
              label="predicted = true")  # fmt: skip
    axes.scatter(truth, guess, s=14, color=COLOURS[0], alpha=0.75, label="test rows")
    axes.set_xlabel("true")
    axes.set_ylabel("predicted")
    axes.set_title("test split: predicted against true", fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return figure
