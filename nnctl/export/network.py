"""The network and its answers as ONNX nodes, in the model's dtype.

Each layer is ``Z = X @ W + b``, ``A = f(Z)`` with ``f`` written out as nnctl computes it
(`nnctl.nn.activations`), then the answers as ``nnctl predict`` gives them:

    classification   probabilities = A                label = classes[argmax(A)]
    binary           probabilities = [1 - p, p]       label = classes[p >= 0.5]
    regression       prediction = float64(A) * std + mean
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from nnctl.data import Preprocessor
from nnctl.export.graph import Graph
from nnctl.nn.network import Network

_GELU_C = math.sqrt(2.0 / math.pi)


def _relu(g: Graph, z: str, params: dict[str, float]) -> str:
    return g.op("Relu", [z])


def _leaky_relu(g: Graph, z: str, params: dict[str, float]) -> str:
    """``max(Z, alpha * Z)`` for ``alpha <= 1``, else ``min``: nnctl's form."""
    alpha = params["alpha"]
    scaled = g.op("Mul", [z, g.scalar(alpha)])
    return g.op("Max" if alpha <= 1 else "Min", [scaled, z], "leaky_relu")


def expm1(g: Graph, x: str) -> str:
    """``exp(x) - 1`` accurate near 0 (Kahan): ``(u - 1) * x / log(u)``, ``u = exp(x)``.

    ONNX has no ``expm1``; where ``u`` is 1 the result is ``x``, and below -1 (no cancellation
    there) plainly ``u - 1``.
    """
    u = g.op("Exp", [x])
    u1 = g.op("Sub", [u, g.scalar(1.0)])
    kahan = g.op("Div", [g.op("Mul", [u1, x]), g.op("Log", [u])])
    near = g.op("Where", [g.op("Equal", [u, g.scalar(1.0)]), x, kahan])
    return g.op("Where", [g.op("Less", [x, g.scalar(-1.0)]), u1, near], "expm1")


def log1p(g: Graph, x: str) -> str:
    """``log(1 + x)`` accurate near 0 (Kahan): ``log(u) * x / (u - 1)``, ``u = 1 + x``."""
    u = g.op("Add", [x, g.scalar(1.0)])
    kahan = g.op("Div", [g.op("Mul", [g.op("Log", [u]), x]), g.op("Sub", [u, g.scalar(1.0)])])
    return g.op("Where", [g.op("Equal", [u, g.scalar(1.0)]), x, kahan], "log1p")


def _elu(g: Graph, z: str, params: dict[str, float]) -> str:
    """``where(Z > 0, Z, alpha * expm1(min(Z, 0)))``."""
    negative = expm1(g, g.op("Min", [z, g.scalar(0.0)]))
    negative = g.op("Mul", [g.scalar(params["alpha"]), negative])
    return g.op("Where", [g.op("Greater", [z, g.scalar(0.0)]), z, negative], "elu")


def _gelu(g: Graph, z: str, params: dict[str, float]) -> str:
    """The tanh form nnctl computes: ``0.5 * Z * (1 + tanh(c * (Z + 0.044715 * Z**3)))``."""
    cube = g.op("Mul", [g.op("Mul", [z, z]), z])
    inner = g.op("Add", [z, g.op("Mul", [g.scalar(0.044715), cube])])
    t = g.op("Tanh", [g.op("Mul", [g.scalar(_GELU_C), inner])])
    half = g.op("Mul", [g.scalar(0.5), z])
    return g.op("Mul", [half, g.op("Add", [g.scalar(1.0), t])], "gelu")


def _sigmoid(g: Graph, z: str, params: dict[str, float]) -> str:
    """``0.5 * (1 + tanh(Z * 0.5))``, which cannot overflow."""
    t = g.op("Tanh", [g.op("Mul", [z, g.scalar(0.5)])])
    return g.op("Mul", [g.op("Add", [t, g.scalar(1.0)]), g.scalar(0.5)], "sigmoid")


