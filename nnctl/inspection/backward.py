"""``nnctl trace --backward``: one row's gradients, and one SGD step taken on a copy.

The copy is the network in float64 (so that a small loss change is not lost in rounding), in
eval mode (no dropout). Its backward pass (`Network.loss_and_gradient`) gives ``dL/dW`` and
``dL/db`` of the row's loss ``L``; for one row ``dL/dz = dL/db`` (``db = sum(dZ, axis=0)``).
One SGD step ``theta -= lr * g`` changes the loss by about ``-lr * |g|**2`` (first order in
``lr``); the actual change is measured. Weight decay is not part of ``L``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnctl.errors import NnctlError
from nnctl.inspection.sources import Opened
from nnctl.nn.network import Network


def float64_copy(network: Network) -> Network:
    """A float64 network with the same architecture and weights as ``network``."""
    copy = Network.from_spec({**network.spec(), "dtype": "float64"})
    copy.load_state_dict(network.state_dict())
    return copy


def learning_rate(opened: Opened) -> tuple[float | None, str]:
    """The run's learning rate (``optimizer.learning_rate`` of its config) and where it is from.

    A checkpoint outside a run uses the last epoch's ``lr`` in its trainer state, if it has one.
    """
    if opened.run is not None:
        try:
            return float(opened.config("--backward").optimizer.learning_rate), "config.yaml"
        except NnctlError:
            pass
    history = (opened.model.bundle.meta.get("training") or {}).get("history") or []
    if history and history[-1].get("lr") is not None:
        return float(history[-1]["lr"]), "the checkpoint's last epoch"
    return None, "unknown (a checkpoint outside a run)"


def backward_report(opened: Opened, x: np.ndarray, y: np.ndarray, top: int) -> dict[str, Any]:
    """Per layer ``dL/dz``, the ``top`` largest ``|dL/dW|`` entries and ``dL/db``; an SGD step."""
    copy = float64_copy(opened.model.network)
    loss = copy.loss_and_gradient(x.astype(np.float64), y, training=False)
    grads = {name: g.copy() for name, g in copy.gradients().items()}
    layers = []
    for index in range(len(copy.layers)):
        dW, db = grads[f"layers.{index}.W"], grads[f"layers.{index}.b"]
        order = np.argsort(-np.abs(dW), axis=None, kind="stable")[:top]
        entries = [np.unravel_index(k, dW.shape) for k in order]
        layers.append({
            "index": index,
            "dL_dz": db.tolist(),
            "dL_db": db.tolist(),
            "dL_dW_top": [{"input": int(i), "unit": int(j), "value": float(dW[i, j])}
                          for i, j in entries],
            "dL_dW_norm": float(np.linalg.norm(dW)),
        })  # fmt: skip
    squared = float(sum(np.sum(g * g) for g in grads.values()))
    lr, source = learning_rate(opened)
    step = None
    if lr is not None:
        for name, param in copy.parameters().items():
            param -= lr * grads[name]
        after = copy.loss_value(x.astype(np.float64), y)
        step = {"learning_rate": lr, "learning_rate_from": source, "loss_before": loss,
                "loss_after": after, "predicted_change": -lr * squared,
                "actual_change": after - loss}  # fmt: skip
    return {
        "loss": loss,
        "gradient_norm": float(np.sqrt(squared)),
        "layers": layers,
        "sgd_step": step,
    }
