"""A small builder of ONNX graphs over ``onnx.helper``: nodes, constants and unique names.

The onnx module is passed in (`nnctl.extras.load` imports it in the command), so importing this
module needs no extra. Every constant is an initializer named after what it holds, in the order it
was added, so the same model gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: The default opset and the IR version, pinned so that current and older onnxruntimes load it.
OPSET = 20
IR_VERSION = 9


@dataclass
class Graph:
    """Nodes and initializers being collected; ``dtype`` is the network's float type."""

    onnx: ModuleType
    dtype: np.dtype[Any]
    nodes: list[Any] = field(default_factory=list)
    initializers: list[Any] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    shared_names: dict[str, str] = field(default_factory=dict)

    def name(self, hint: str) -> str:
        """A name not used yet: ``hint``, else ``hint_1``, ``hint_2``, ..."""
        name, k = hint, 0
        while name in self.names:
            k += 1
            name = f"{hint}_{k}"
        self.names.add(name)
        return name

    def const(self, hint: str, value: Any, dtype: Any = None) -> str:
        """An initializer holding ``value`` (in ``dtype``, default the network's); its name."""
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        if array.dtype.kind in "OU":
            array = np.asarray(value, dtype=object)
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def shared(self, hint: str, value: Any, dtype: Any = None) -> str:
        """Like `const`, but made once: a second call with ``hint`` returns the first's name."""
        if hint not in self.shared_names:
            self.shared_names[hint] = self.const(hint, value, dtype)
        return self.shared_names[hint]

    def scalar(self, value: float) -> str:
        """A scalar constant in the network's dtype, named after its value, made once."""
        return self.shared(f"c_{value!r}", value)

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, **attrs: Any) -> str:
        """Add one node of ``op_type``; return the name of its (single) output."""
        out = self.name(hint or op_type.lower())
        node = self.onnx.helper.make_node(
            op_type, inputs, [out], name=self.name(f"node_{out}"), **attrs
        )
        self.nodes.append(node)
        return out

    def rename(self, value: str, output: str) -> str:
        """Give ``value`` the graph output name ``output`` (an Identity node)."""
        self.names.add(output)
        node = self.onnx.helper.make_node("Identity", [value], [output], name=f"node_{output}")
        self.nodes.append(node)
        return output

    def elem_type(self, dtype: Any) -> int:
        """The ONNX element type of a NumPy dtype (``object`` is a string)."""
        kind = np.dtype(dtype)
        if kind == np.dtype(object):
            return int(self.onnx.TensorProto.STRING)
        return int(self.onnx.helper.np_dtype_to_tensor_dtype(kind))

    def value_info(self, name: str, dtype: Any, shape: list[int | str]) -> Any:
        return self.onnx.helper.make_tensor_value_info(name, self.elem_type(dtype), shape)

    def model(
        self, inputs: list[Any], outputs: list[Any], metadata: dict[str, str], doc: str
    ) -> Any:
        """The ModelProto: opset `OPSET`, IR `IR_VERSION`, ``metadata`` in ``metadata_props``."""
        helper = self.onnx.helper
        graph = helper.make_graph(
            self.nodes, "nnctl", inputs, outputs, self.initializers, doc_string=doc
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            ir_version=IR_VERSION,
            producer_name="nnctl",
            doc_string=doc,
        )
        helper.set_model_props(model, metadata)
        return model


def as_float(values: NDArray[Any], dtype: np.dtype[Any]) -> NDArray[Any]:
    """``values`` in the network's float type, as nnctl casts its fitted statistics."""
    return np.asarray(values, dtype=np.float64).astype(dtype)
