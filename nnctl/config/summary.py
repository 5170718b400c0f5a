"""The layer table of ``nnctl validate``: each layer's width, activation and parameter count.

Keras's ``summary()`` for a config: the input width comes from the data and may be unknown
(``None``), in which case the first layer's parameters, and so the total, show as ``?``. Below the
table, `inputs_line` says how the inputs are prepared (the resolved ``data.normalize``).
"""

from __future__ import annotations

from dataclasses import dataclass

from nnctl.config.data import default_normalize
from nnctl.config.loader import Config


@dataclass(frozen=True)
class LayerTable:
    """A table as strings, ready to print: title, column names, rows and a totals row."""

    title: str
    columns: tuple[str, str, str, str, str]
    rows: list[tuple[str, str, str, str, str]]
    footer: tuple[str, str, str, str, str]
    numeric: tuple[int, ...] = (1, 4)
    """The indexes of the columns that hold numbers."""


def dense_params(n_inputs: int, units: int) -> int:
    """Parameters of a dense layer: ``W`` of shape ``(n_inputs, units)`` plus ``b`` of ``units``."""
    return n_inputs * units + units


def count_params(config: Config, n_inputs: int | None) -> list[int | None]:
    """Each layer's parameter count, None where the input width is unknown."""
    counts: list[int | None] = []
    width = n_inputs
    for layer in config.model.layers:
        counts.append(None if width is None else dense_params(width, layer.units))
        width = layer.units
    return counts


def layer_table(config: Config, n_inputs: int | None) -> LayerTable:
    """The layers of ``config`` with output shapes and parameter counts, for ``n_inputs`` inputs."""
    counts = count_params(config, n_inputs)
    inputs = "?" if n_inputs is None else str(n_inputs)
    rows = [("input", inputs, "", f"(None, {inputs})", "")]
    for index, (layer, count) in enumerate(zip(config.model.layers, counts, strict=True)):
        activation = layer.activation_name
        if layer.activation_params:
            details = ", ".join(f"{k}={v:g}" for k, v in layer.activation_params.items())
            activation += f"({details})"
        if layer.dropout:
            activation += f", dropout {layer.dropout:g}"
        shown = "?" if count is None else f"{count:,}"
        rows.append((str(index), str(layer.units), activation, f"(None, {layer.units})", shown))
    known = [count for count in counts if count is not None]
    total = f"{sum(known):,}" if len(known) == len(counts) else "?"
    return LayerTable(
        title=f"{config.name or 'model'}: {config.loss_name}, {config.optimizer.name}",
        columns=("layer", "units", "activation", "output shape", "params"),
        rows=rows,
        footer=("total", "", "", "", total),
    )


_SCALING = {
    "standard": "standardized to mean 0, std 1",
    "minmax": "scaled to [0, 1]",
    "none": "as read",
}


def inputs_line(config: Config, n_inputs: int | None) -> str:
    """How the network's inputs are prepared, with the resolved ``data.normalize``.

    ``inputs: 64 pixels in [0, 1] (normalize: none, the default for images)``; the numbers are
    fitted on the training split, and one-hot columns of text are never scaled.
    """
    data = config.data
    fmt = data.resolved_format()
    normalize = data.resolved_normalize()
    count = "?" if n_inputs is None else f"{n_inputs:,}"
    what = f"divided by {data.scale:g}" if normalize == "scale" else _SCALING[normalize]
    if fmt == "idx":
        how = "in [0, 1]" if normalize == "none" else f"in [0, 1], then each pixel {what}"
        described = f"{count} pixels {how}"
    else:
        described = f"{count} features, numeric columns {what}"
    default = default_normalize(fmt)
    kind = "images" if fmt == "idx" else "CSV"
    note = (
        f", the default for {kind}"
        if normalize == default
        else f"; for {kind} the default is {default}"
    )
    return f"inputs: {described} (normalize: {normalize}{note})"