def _tanh(g: Graph, z: str, params: dict[str, float]) -> str:
    return g.op("Tanh", [z])


def _softplus(g: Graph, z: str, params: dict[str, float]) -> str:
    """``max(Z, 0) + log1p(exp(-|Z|))``."""
    tail = log1p(g, g.op("Exp", [g.op("Neg", [g.op("Abs", [z])])]))
    return g.op("Add", [g.op("Max", [z, g.scalar(0.0)]), tail], "softplus")


def _softmax(g: Graph, z: str, params: dict[str, float]) -> str:
    """``exp(Z - max Z) / sum exp(Z - max Z)`` over each row."""
    axis = g.shared("axes_1", [1], np.int64)
    shifted = g.op("Sub", [z, g.op("ReduceMax", [z, axis], keepdims=1)])
    e = g.op("Exp", [shifted])
    return g.op("Div", [e, g.op("ReduceSum", [e, axis], keepdims=1)], "softmax")


#: Every activation of `nnctl.nn.activations.ACTIVATIONS` but linear (the identity).
ACTIVATIONS: dict[str, Callable[[Graph, str, dict[str, float]], str]] = {
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "gelu": _gelu,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "softplus": _softplus,
    "softmax": _softmax,
}


def add_network(g: Graph, network: Network, x: str) -> str:
    """The layers from the features ``x`` to the network's output; the output's name."""
    weights = network.state_dict()
    for i, layer in enumerate(network.layers):
        spec = layer.spec()
        W = g.const(f"layers.{i}.W", weights[f"layers.{i}.W"])
        b = g.const(f"layers.{i}.b", weights[f"layers.{i}.b"])
        x = g.op("Add", [g.op("MatMul", [x, W], f"layers.{i}.XW"), b], f"layers.{i}.Z")
        if spec["activation"] != "linear":
            build = ACTIVATIONS[spec["activation"]]
            x = build(g, x, dict(spec.get("activation_params") or {}))
    return x


def class_table(pre: Preprocessor) -> np.ndarray:
    """The original labels in class order: int64 when every label is an integer, else text."""
    classes = pre.target.classes
    if all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return np.asarray(classes, dtype=np.int64)
    return np.asarray([str(c) for c in classes], dtype=object)


def add_outputs(g: Graph, pre: Preprocessor, output: str) -> list[tuple[str, Any, list[Any]]]:
    """The answer nodes; ``(name, dtype, shape)`` of each graph output."""
    if pre.task == "regression":
        y = g.op("Cast", [output], "output_float64", to=g.elem_type(np.float64))
        std = g.const("target_std", [pre.target.std], np.float64)
        mean = g.const("target_mean", [pre.target.mean], np.float64)
        y = g.op("Add", [g.op("Mul", [y, std]), mean], "target_units")
        flat = g.op("Reshape", [y, g.shared("flat", [-1], np.int64)])
        g.rename(flat, "prediction")
        return [("prediction", np.float64, ["N"])]
    classes = class_table(pre)
    table = g.const("classes", classes, classes.dtype)
    if pre.task == "binary":
        p = output
        probabilities = g.op("Concat", [g.op("Sub", [g.scalar(1.0), p]), p], axis=1)
        index = g.op("Cast", [g.op("GreaterOrEqual", [p, g.scalar(0.5)])], to=g.elem_type(np.int64))
        index = g.op("Reshape", [index, g.shared("flat", [-1], np.int64)], "class_index")
    else:
        probabilities = output
        index = g.op("ArgMax", [output], "class_index", axis=1, keepdims=0)
    g.rename(g.op("Gather", [table, index], axis=0), "label")
    g.rename(probabilities, "probabilities")
    n_classes = len(pre.target.classes)
    return [("label", classes.dtype, ["N"]), ("probabilities", g.dtype, ["N", n_classes])]
