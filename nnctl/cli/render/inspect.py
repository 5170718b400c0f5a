"""``nnctl inspect`` and ``nnctl trace`` on a terminal: tables, the heatmap of W, a row's path."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from nnctl.cli.render.consoles import stdout_console
from nnctl.cli.render.formats import format_metric

#: Plain-text shades of a weight, most negative to most positive (the heatmap without colour).
ASCII_SHADES = "#=-.+*@"


def _num(value: object) -> str:
    return format_metric(value)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


#: Columns of text, left-aligned; every other column holds numbers.
TEXT_COLUMNS = frozenset({"layer", "formula", "activation", "input", "name", "statistic"})


def _table(title: str, columns: Sequence[str]) -> Table:
    table = Table(title=title, box=box.SIMPLE, title_justify="left")
    for name in columns:
        table.add_column(name, justify="left" if name in TEXT_COLUMNS else "right")
    return table


def _fitted(
    console: Console, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]
) -> Table:
    """A table of one row per layer, or, when that is wider than the console, its transpose.

    The transpose has one row per statistic and one column per layer (``rows[i][0]`` names
    the layer), so that a narrow terminal shows every number whole instead of cutting it.
    """
    table = _table(title, columns)
    for row in rows:
        table.add_row(*row)
    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    if natural <= console.width:
        return table
    flipped = _table(title, ["statistic", *(f"layer {row[0]}" for row in rows)])
    for at, name in enumerate(columns[1:], start=1):
        flipped.add_row(name, *(row[at] for row in rows))
    return flipped


def print_inspection(report: Mapping[str, Any], console: Console | None = None) -> None:
    """``nnctl inspect``: the layers, their weights and biases, activations, the footer, a layer."""
    console = console or stdout_console()
    console.print(f"model: {report['model']}", soft_wrap=True)
    layers = report["layers"]
    shapes = _table("layers", ["layer", "formula", "params", "share"])
    for row in layers:
        shapes.add_row(
            str(row["index"]), row["formula"], f"{row['params']:,}", _share(row["share"])
        )
    console.print(shapes)
    console.print(
        "nnctl's W is inputs x units (a row x times W); textbooks write W x, W units x inputs."
    )
    columns = ["layer", "W mean", "W std", "init std", "W min", "W max", "|W|", "b mean",
               "b std", "|b|"]  # fmt: skip
    cells = []
    for row in layers:
        w, b = row["weights"], row["bias"]
        values = (w["mean"], w["std"], row["init_std"], w["min"], w["max"], w["norm"],
                  b["mean"], b["std"], b["norm"])  # fmt: skip
        cells.append([str(row["index"]), *map(_num, values)])
    console.print(_fitted(console, "weights W and biases b", columns, cells))
    if report.get("data") is not None:
        _print_activations(console, report)
    _print_footer(console, report)
    if report.get("layer") is not None:
        print_layer(report["layer"], console)


def _print_activations(console: Console, report: Mapping[str, Any]) -> None:
    console.print(f"data: {report['data']} ({report['n_rows']:,} rows)", soft_wrap=True)
    columns = ["layer", "activation", "a mean", "a std", "dead", "saturated"]
    cells = []
    for row in report["layers"]:
        acts = row["activations"]
        cells.append([str(row["index"]), row["activation"], _num(acts["mean"]), _num(acts["std"]),
                      _share(row["dead_fraction"]), _share(row["saturated_fraction"])])  # fmt: skip
    console.print(_fitted(console, "activations a", columns, cells))
    console.print("dead: relu family, z never > 0 on the data; saturated: sigmoid or tanh, "
                  "within 0.01 of a bound on > 99% of the rows")  # fmt: skip


def _print_footer(console: Console, report: Mapping[str, Any]) -> None:
    state = report.get("optimizer_state")
    optimizer = "-" if state is None else f"{state['values']:,} values, {state['bytes']:,} bytes"
    lines = [
        f"total parameters: {report['total_params']:,} ({report['bytes']:,} bytes, "
        f"{report['dtype']})",
        f"optimizer state:  {optimizer}",
        f"epochs: {report['epochs'] if report['epochs'] is not None else '-'}, "
        f"best epoch: {report['best_epoch'] if report['best_epoch'] is not None else '-'}",
    ]
    console.print("\n".join(lines), soft_wrap=True)


def plain_heatmap(console: Console) -> bool:
    """Whether the heatmap is drawn in ASCII: NO_COLOR, no colour on the output, not UTF-8."""
    encoding = (getattr(console.file, "encoding", None) or "").lower().replace("-", "")
    return bool(os.environ.get("NO_COLOR")) or console.color_system is None or encoding != "utf8"


def heatmap_text(heatmap: Mapping[str, Any], plain: bool) -> Text:
    """One line per block of inputs, one character per block of units.

    Colour: blue negative, red positive, brighter further from 0 (scale ``max |W|``); plain:
    `ASCII_SHADES`.
    """
    limit = heatmap["limit"] or 1.0
    text = Text()
    for line in heatmap["values"]:
        for value in line:
            level = max(-1.0, min(1.0, value / limit))
            if plain:
                text.append(ASCII_SHADES[round((level + 1) / 2 * (len(ASCII_SHADES) - 1))])
            else:
                shade = int(255 * (1 - abs(level)))
                rgb = (255, shade, shade) if level > 0 else (shade, shade, 255)
                text.append("\u2588", style=f"rgb({rgb[0]},{rgb[1]},{rgb[2]})")
        text.append("\n")
    return text


def print_layer(detail: Mapping[str, Any], console: Console) -> None:
    """``--layer I``: the heatmap of W and the inputs with the largest total |W|."""
    heatmap = detail["heatmap"]
    n_in, units = detail["shape"]
    rows, cols = len(heatmap["row_edges"]) - 1, len(heatmap["col_edges"]) - 1
    console.print(
        f"\nlayer {detail['index']}: W {n_in}x{units} (rows: inputs, columns: units), "
        f"shown as {rows}x{cols} block means; scale +-{_num(heatmap['limit'])}",
        soft_wrap=True,
    )
    plain = plain_heatmap(console)
    console.print(heatmap_text(heatmap, plain), end="")
    legend = (
        f"{ASCII_SHADES[0]} most negative ... . near 0 ... {ASCII_SHADES[-1]} most positive"
        if plain
        else "blue negative, white near 0, red positive"
    )
    console.print(legend)
    table = _table("inputs with the largest total |W|", ["input", "name", "sum |W|"])
    for item in detail["top_inputs"]:
        table.add_row(str(item["index"]), str(item["name"] or "-"), _num(item["total_abs_w"]))
    console.print(table)


def write_lines(lines: Sequence[str]) -> None:
    """Plain text lines on stdout."""
    sys.stdout.write("".join(line.rstrip() + "\n" for line in lines))


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


def _vector(values: Sequence[float], limit: int = 12) -> str:
    shown = ", ".join(_num(v) for v in values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}] ({len(values)} values)"


def trace_lines(report: Mapping[str, Any]) -> list[str]:
    """``nnctl trace`` as lines of text: the input, each layer, the output, the gradients."""
    given = report["input"]
    lines = [f"model: {report['model']}", f"input: {given['source']}"]
    if given["raw"] is not None:
        lines.append("raw row: " + ", ".join(f"{k}={v}" for k, v in given["raw"].items()))
    lines.append("x (prepared inputs): " + _vector(given["x"]))
    for layer in report["layers"]:
        lines += ["", f"layer {layer['index']}: {layer['formula']}",
                  f"  z = {_vector(layer['z'])}", f"  a = {_vector(layer['a'])}"]  # fmt: skip
        for unit in layer["units"]:
            mark = "" if unit["state"] == "active" else f"  [{unit['state']}]"
            lines.append(
                f"  unit {unit['unit']}: z = {_num(unit['z'])}, a = {_num(unit['a'])}{mark}"
            )
            for term in unit["terms"]:
                lines.append(f"    {term['name']:>14} {_num(term['x']):>10} x {_num(term['w']):>10}"
                             f" = {_num(term['product'])}")  # fmt: skip
            lines.append(f"    {'the rest':>14} {'':>10}   {'':>10} = {_num(unit['rest'])}")
            lines.append(f"    {'bias b':>14} {'':>10}   {'':>10} = {_num(unit['bias'])}")
    out = report["output"]
    lines.append("")
    if out["probabilities"] is not None:
        pairs = zip(out["classes"], out["probabilities"], strict=True)
        lines.append("probabilities: " + ", ".join(f"{c}={p:.4f}" for c, p in pairs))
    else:
        lines.append(f"value: {_num(out['value'])}")
    label = "none (the output is not finite)" if out["label"] is None else out["label"]
    lines.append(f"predicted: {label}   true: {_or_dash(out['true_label'])}")
    lines.append(f"loss: {_num(report['loss'])}")
    if report.get("backward") is not None:
        lines += _backward_lines(report["backward"])
    return lines


def _backward_lines(back: Mapping[str, Any]) -> list[str]:
    lines = ["", f"backward: loss L = {_num(back['loss'])}, |g| = {_num(back['gradient_norm'])}"]
    for layer in back["layers"]:
        largest = ", ".join(
            f"W[{e['input']},{e['unit']}]={_num(e['value'])}" for e in layer["dL_dW_top"]
        )
        lines += [f"layer {layer['index']}:", f"  dL/dz = {_vector(layer['dL_dz'])}",
                  "  dL/db = dL/dz (one row)", f"  largest dL/dW: {largest}",
                  f"  |dL/dW| = {_num(layer['dL_dW_norm'])}"]  # fmt: skip
    step = back["sgd_step"]
    if step is None:
        lines.append("SGD step: no learning rate known (a checkpoint outside a run)")
    else:
        lines.append(
            f"one SGD step, lr {_num(step['learning_rate'])} ({step['learning_rate_from']}): "
            f"loss {_num(step['loss_before'])} -> {_num(step['loss_after'])}; change "
            f"predicted -lr*|g|^2 = {_num(step['predicted_change'])}, "
            f"actual {_num(step['actual_change'])}"
        )
    return lines


def print_trace(report: Mapping[str, Any]) -> None:
    """``nnctl trace`` on stdout, as plain text."""
    write_lines(trace_lines(report))
