"""Where ``nnctl draw`` puts each neuron and line and how it colours them: numbers, no plotting.

The network is drawn as the seed draws it (TensorFlow Playground's style): one column per layer,
the inputs on the left, the outputs on the right, one circle per neuron and one line per weight
``W[i, j]`` from unit ``i`` of a layer to unit ``j`` of the next. A line is blue for a positive
weight and orange for a negative one, as wide as ``|W[i, j]| / max |W|`` of that pair of layers
(`width_of`), so that every pair uses the whole range of widths.

A layer with more than ``max_units`` units shows the ``max_units`` strongest, those with the
largest total ``|W|`` into and out of them (`strongest`), in their own order, and a "... N more"
mark for the rest. An image input (IDX) is one picture of ``h x w`` pixels instead of ``h * w``
circles: the row's image with ``--row``, else each pixel's total ``|W|`` into the first layer
(where the network looks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: The colours of a positive and a negative weight (TensorFlow Playground's blue and orange).
POSITIVE, NEGATIVE = "#0877bd", "#e8710a"
#: The narrowest and widest line, in points: the narrowest weight is still visible.
MIN_WIDTH, MAX_WIDTH = 0.25, 4.0
#: Distance between two columns, in the units of the distance between two neurons.
COLUMN_GAP = 3.0


@dataclass
class Unit:
    """One neuron drawn: column ``layer``, unit ``index`` of that layer, at height ``y``.

    ``bias`` is None for an input; ``value`` is the unit's activation for the row (None
    without ``--row``); ``label`` names an input feature or an output class.
    """

    layer: int
    index: int
    y: float
    bias: float | None = None
    value: float | None = None
    label: str | None = None


@dataclass
class Column:
    """One layer: its title, the units shown, how many are not, and an image input's pixels."""

    layer: int
    x: float
    title: str
    units: list[Unit]
    hidden: int = 0
    more_y: float | None = None
    image: np.ndarray | None = None


@dataclass
class Connection:
    """The weight ``W[i, j]`` from unit ``i`` of column ``layer`` to unit ``j`` of the next."""

    layer: int
    i: int
    j: int
    weight: float
    width: float
    colour: str
    y0: float
    y1: float


@dataclass
class Layout:
    """Everything `nnctl.inspection.drawing.figure` draws, in data coordinates.

    Columns stand at ``x = 0, COLUMN_GAP, 2 * COLUMN_GAP, ...``; neurons one unit apart,
    centred on ``y = 0``. ``rows`` is the height of the tallest column, in neurons.
    """

    columns: list[Column]
    connections: list[Connection]
    rows: int
    task: str
    caption: str = ""
    feeds: list[Unit] = field(default_factory=list)


def width_of(weight: np.ndarray, largest: float) -> np.ndarray:
    """Line widths in points: ``MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * |W| / largest``."""
    if largest <= 0:
        return np.full(np.shape(weight), MIN_WIDTH)
    ratio = np.abs(np.asarray(weight, dtype=np.float64)) / largest
    return MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * np.clip(ratio, 0.0, 1.0)


def colour_of(weight: float) -> str:
    """`POSITIVE` for a weight >= 0, else `NEGATIVE`."""
    return POSITIVE if weight >= 0 else NEGATIVE


def strongest(strength: np.ndarray, max_units: int) -> list[int]:
    """The positions of the ``max_units`` largest ``strength`` values, in ascending order.

    Ties keep the lower position (a stable sort), so the same weights give the same picture.
    """
    if len(strength) <= max_units:
        return list(range(len(strength)))
    order = np.argsort(-np.asarray(strength, dtype=np.float64), kind="stable")
    return sorted(int(k) for k in order[:max_units])


def unit_strengths(weights: list[np.ndarray]) -> list[np.ndarray]:
    """Per column (inputs, then each layer's units), each unit's total ``|W|`` in and out."""
    absolute = [np.abs(np.asarray(W, dtype=np.float64)) for W in weights]
    strengths = [absolute[0].sum(axis=1)]
    for index, W in enumerate(absolute):
        total = W.sum(axis=0)
        if index + 1 < len(absolute):
            total = total + absolute[index + 1].sum(axis=1)
        strengths.append(total)
    return strengths


def heights(count: int, more: bool) -> tuple[list[float], float | None]:
    """``count`` neuron heights one apart, centred on 0, and the "... more" mark's height."""
    slots = count + (1 if more else 0)
    top = (slots - 1) / 2
    ys = [top - k for k in range(count)]
    return ys, (top - count if more else None)


def connections_between(
    W: np.ndarray, layer: int, left: list[Unit], right: list[Unit]
) -> list[Connection]:
    """One `Connection` per shown pair, widths scaled by the largest ``|W|`` of the whole pair."""
    W = np.asarray(W, dtype=np.float64)
    largest = float(np.abs(W).max()) if W.size else 0.0
    out = []
    for a in left:
        widths = width_of(W[a.index, [b.index for b in right]], largest)
        for b, width in zip(right, widths, strict=True):
            w = float(W[a.index, b.index])
            out.append(Connection(layer, a.index, b.index, w, float(width), colour_of(w), a.y, b.y))
    return out
