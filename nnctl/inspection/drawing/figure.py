"""The matplotlib figure of a `Layout`: circles, lines, labels and a legend, no pyplot.

Every drawn neuron, connection and "... N more" mark carries a ``gid`` (matplotlib writes it as
the ``id`` of the SVG element), so a picture can be checked by counting its elements:

* ``neuron-L-I``: unit ``I`` of column ``L`` (0 is the input);
* ``connection-L-I-J``: the weight ``W[I, J]`` from column ``L`` to column ``L + 1``;
* ``more-L``: the mark for the units of column ``L`` not shown;
* ``image-0`` and ``feed-1-J``: an image input, and its line to unit ``J`` of the first layer.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnctl import extras
from nnctl.inspection import pictures
from nnctl.inspection.drawing.layout import (
    COLUMN_GAP,
    MAX_WIDTH,
    NEGATIVE,
    POSITIVE,
    Column,
    Layout,
    Unit,
    colour_of,
)
from nnctl.inspection.drawing.network import network_layout
from nnctl.inspection.figures import plain_text
from nnctl.inspection.sources import Opened, open_model

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Inches between two neurons of a column; fonts are in points, so this fixes their room.
INCH_PER_UNIT = 0.42
#: A neuron's radius, in the distance between two neurons.
RADIUS = 0.3
#: An image input's width, in the same units.
IMAGE_WIDTH = 3.4
#: Text sizes in points: labels, the small numbers (bias, activation), titles.
LABEL, SMALL, TITLE = 8.0, 5.0, 8.0
#: The narrowest figure, in inches: room for the legend.
MIN_WIDTH_INCHES = 6.4
#: A neuron whose activation is NaN or infinite (the row overflowed the network).
NOT_FINITE = "#bbbbbb"


def network_figure(
    model_or_opened: Path | str | Opened,
    row: int | None = None,
    max_units: int = 12,
    *,
    split: str | None = None,
    input_path: Path | None = None,
    runs_dir: Path | None = None,
) -> Figure:
    """The network of a model drawn as a matplotlib `Figure` (what ``nnctl draw`` saves).

    Parameters
    ----------
    model_or_opened : Path, str or Opened
        A run directory, a run's name, a checkpoint, or a model opened with `open_model`.
    row : int or None
        Fill each neuron with its activation for this row of ``input_path`` or of the run's
        ``split`` (default ``test``), and label the outputs with the prediction.
    max_units : int
        At most this many neurons per layer, the strongest by total ``|W|``.

    Returns
    -------
    Figure
        Built without pyplot; save it with `nnctl.inspection.pictures.save_figure` or turn it
        into bytes with `nnctl.inspection.pictures.figure_bytes` (an HTML page can embed the
        SVG). Its artists have the ``gid`` values listed in this module's docstring.
    """
    if isinstance(model_or_opened, Opened):
        opened = model_or_opened
    else:
        opened = open_model(Path(model_or_opened), runs_dir)
    layout = network_layout(opened, row, max_units, split=split, input_path=input_path)
    return layout_figure(layout)


@plain_text
def layout_figure(layout: Layout) -> Figure:
    """A `Layout` drawn: the lines under the neurons, labels beside them, the legend below."""
    xmin, xmax, ymin, ymax = _extent(layout)
    width = (xmax - xmin) * INCH_PER_UNIT + 0.3
    if width < MIN_WIDTH_INCHES:  # widen the box both ways, the drawing stays in the middle
        extra = (MIN_WIDTH_INCHES - width) / INCH_PER_UNIT / 2
        xmin, xmax, width = xmin - extra, xmax + extra, MIN_WIDTH_INCHES
    figure = pictures.new_figure(width, (ymax - ymin) * INCH_PER_UNIT + 1.0)
    ax = figure.add_subplot()
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_axis_off()
    _draw_connections(ax, layout)
    top = (layout.rows - 1) / 2
    last = len(layout.columns) - 1
    for column in layout.columns:
        ax.text(column.x, top + 0.65, column.title, ha="center", va="bottom", fontsize=TITLE)
        if column.image is not None:
            _draw_image(ax, column, layout.columns[1].units)
        _draw_neurons(
            ax, column, side=-1 if column.layer == 0 else 1 if column.layer == last else 0
        )
        if column.hidden and column.more_y is not None:
            ax.text(
                column.x,
                column.more_y,
                f"... {column.hidden} more",
                ha="center",
                va="center",
                fontsize=LABEL,
                style="italic",
                gid=f"more-{column.layer}",
            )
    _legend(figure, row=any(u.value is not None for c in layout.columns for u in c.units))
    if layout.caption:
        figure.suptitle(layout.caption, fontsize=LABEL)
    return figure


def _draw_connections(ax: Axes, layout: Layout) -> None:
    """One line per weight, from the edge of one circle to the edge of the other."""
    lines = extras.load("matplotlib.lines", "plot")
    for c in layout.connections:
        x0 = c.layer * COLUMN_GAP + RADIUS
        ax.add_line(
            lines.Line2D(
                [x0, x0 + COLUMN_GAP - 2 * RADIUS],
                [c.y0, c.y1],
                lw=c.width,
                color=c.colour,
                alpha=0.8,
                solid_capstyle="butt",
                zorder=1,
                gid=f"connection-{c.layer}-{c.i}-{c.j}",
            )
        )


def _extent(layout: Layout) -> tuple[float, float, float, float]:
    """The data box: room for the labels left and right, the titles above."""
    first, last = layout.columns[0], layout.columns[-1]
    left = max((len(u.label or "") for u in first.units), default=0) * 0.17 + 0.6
    if first.image is not None:
        left = IMAGE_WIDTH / 2 + 0.3
    right = max((len(u.label or "") for u in last.units), default=0) * 0.17 + 0.8
    half = layout.rows / 2
    if first.image is not None:
        h, w = first.image.shape
        half = max(half, IMAGE_WIDTH * h / w / 2 + 0.3)
    return -left, last.x + right, -half, half + 1.5


def _draw_neurons(ax: Axes, column: Column, side: int) -> None:
    """Circles (filled by the row's activation), the bias below each, the labels beside them.

    ``side`` is where the labels go: -1 left (the inputs), 1 right (the outputs, the likeliest
    in bold), 0 none.
    """
    patches = extras.load("matplotlib.patches", "plot")
    values = [u.value for u in column.units if u.value is not None and math.isfinite(u.value)]
    scale = max((abs(v) for v in values), default=0.0)
    best = max(values, default=None)
    x = column.x
    for unit in column.units:
        gid = f"neuron-{unit.layer}-{unit.index}"
        fill = _fill(unit, scale)
        ax.add_patch(patches.Circle((x, unit.y), RADIUS, facecolor=fill, edgecolor="#333333",
                                    lw=0.8, zorder=3, gid=gid))  # fmt: skip
        small: dict[str, Any] = {"ha": "center", "fontsize": SMALL, "zorder": 4}
        if unit.value is not None:
            dark = scale > 0 and abs(unit.value) / scale > 0.6 and math.isfinite(unit.value)
            ax.text(x, unit.y, short(unit.value), va="center",
                    color="white" if dark else "black", **small)  # fmt: skip
        if unit.bias is not None:
            bias = _signed(unit.bias)
            colour = "#777777" if bias == "0.00" else colour_of(unit.bias)
            ax.text(x, unit.y - RADIUS - 0.02, f"b {bias}", va="top", color=colour, **small)
        if unit.label and side:
            bold = side > 0 and len(values) > 1 and unit.value == best
            ax.text(x + side * (RADIUS + 0.15), unit.y, unit.label, fontsize=LABEL,
                    ha="right" if side < 0 else "left", va="center",
                    fontweight="bold" if bold else "normal")  # fmt: skip


def short(value: float) -> str:
    """A number in at most five characters, for inside a circle: ``0.42``, ``-3.1``, ``152``,
    ``-2e38``; ``nan``, ``inf``."""
    size = abs(value)
    if not math.isfinite(value):
        return str(value)
    if size >= 99.5:
        if size < 9999.5:
            return f"{value:.0f}"
        mantissa, exponent = f"{value:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.1f}" if size >= 9.95 else f"{value:.2f}"


def _signed(value: float) -> str:
    """``+0.12``, ``-0.05``; ``0.00`` for what rounds to zero (no ``-0.00``)."""
    text = f"{value:+.2f}"
    return "0.00" if text in ("+0.00", "-0.00") else text


def _fill(unit: Unit, scale: float) -> Any:
    """White without a row; else blue (positive) or orange (negative), as deep as ``|a|``; grey
    where the value is not finite (the row overflowed the network)."""
    if unit.value is not None and not math.isfinite(unit.value):
        return NOT_FINITE
    if unit.value is None or scale <= 0:
        return "white"
    colors = extras.load("matplotlib.colors", "plot")
    tint = np.asarray(colors.to_rgb(POSITIVE if unit.value >= 0 else NEGATIVE))
    depth = min(abs(unit.value) / scale, 1.0)
    return tuple((1 - depth) * np.ones(3) + depth * tint)


def _draw_image(ax: Axes, column: Column, first: list[Unit]) -> None:
    """An image input as its ``h x w`` pixels, and one grey line from it to each first unit."""
    assert column.image is not None
    h, w = column.image.shape
    height = IMAGE_WIDTH * h / w
    right = IMAGE_WIDTH / 2
    ax.imshow(
        column.image,
        cmap="gray_r",
        interpolation="nearest",
        zorder=2,
        gid="image-0",
        extent=(right - IMAGE_WIDTH, right, -height / 2, height / 2),
    )
    lines = extras.load("matplotlib.lines", "plot")
    for unit in first:
        ax.add_line(
            lines.Line2D(
                [right, COLUMN_GAP - RADIUS],
                [0.0, unit.y],
                lw=0.6,
                color="#999999",
                zorder=1,
                gid=f"feed-1-{unit.index}",
            )
        )


def _legend(figure: Figure, row: bool) -> None:
    """What the colours and widths mean, under the drawing."""
    lines = extras.load("matplotlib.lines", "plot")
    handles = [
        lines.Line2D([], [], color=POSITIVE, lw=MAX_WIDTH * 0.6, label="weight > 0"),
        lines.Line2D([], [], color=NEGATIVE, lw=MAX_WIDTH * 0.6, label="weight < 0"),
        lines.Line2D([], [], color="none", label="width: |W| / largest |W| between the two layers"),
        lines.Line2D([], [], color="none", label="b: bias"),
    ]
    if row:
        handles.append(
            lines.Line2D(
                [],
                [],
                color="none",
                marker="o",
                markersize=8,
                markerfacecolor=POSITIVE,
                markeredgecolor="#333333",
                label="fill: activation a = f(z) for the row",
            )
        )
    figure.legend(
        handles=handles,
        loc="outside lower center",
        ncols=3,
        fontsize=LABEL - 1,
        frameon=False,
        handlelength=1.6,
    )
