"""The reports of nnctl's checks on stdout: ``nnctl gradcheck``'s tensors, ``nnctl doctor``'s
findings (and the warnings ``nnctl runs show`` repeats)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nnctl.cli.render.consoles import stdout_console
from nnctl.cli.render.tables import print_table

_GRADCHECK_COLUMNS = ("tensor", "term", "shape", "entries", "max rel. error", "band", "kinks")


def print_gradcheck(report: Mapping[str, Any]) -> None:
    """``nnctl gradcheck``'s table: one row per tensor, then the worst entries of failing ones."""
    console = stdout_console()
    inputs = report["inputs"]
    console.print(
        f"gradient check of {report['source']}\n"
        f"rows:   {inputs['description']}\n"
        f"how:    float64, dropout off, central differences with h = {report['h']:g}; "
        f"loss on these rows {report['loss']:.4g}\n",
        soft_wrap=True,
    )
    rows = [
        [tensor["name"], tensor["term"].replace("_", " "), "x".join(map(str, tensor["shape"])),
         str(tensor["checked"]), f"{tensor['error']:.1e}", tensor["band"], str(tensor["kinks"])]
        for tensor in report["tensors"]
    ]  # fmt: skip
    print_table(None, _GRADCHECK_COLUMNS, rows, right_align=(3, 4, 6))
    for tensor in report["tensors"]:
        worst = tensor["worst"]
        if tensor["band"] not in ("excellent", "fine") and worst is not None:
            index = ", ".join(map(str, worst["index"]))
            console.print(
                f"worst of {tensor['name']} ({tensor['term'].replace('_', ' ')}): [{index}] "
                f"backprop {worst['analytic']:.6g}, finite difference {worst['numeric']:.6g}",
                soft_wrap=True,
            )
    bands = report["bands"]
    lines = [
        f"weight decay: {report['weight_decay']['note']}",
        f"bands (CS231n): below {_power(bands['excellent'])} excellent, below "
        f"{_power(bands['fine'])} fine, up to {_power(bands['suspect'])} suspect, above wrong",
    ]
    if report["kinks"]:
        lines.append(
            f"kinks: {report['kinks']} entries' differences crossed a kink (a relu's input or "
            "mae's residual changed sign within h): there the finite difference averages two "
            "slopes, so they are shown, not counted"
        )
    if report["inputs"]["random"]:
        lines.append("note: the rows are random, not data: the check is of the math, not the run")
    lines.append(f"result: {report['verdict']}")
    console.print("\n" + "\n".join(lines), soft_wrap=True)


def _power(value: float) -> str:
    """``1e-07`` as ``1e-7``."""
    return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")
