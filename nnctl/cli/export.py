"""``nnctl export``: a model as an ONNX file, preprocessing included, checked before writing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.options import JsonOption, ModelArgument, RunsDirOption


def export(
    model: ModelArgument,
    output: Annotated[Path, typer.Option("-o", "--output", help="The file to write (model.onnx).")],
    fmt: Annotated[str, typer.Option("--format", help="The file format: onnx.")] = "onnx",
    json_: JsonOption = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Export a model to ONNX: raw values in, labels and probabilities (or predictions) out.

    Inputs 'numeric' and 'text' (or 'pixels' for images), with imputation, scaling and one-hot
    inside the graph; opset 20, IR 9. Before anything is written, onnxruntime runs the graph on
    check rows and edge rows against nnctl's own predictions: exit 5 when they differ.

    Example: nnctl export runs/iris-20260101-120000 --format onnx -o iris.onnx
    """
    from nnctl.export.onnx import export_onnx

    done = export_onnx(model, output, fmt, runs_dir)
    summary = done.to_json()
    if json_:
        from nnctl.store import jsonio

        sys.stdout.write(jsonio.dumps(summary) + "\n")
        return
    for spec in summary["inputs"]:
        columns = ", ".join(spec["columns"][:8]) + (" ..." if len(spec["columns"]) > 8 else "")
        sys.stderr.write(
            f"input  {spec['name']}: {spec['dtype']} [N, {len(spec['columns'])}]  {columns}\n"
        )
    sys.stderr.write(f"output {', '.join(summary['outputs'])}\n")
    worst = ", ".join(f"{k} {v:.2g}" for k, v in summary["max_difference"].items())
    sys.stderr.write(
        f"checked in onnxruntime on {summary['rows_checked']} rows "
        f"({summary['test_rows_checked']} of the test split) against nnctl "
        f"({'labels equal, ' if 'label' in summary['outputs'] else ''}"
        f"largest difference: {worst})\n"
    )
    sys.stdout.write(f"{done.path}\n")
