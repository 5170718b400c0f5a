"""``nnctl inspect``: each layer's formula, weights and biases, and its activations on data.

A dense layer computes ``z = x @ W + b`` and ``a = f(z)``; nnctl's ``W`` is ``n_in x units``
(inputs by units: row ``x`` times ``W``), where textbooks often write ``W x`` with ``W``
``units x n_in``. Statistics are in `nnctl.inspection.stats`, with the definitions of dead and
saturated units.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nnctl.data.load import ROLES
from nnctl.errors import DataError, UsageError
from nnctl.inspection.heatmap import block_average, top_inputs
from nnctl.inspection.sources import Opened, file_chunks, is_split_name, open_model, split_of
from nnctl.inspection.stats import ActivationStats, tensor_stats
from nnctl.nn.initializers import default_initializer, init_std
from nnctl.nn.layers.dense import Dense

BATCH = 1024


def inspect_model(
    model: Path,
    data: str | None = None,
    layer: int | None = None,
    runs_dir: Path | None = None,
    heatmap_size: tuple[int, int] = (32, 64),
) -> dict[str, Any]:
    """``nnctl inspect``'s report of the model a MODEL argument names.

    ``data``, a split name or a file, adds each layer's activation statistics; ``layer`` adds
    that layer's weights block-averaged to at most ``heatmap_size`` (rows, columns) and the
    inputs with the largest total ``|W|``.
    """
    opened = open_model(model, runs_dir)
    network = opened.model.network
    dense = _dense_layers(opened)
    total = network.n_params()
    rows = [layer_row(i, d, total) for i, d in enumerate(dense)]
    report: dict[str, Any] = {"model": str(opened.model.path), "data": None, "n_rows": None}
    if data is not None:
        stats, described = activation_stats(opened, data)
        report["data"], report["n_rows"] = described, stats[0].rows
        for row, stat in zip(rows, stats, strict=True):
            row["activations"] = {"mean": stat.mean(), "std": stat.std()}
            row["dead_fraction"] = stat.dead_fraction()
            row["saturated_fraction"] = stat.saturated_fraction()
    report["layers"] = rows
    report.update(footer(opened))
    if layer is not None:
        report["layer"] = layer_detail(opened, dense, layer, heatmap_size)
    return report


def _dense_layers(opened: Opened) -> list[Dense]:
    layers = opened.model.network.layers
    return [layer for layer in layers if isinstance(layer, Dense)]


def layer_row(index: int, layer: Dense, total: int) -> dict[str, Any]:
    """One layer: shapes, formula, parameter count and share, ``W`` and ``b`` statistics."""
    name = layer.activation.name
    initializer = layer.initializer or default_initializer(name)
    return {
        "index": index,
        "n_in": layer.n_in,
        "units": layer.units,
        "activation": name,
        "formula": f"z = x @ W + b, a = {name}(z); W {layer.n_in}x{layer.units}, b {layer.units}",
        "params": layer.n_params,
        "share": layer.n_params / total,
        "weights": tensor_stats(layer.W),
        "bias": tensor_stats(layer.b),
        "initializer": initializer,
        "init_std": init_std(initializer, layer.n_in, layer.units),
        "activations": None,
        "dead_fraction": None,
        "saturated_fraction": None,
    }


def activation_stats(opened: Opened, data: str) -> tuple[list[ActivationStats], str]:
    """Each layer's `ActivationStats` on ``data`` (a split name or a file), and its description.

    The network runs in eval mode (no dropout), ``BATCH`` rows at a time.
    """
    network = opened.model.network
    stats = [ActivationStats(d.activation.name, d.units) for d in _dense_layers(opened)]
    if is_split_name(data):
        chunks = iter([split_of(opened, data, "--data").split.X])
        described = f"{data} split of {opened.run}"
    elif data != "-" and not Path(data).exists():
        raise DataError(
            f"--data {data}: expected a split of the run ({', '.join(ROLES)}) or a data file; "
            "found neither (no such file)"
        )
    else:
        chunks = (X for _, X in file_chunks(opened, Path(data)))
        described = data
    for X in chunks:
        for start in range(0, len(X), BATCH):
            network.forward(X[start : start + BATCH])
            for stat, layer in zip(stats, _dense_layers(opened), strict=True):
                assert layer.Z is not None and layer.output is not None
                stat.add(layer.Z, layer.output)
    if stats[0].rows == 0:
        raise DataError(f"--data {data}: expected at least one row of data, found none")
    return stats, described


def footer(opened: Opened) -> dict[str, Any]:
    """Total parameters and their bytes, the optimizer's state, epochs and the best epoch."""
    network = opened.model.network
    record = opened.record()
    last = opened.last_checkpoint()
    optimizer = last.group("optimizer") if last is not None else {}
    meta = opened.model.bundle.meta
    epochs = record.epochs_done if record is not None else meta.get("epoch")
    return {
        "total_params": network.n_params(),
        "bytes": network.n_params() * network.dtype.itemsize,
        "dtype": network.dtype.name,
        "optimizer_state": {
            "values": int(sum(a.size for a in optimizer.values())),
            "bytes": int(sum(a.nbytes for a in optimizer.values())),
        }
        if optimizer
        else None,
        "epochs": epochs,
        "best_epoch": record.best_epoch if record is not None else _best_epoch(meta),
    }


def _best_epoch(meta: dict[str, Any]) -> int | None:
    """The best epoch a checkpoint alone knows: its trainer state's, else None."""
    callbacks = (meta.get("training") or {}).get("callbacks") or {}
    best = (callbacks.get("Checkpointer") or {}).get("best_epoch")
    return int(best) if best is not None else None


def layer_detail(
    opened: Opened, dense: list[Dense], index: int, size: tuple[int, int]
) -> dict[str, Any]:
    """``--layer I``: ``W`` block-averaged to at most ``size`` and the inputs weighing most."""
    if not 0 <= index < len(dense):
        raise UsageError(f"--layer {index}: the network has layers 0 to {len(dense) - 1}")
    layer = dense[index]
    pre = opened.model.preprocessor
    if index == 0:
        names = pre.feature_names
    else:
        names = [f"layer {index - 1} unit {j}" for j in range(layer.n_in)]
    return {
        "index": index,
        "shape": [layer.n_in, layer.units],
        "heatmap": block_average(np.asarray(layer.W), *size),
        "top_inputs": top_inputs(np.asarray(layer.W), names),
    }
