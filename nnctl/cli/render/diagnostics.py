"""The reports of nnctl's checks on stdout: ``nnctl gradcheck``'s tensors, ``nnctl doctor``'s
findings (and the warnings ``nnctl runs show`` repeats)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from nnctl.cli.render.consoles import stdout_console

_GRADCHECK_COLUMNS = ("tensor", "term", "shape", "entries", "max rel. error", "band", "kinks")


def print_gradcheck(report: Mapping[str, Any]) -> None:
    """``nnctl gradcheck``'s table: one row per tensor, then the worst entries of failing ones."""
    console = stdout_console()
    inputs = report["inputs"]
    _say(
        console,
        f"gradient check of {report['source']}\n"
        f"rows:   {inputs['description']}\n"
        f"how:    float64, dropout off, central differences with h = {report['h']:g}; "
        f"loss on these rows {report['loss']:.4g}\n",
    )
    rows = [
        [tensor["name"], tensor["term"].replace("_", " "), "x".join(map(str, tensor["shape"])),
         str(tensor["checked"]), f"{tensor['error']:.1e}", tensor["band"], str(tensor["kinks"])]
        for tensor in report["tensors"]
    ]  # fmt: skip
    _print_tensors(console, rows)
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
    _say(console, "\n" + "\n".join(lines))


def _print_tensors(console: Console, rows: Sequence[Sequence[str]]) -> None:
    """The tensors' table; the cells are never cut (the headers wrap first)."""
    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False, collapse_padding=True)
    for index, name in enumerate(_GRADCHECK_COLUMNS):
        header = 0 if " " in name else len(name)  # a one-word header is not cut either
        whole = max([header, *(len(row[index]) for row in rows)])
        table.add_column(name, justify="right" if index in (3, 4, 6) else "left", min_width=whole)
    for row in rows:
        table.add_row(*row)
    with console.capture() as captured:
        console.print(table)
    console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def _say(console: Console, text: str) -> None:
    """Print ``text``; on a terminal each line is wrapped at words to its width, the lines after
    a line's first indented as its own indent plus 6 (piped, lines stay whole)."""
    if not console.is_terminal:
        console.print(text, soft_wrap=True)
        return
    lines = []
    for line in text.split("\n"):
        indent = " " * (len(line) - len(line.lstrip()))
        lines += textwrap.wrap(line, console.width, subsequent_indent=indent + " " * 6,
                               break_on_hyphens=False) or [""]  # fmt: skip
    console.print("\n".join(lines), soft_wrap=True)


def _power(value: float) -> str:
    """``1e-07`` as ``1e-7``."""
    return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")


def print_findings(report: Mapping[str, Any]) -> None:
    """``nnctl doctor``'s findings: warnings first, each with its evidence, rule and source."""
    console = stdout_console()
    findings = sorted(report["findings"], key=lambda f: f["severity"] != "warn")
    n_warn = sum(f["severity"] == "warn" for f in findings)
    _say(console, f"doctor: {report['run']}: {n_warn} warning{'s' if n_warn != 1 else ''}, "
                  f"{len(findings) - n_warn} info")  # fmt: skip
    for finding in findings:
        rule = finding["rule"]
        lines = [f"\n{finding['severity']:<4}  {rule['name']}: {finding['message']}"]
        evidence = ", ".join(f"{k} {_value(v)}" for k, v in finding["evidence"].items())
        if evidence:
            lines.append(f"      evidence: {evidence}")
        if rule["threshold"]:
            lines.append(f"      rule: {rule['threshold']}")
            lines.append(f"      source: {rule['source']}")
        _say(console, "\n".join(lines))


def print_warnings(findings: Sequence[Mapping[str, Any]]) -> None:
    """The ``warn`` findings of a run, one line each (``nnctl runs show``); nothing if none."""
    warnings = [f for f in findings if f["severity"] == "warn"]
    if not warnings:
        return
    console = stdout_console()
    lines = ["doctor's warnings (details: nnctl doctor RUN):"]
    lines += [f"  warn  {f['rule']['name']}: {f['message']}" for f in warnings]
    _say(console, "\n".join(lines))


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value)
