"""``nnctl export MODEL --format onnx -o FILE``: the model as one ONNX graph, raw values to answers.

Built with the ``onnx`` package alone (``onnx.helper``, ``onnx.numpy_helper``): the inputs and
preprocessing of `nnctl.export.preprocess`, the network and answers of `nnctl.export.network`;
checked by ``onnx.checker`` and by `nnctl.export.verify` in onnxruntime, then written atomically.
Nothing is written when a check fails.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from nnctl import __version__
from nnctl.data.scaled import ScaledOutOfRange
from nnctl.errors import CheckFailed, DataError, NnctlWarning, UsageError
from nnctl.export.graph import IR_VERSION, OPSET, Graph
from nnctl.export.network import add_network, add_outputs
from nnctl.export.preprocess import MISSING_TEXT, Input, add_preprocessing, graph_inputs
from nnctl.export.rows import joined, test_rows
from nnctl.export.verify import Verified, check_rows, verify
from nnctl.extras import load
from nnctl.store.bundle import locate_model, model_file
from nnctl.store.files import atomic_writer
from nnctl.store.model import Model, load_model
from nnctl.store.runs import CHECKPOINTS

FORMATS = {"onnx": ".onnx"}


@dataclass(frozen=True)
class Exported:
    """What ``nnctl export`` wrote and checked."""

    path: Path
    inputs: list[Input]
    outputs: list[str]
    verified: Verified

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "inputs": [i.to_json() for i in self.inputs],
            "outputs": self.outputs,
            "opset": OPSET,
            "ir_version": IR_VERSION,
            "rows_checked": self.verified.rows,
            "test_rows_checked": self.verified.test_rows,
            "max_difference": self.verified.differences,
        }


def check_target(fmt: str, output: Path) -> None:
    """Refuse (exit 2) an unknown ``--format`` or an ``-o`` whose suffix is not the format's."""
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt}: unknown format; expected one of: {', '.join(FORMATS)}")
    if output.suffix.lower() != FORMATS[fmt]:
        raise UsageError(
            f"-o {output}: an {fmt} file's name ends in {FORMATS[fmt]}, got "
            f"{output.suffix or 'no suffix'}",
            hint=f"for example -o model{FORMATS[fmt]}",
        )
    if output.is_dir():
        raise UsageError(f"-o {output}: is a directory; give a file name")
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"-o {output}: the folder {folder} does not exist")


def export_onnx(
    model: Path, output: Path, fmt: str = "onnx", runs_dir: Path | None = None
) -> Exported:
    """Export ``model`` (a MODEL argument) to ``output``; see the module docstring.

    Raises `UsageError` (exit 2) for a bad format or file name or a missing extra,
    `CheckpointError` (exit 3) for an unreadable model, `CheckFailed` (exit 5) when onnxruntime
    and nnctl disagree.
    """
    check_target(fmt, output)
    located = locate_model(model, runs_dir)
    loaded = load_model(located)
    onnx = load("onnx", "onnx")
    ort = load("onnxruntime", "onnx")
    _refuse_unscalable(loaded)
    _warn_unenforced(loaded)
    proto, inputs, outputs = build_model(onnx, loaded, run_name(model_file(located)))
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as error:
        raise CheckFailed(f"onnx.checker refuses the graph: {error}; nothing was written") from None
    data = proto.SerializeToString()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    test = test_rows(loaded, located)
    verified = verify(loaded, session, joined(test, check_rows(loaded)))
    verified = replace(verified, test_rows=len(next(iter(test.values()))) if test else 0)
    with atomic_writer(output, "wb") as handle:
        handle.write(data)
    return Exported(path=output, inputs=inputs, outputs=outputs, verified=verified)


def build_model(onnx: Any, model: Model, run: str) -> tuple[Any, list[Input], list[str]]:
    """The ModelProto of ``model``, its inputs, and the names of its outputs."""
    pre, dtype = model.preprocessor, model.network.dtype
    g = Graph(onnx=onnx, dtype=dtype)
    inputs = graph_inputs(pre, dtype)
    g.names.update(i.name for i in inputs)
    x = add_preprocessing(g, pre, inputs)
    answers = add_outputs(g, pre, add_network(g, model.network, x))
    metadata = {
        "nnctl.inputs": json.dumps([i.to_json() for i in inputs]),
        "nnctl.version": __version__,
        "nnctl.run": run,
        "nnctl.task": model.task,
        "nnctl.missing_text": MISSING_TEXT,
    }
    proto = g.model(
        [g.value_info(i.name, object if i.dtype == "string" else dtype, ["N", len(i.columns)])
         for i in inputs],
        [g.value_info(name, kind, shape) for name, kind, shape in answers],
        metadata,
        doc=f"nnctl {__version__} model {run}: raw values to answers, preprocessing included",
    )  # fmt: skip
    proto.producer_version = __version__
    return proto, inputs, [name for name, _, _ in answers]


def run_name(path: Path) -> str:
    """``iris-20260101-120000/checkpoints/best.npz`` for a run's checkpoint, else the file name."""
    if path.parent.name == CHECKPOINTS:
        return f"{path.parent.parent.name}/{CHECKPOINTS}/{path.name}"
    return path.name


def _refuse_unscalable(model: Model) -> None:
    """A `DataError` for a column whose scaling the graph's float type cannot compute.

    nnctl computes such a column in float64 (`NumericTransform.in_type`: a float32 column from
    -3e38 to 3e38 spans 6e38); the graph's Sub and Div run in the network's type.
    """
    numeric, dtype = model.preprocessor.numeric, model.network.dtype
    wide = np.flatnonzero(numeric.in_type(dtype)[2])
    if len(wide):
        j = int(wide[0])
        names = model.preprocessor.feature_names
        scaling = ScaledOutOfRange(0, j, float(numeric.shift[j]), float(numeric.divide[j]))
        raise DataError(
            f"{model.path}: column '{names[j]}' is scaled as {scaling.formula()}, which nnctl "
            f"computes in float64 and a {dtype.name} graph cannot",
            hint="train the model with training.dtype: float64 to export it",
        )


def _warn_unenforced(model: Model) -> None:
    """Say what nnctl refuses and the graph cannot: it has no way to raise an error."""
    pre = model.preprocessor
    if pre.input == "csv" and pre.missing == "error" and pre.numeric_columns:
        warnings.warn(
            "the model has data.missing: error, which a graph cannot enforce: in the ONNX "
            "model a NaN or infinite numeric value gives NaN answers instead of an error",
            NnctlWarning,
            stacklevel=2,
        )
    if pre.categories and any(c.fill is None for c in pre.categories):
        warnings.warn(
            "a missing text value (the empty string) is an error in nnctl but encodes as all "
            "zeros in the ONNX model",
            NnctlWarning,
            stacklevel=2,
        )
    if pre.categories and pre.unseen_categories == "error":
        warnings.warn(
            "the model has data.unseen_categories: error, which a graph cannot enforce: in the "
            "ONNX model an unseen category encodes as all zeros instead of an error",
            NnctlWarning,
            stacklevel=2,
        )
