"""The network drawn, a minimal version for the report: each layer a column of units.

``nnctl draw`` (`nnctl.inspection.drawing`) is the full drawing; until the report uses it, this
draws the inputs and each dense layer as a column of circles (at most `MAX_UNITS` a column, the
rest said in words), every unit joined to the next column's, each column labelled with its
size and activation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from nnctl.inspection.figures import COLOURS
from nnctl.inspection.pictures import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: At most this many units of a column are drawn; a larger layer shows its first and last ones.
MAX_UNITS = 10


def network_figure(sizes: Sequence[int], labels: Sequence[str]) -> Figure:
    """Columns of ``sizes`` units (the inputs first), each titled with its ``labels`` entry."""
    figure = new_figure(max(4.0, 1.9 * len(sizes)), 4.2)
    axes = figure.add_subplot()
    columns = [_heights(n) for n in sizes]
    for c in range(len(columns) - 1):
        for y0 in columns[c]:
            for y1 in columns[c + 1]:
                axes.plot([c, c + 1], [y0, y1], color="#c8c8c8", linewidth=0.5, zorder=1)
    for c, (heights, label) in enumerate(zip(columns, labels, strict=True)):
        colour = "#777777" if c == 0 else COLOURS[(c - 1) % len(COLOURS)]
        axes.scatter([c] * len(heights), heights, s=120, color=colour, edgecolor="black",
                     linewidth=0.6, zorder=2)  # fmt: skip
        if sizes[c] > len(heights):
            axes.text(c, 0, "⋮", ha="center", va="center", fontsize=14, zorder=3)
        axes.text(c, 1.12, label, ha="center", va="bottom", fontsize=9)
    axes.set_xlim(-0.6, len(sizes) - 0.4)
    axes.set_ylim(-1.15, 1.45)
    axes.set_axis_off()
    return figure


def _heights(n: int) -> list[float]:
    """The heights in [-1, 1] of a column of ``n`` units' circles: all of them, or for a column
    of more than `MAX_UNITS` its first and last ones with a gap between."""
    if n == 1:
        return [0.0]
    if n > MAX_UNITS:
        half = MAX_UNITS // 2
        top = [1 - 0.8 * i / (half - 1) for i in range(half)]
        return top + [-y for y in reversed(top)]
    return [1 - 2 * i / (n - 1) for i in range(n)]
