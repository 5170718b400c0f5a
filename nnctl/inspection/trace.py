"""``nnctl trace``: one input through the network, layer by layer, as numbers a learner can check.

For each dense layer ``z = x @ W + b`` and ``a = f(z)``; for up to ``top`` units (those with the
largest ``|z|``; in the output layer the largest ``|a|``, the likeliest classes) the ``top``
largest terms ``x[i] * W[i, j]`` of ``z[j]``, the sum of the other terms and the bias, so
that ``z[j] = sum(terms) + rest + b[j]``. Units are marked ``inactive`` (relu family,
``z <= 0``) or ``saturated`` (sigmoid, tanh: within 0.01 of a bound; see
`nnctl.inspection.stats`). The forward pass is the network's own (eval mode), so the output is
what ``nnctl predict --proba`` gives for the row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from nnctl.errors import UsageError
from nnctl.inspection.backward import backward_report
from nnctl.inspection.rows import PickedRow, pick_row
from nnctl.inspection.sources import Opened, open_model
from nnctl.inspection.stats import BOUNDS, near_bound
from nnctl.nn.activations import RELU_FAMILY
from nnctl.nn.fast.fpu import quiet
from nnctl.nn.layers.dense import Dense
from nnctl.training.metrics import loss_scale, predicted_classes, unfinished_rows


def trace_row(
    model: Path,
    row: int,
    *,
    split: str | None = None,
    input_path: Path | None = None,
    top: int = 5,
    backward: bool = False,
    runs_dir: Path | None = None,
) -> dict[str, Any]:
    """``nnctl trace``'s report: row ``row`` of ``input_path`` or of the run's ``split``."""
    if top < 1:
        raise UsageError(f"--top {top}: expected a positive number of units and terms")
    opened = open_model(model, runs_dir)
    picked = pick_row(opened, row, split, input_path)
    with quiet():  # a row the network overflows on shows inf and NaN, not NumPy's warnings
        return _report(opened, picked, row, top, backward)


def _report(
    opened: Opened, picked: PickedRow, row: int, top: int, backward: bool
) -> dict[str, Any]:
    names = opened.model.preprocessor.feature_names
    layers = forward_layers(opened, picked.x, names, top)
    report: dict[str, Any] = {
        "model": str(opened.model.path),
        "input": {
            "source": picked.source,
            "row": row,
            "raw": picked.raw,
            "features": names,
            "x": picked.x[0].tolist(),
        },
        "layers": layers,
        "output": output_of(opened, answer(layers[-1]["a"], layers[-1]["z"]), picked),
        "loss": row_loss(opened, picked),
        "backward": None,
    }
    if backward:
        if picked.y is None:
            raise UsageError(f"--backward: row {row} of {picked.source} has no target value, "
                             "so no loss to differentiate")  # fmt: skip
        report["backward"] = backward_report(opened, picked.x, picked.y, top)
    return report


def forward_layers(
    opened: Opened, x: np.ndarray, names: list[str], top: int
) -> list[dict[str, Any]]:
    """Each layer's ``x``, ``z``, ``a`` for one row, and its largest units decomposed."""
    network = opened.model.network
    network.forward(x)
    layers, inputs = [], x[0].astype(np.float64)
    for index, layer in enumerate(network.layers):
        assert isinstance(layer, Dense) and layer.Z is not None and layer.output is not None
        z, a = layer.Z[0].astype(np.float64), layer.output[0].astype(np.float64)
        labels = names if index == 0 else [f"a{index - 1}[{i}]" for i in range(layer.n_in)]
        name = layer.activation.name
        ranked = a if index == len(network.layers) - 1 else z  # the output: the likeliest classes
        layers.append({
            "index": index,
            "activation": name,
            "formula": f"z = x @ W + b, a = {name}(z); W {layer.n_in}x{layer.units}",
            "z": z.tolist(),
            "a": a.tolist(),
            "units": [unit_terms(layer, inputs, z, a, j, labels, top)
                      for j in _largest(ranked, top)],
        })  # fmt: skip
        inputs = a
    return layers


def answer(a: ArrayLike, z: ArrayLike) -> np.ndarray:
    """The output layer's ``a`` as a row of outputs, NaN where its ``z`` is not finite: the row
    overflowed the network, and sigmoid(inf) = 1 is no answer (as `Network.predict` has it)."""
    row = np.asarray([a], dtype=np.float64)
    return row if np.isfinite(np.asarray(z, dtype=np.float64)).all() else np.full_like(row, np.nan)


def _largest(values: np.ndarray, k: int) -> list[int]:
    """The positions of the ``k`` largest ``|values|``, in ascending order."""
    return sorted(int(j) for j in np.argsort(-np.abs(values), kind="stable")[:k])


def unit_terms(
    layer: Dense, x: np.ndarray, z: np.ndarray, a: np.ndarray, j: int, names: list[str], top: int
) -> dict[str, Any]:
    """Unit ``j``: ``z[j] = sum_i x[i] * W[i, j] + b[j]``: its ``top`` largest terms, the rest."""
    products = x * np.asarray(layer.W[:, j], dtype=np.float64)
    largest = _largest(products, top)
    name = layer.activation.name
    state = "active"
    if name in RELU_FAMILY and z[j] <= 0:
        state = "inactive"
    elif name in BOUNDS and bool(near_bound(a[j : j + 1], name)[0]):
        state = "saturated"
    return {
        "unit": j,
        "z": float(z[j]),
        "a": float(a[j]),
        "state": state,
        "terms": [
            {
                "input": i,
                "name": names[i],
                "x": float(x[i]),
                "w": float(layer.W[i, j]),
                "product": float(products[i]),
            }
            for i in largest
        ],
        "rest": float(products.sum() - products[largest].sum()),
        "bias": float(layer.b[j]),
    }


def output_of(opened: Opened, output: np.ndarray, picked: PickedRow) -> dict[str, Any]:
    """The prediction: probabilities per class (or the value), the predicted and true labels."""
    model = opened.model
    pre = model.preprocessor
    true = None
    if model.task == "regression":
        if picked.y is not None:
            true = float(pre.inverse_target(np.asarray(picked.y, dtype=np.float64))[0, 0])
        value = float(pre.inverse_target(output)[0, 0])
        label = value if np.isfinite(value) else None  # no answer: the row overflowed
        return {"probabilities": None, "classes": None, "value": value, "label": label,
                "true_label": true}  # fmt: skip
    p = output[0] if model.task == "classification" else np.array([1 - output[0, 0], output[0, 0]])
    classes = list(pre.class_names or [str(k) for k in range(len(p))])
    label = pre.labels_for(predicted_classes(model.task, output))[0]
    if len(unfinished_rows(output)):
        label = None  # argmax of NaN would name the first class: predict leaves it empty too
    if picked.y is not None:
        index = np.asarray(picked.y).reshape(-1).astype(np.int64)
        true = pre.labels_for(index)[0]
    return {"probabilities": p.tolist(), "classes": classes, "value": None,
            "label": _plain(label), "true_label": _plain(true)}  # fmt: skip


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def row_loss(opened: Opened, picked: PickedRow) -> float | None:
    """The row's loss (in the target's units for regression, as ``evaluate``); None without y."""
    if picked.y is None:
        return None
    network = opened.model.network
    A = network.forward(picked.x)
    Z = network.layers[-1].Z
    assert Z is not None
    value = network.loss.value(Z, A, picked.y)
    return float(value) * loss_scale(network.loss.name, opened.model.preprocessor.target.std)
