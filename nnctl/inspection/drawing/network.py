"""A model's `Layout`: its weights, biases and, for one row, its activations and prediction.

The row is picked as ``nnctl trace --row`` picks it (`nnctl.inspection.rows.pick_row`: the
run's test split by default) and the prediction read as trace reads it
(`nnctl.inspection.trace.output_of`), so the two commands agree on the same row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nnctl.errors import UsageError
from nnctl.inspection.drawing.layout import (
    COLUMN_GAP,
    Column,
    Layout,
    Unit,
    connections_between,
    heights,
    strongest,
    unit_strengths,
)
from nnctl.inspection.rows import PickedRow, pick_row
from nnctl.inspection.sources import Opened
from nnctl.inspection.trace import answer, output_of
from nnctl.nn.layers.dense import Dense


def network_layout(
    opened: Opened,
    row: int | None = None,
    max_units: int = 12,
    *,
    split: str | None = None,
    input_path: Path | None = None,
) -> Layout:
    """The drawing of ``opened``'s network; with ``row``, filled by that row's activations.

    Parameters
    ----------
    opened : Opened
        The model (and its run, needed for a split's row).
    row : int or None
        Row of ``input_path`` or of the run's ``split`` (default ``test``), counting from 0.
    max_units : int
        At most this many neurons per layer: the strongest by total ``|W|`` in and out.
    """
    if max_units < 1:
        raise UsageError(f"--max-units {max_units}: expected a positive number of neurons")
    layers = _dense_layers(opened)
    weights = [np.asarray(layer.W, dtype=np.float64) for layer in layers]
    picked = None if row is None else pick_row(opened, row, split, input_path)
    values = _activations(opened, picked)
    strengths = unit_strengths(weights)
    columns = [_input_column(opened, strengths[0], values, max_units)]
    output = None
    if picked is not None and values is not None:
        output = output_of(opened, np.asarray([values[-1]]), picked)
    labels = _output_labels(opened, output)
    for index, layer in enumerate(layers, start=1):
        last = index == len(layers)
        layer_values = None if values is None else values[index]
        columns.append(_layer_column(layer, index, last, strengths[index], layer_values,
                                     labels if last else None, max_units))  # fmt: skip
    connections = []
    for index, W in enumerate(weights):
        if columns[index].image is None:
            connections += connections_between(
                W, index, columns[index].units, columns[index + 1].units
            )
    rows = max(len(c.units) + (1 if c.hidden else 0) for c in columns)
    caption = _caption(
        row, input_path.name if input_path else f"the {split or 'test'} split", output
    )
    return Layout(columns, connections, rows, opened.model.task, caption)


def _layer_column(
    layer: Dense,
    index: int,
    last: bool,
    strength: np.ndarray,
    values: np.ndarray | None,
    labels: list[str] | None,
    max_units: int,
) -> Column:
    """Layer ``index`` (from 1): its strongest units with their biases, activations, labels."""
    shown = strongest(strength, max_units)
    ys, more_y = heights(len(shown), len(shown) < layer.units)
    units = [Unit(index, j, y, float(layer.b[j]), None if values is None else float(values[j]),
                  None if labels is None else labels[j])
             for j, y in zip(shown, ys, strict=True)]  # fmt: skip
    title = f"{'output' if last else f'hidden {index}'}\n{layer.units} {layer.activation.name}"
    return Column(index, index * COLUMN_GAP, title, units, layer.units - len(shown), more_y)


def _dense_layers(opened: Opened) -> list[Dense]:
    layers = []
    for layer in opened.model.network.layers:
        if not isinstance(layer, Dense):
            raise UsageError(
                f"{opened.model.path}: draw shows dense layers only, found {type(layer).__name__}"
            )
        layers.append(layer)
    return layers


def _activations(opened: Opened, picked: PickedRow | None) -> list[np.ndarray] | None:
    """The row's prepared inputs, then each layer's activation ``a`` (eval mode)."""
    if picked is None:
        return None
    network = opened.model.network
    network.forward(picked.x)
    out = [np.asarray(picked.x[0], dtype=np.float64)]
    for layer in network.layers:
        assert layer.output is not None
        out.append(np.asarray(layer.output[0], dtype=np.float64))
    last = network.layers[-1]
    assert last.Z is not None
    out[-1] = answer(out[-1], last.Z[0])[0]  # no answer where it overflowed
    return out


def image_shape(opened: Opened) -> tuple[int, int] | None:
    """``(h, w)`` of an IDX model's images (one channel), else None."""
    pre = opened.model.preprocessor
    shape = pre.image_shape
    if pre.input != "idx" or shape is None or len(shape) != 2:
        return None
    return int(shape[0]), int(shape[1])


def _input_column(
    opened: Opened, strength: np.ndarray, values: list[np.ndarray] | None, max_units: int
) -> Column:
    """The inputs: an image for IDX images, else the strongest features as neurons."""
    shape = image_shape(opened)
    if shape is not None:
        pixels = strength if values is None else values[0]
        what = "the row's pixels" if values is not None else "total |W| per pixel"
        title = f"input\n{shape[0]} x {shape[1]} image\n({what})"
        return Column(0, 0.0, title, [], image=np.asarray(pixels).reshape(shape))
    names = opened.model.preprocessor.feature_names
    shown = strongest(strength, max_units)
    ys, more_y = heights(len(shown), len(shown) < len(names))
    units = [
        Unit(0, i, y, None, None if values is None else float(values[0][i]), names[i])
        for i, y in zip(shown, ys, strict=True)
    ]
    title = f"input\n{len(names)} features"
    return Column(0, 0.0, title, units, len(names) - len(shown), more_y)


def _output_labels(opened: Opened, output: dict[str, Any] | None) -> list[str]:
    """Each output unit's label: its class (and probability), or the target (and prediction)."""
    pre = opened.model.preprocessor
    task = opened.model.task
    if task == "regression":
        name = str(pre.target_column or "prediction")
        return [name if output is None else f"{name} = {output['value']:.4g}"]
    classes = [str(c) for c in pre.class_names or []]
    if task == "binary":
        label = f"P({classes[1]})" if len(classes) > 1 else "P(positive)"
        return [label if output is None else f"{label} = {output['probabilities'][1]:.2f}"]
    if output is None:
        return classes
    return [f"{c}  {p:.2f}" for c, p in zip(classes, output["probabilities"], strict=True)]


def _caption(row: int | None, source: str, output: dict[str, Any] | None) -> str:
    """``row 3 of the test split: predicted setosa, true setosa`` (empty without a row)."""
    if row is None or output is None:
        return ""
    predicted, true = output["label"], output["true_label"]
    guess = "nothing (the output is not finite)" if predicted is None else _label(predicted)
    text = f"row {row} of {source}: predicted {guess}"
    return text if true is None else f"{text}, true {_label(true)}"


def _label(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
