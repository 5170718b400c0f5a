"""The graph's inputs and the preprocessing nnctl applies to them, as ONNX nodes.

CSV models take ``numeric`` (the numeric columns, shape [N, k], the network's float type) and,
when there are text columns, ``text`` (strings, [N, m]); IDX models take ``pixels`` ([N, h*w],
raw values 0-255). The nodes compute what `nnctl.data.Preprocessor` computes:

    x = pixels / 255                             IDX only
    x = where(isnan(x) or isinf(x), fill, x)     when data.missing imputes
    x = (x - shift) / divide                     skipped when shift is 0 / divide is 1, as nnctl
    onehot_j = cast(text_j == vocabulary_j)      an unseen category gives zeros
    X = concat(x, onehot_1, ..., onehot_m)

A missing text value is the empty string; it becomes the column's fill (``data.missing``
imputes) or, without one, zeros.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nnctl.data import Preprocessor
from nnctl.export.graph import Graph, as_float

#: The text that stands for a missing value in the ``text`` input.
MISSING_TEXT = ""


@dataclass(frozen=True)
class Input:
    """One graph input: its name, the columns of its second axis, their dtype."""

    name: str
    columns: list[str]
    dtype: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "columns": self.columns, "dtype": self.dtype}


def graph_inputs(pre: Preprocessor, dtype: np.dtype[Any]) -> list[Input]:
    """What the exported graph takes, in order: ``numeric`` and ``text``, or ``pixels``."""
    if pre.input == "idx":
        return [Input("pixels", pre.feature_names, dtype.name)]
    inputs = []
    if pre.numeric_columns:
        inputs.append(Input("numeric", list(pre.numeric_columns), dtype.name))
    if pre.categories:
        inputs.append(Input("text", [c.column for c in pre.categories], "string"))
    return inputs


def add_preprocessing(g: Graph, pre: Preprocessor, inputs: list[Input]) -> str:
    """Nodes from the graph inputs to the network's feature matrix X; the name of X."""
    parts = []
    for spec in inputs:
        if spec.name == "text":
            parts += [_onehot(g, pre, spec.name, j) for j in range(len(pre.categories))]
        else:
            x = spec.name
            if spec.name == "pixels":
                x = g.op("Div", [x, g.scalar(255.0)], "pixels_01")
            parts.append(_numeric(g, pre, x))
    if len(parts) == 1:
        return parts[0]
    return g.op("Concat", parts, "features", axis=1)


def _numeric(g: Graph, pre: Preprocessor, x: str) -> str:
    """Impute (when the fill values are finite) and scale the numeric block ``x``."""
    numeric = pre.numeric
    if np.isfinite(numeric.fill).all() and len(numeric.fill):
        bad = g.op("Or", [g.op("IsNaN", [x]), g.op("IsInf", [x])], "missing")
        fill = g.const("fill", as_float(numeric.fill, g.dtype))
        x = g.op("Where", [bad, fill, x], "imputed")
    if np.any(numeric.shift != 0):
        x = g.op("Sub", [x, g.const("shift", as_float(numeric.shift, g.dtype))], "shifted")
    if np.any(numeric.divide != 1):
        x = g.op("Div", [x, g.const("divide", as_float(numeric.divide, g.dtype))], "scaled")
    return x


def _onehot(g: Graph, pre: Preprocessor, text: str, j: int) -> str:
    """The one-hot block of text column ``j``: its value compared with each vocabulary entry."""
    category = pre.categories[j]
    column = g.op(
        "Slice",
        [
            text,
            g.const(f"start_{j}", [j], np.int64),
            g.const(f"end_{j}", [j + 1], np.int64),
            g.const(f"axis_{j}", [1], np.int64),
        ],
        f"text_{j}",
    )
    if category.fill is not None:
        empty = g.op("Equal", [column, g.const(f"empty_{j}", [MISSING_TEXT], object)])
        fill = g.const(f"text_fill_{j}", [category.fill], object)
        column = g.op("Where", [empty, fill, column], f"text_{j}_filled")
    vocabulary = g.const(f"vocabulary_{j}", category.vocabulary, object)
    same = g.op("Equal", [column, vocabulary], f"is_{j}")
    return g.op("Cast", [same], f"onehot_{j}", to=g.elem_type(g.dtype))
