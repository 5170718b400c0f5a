"""The terminal's line charts: points where they belong, axes, legend, width, the three styles."""

from __future__ import annotations

import io
import math

from rich.console import Console

from nnctl.cli.render.charts import Line, Mark, Style, line_chart

ASCII = Style(ascii=True, colour=False)
SYMBOLS = Style(ascii=False, colour=False)
BRAILLE = Style(ascii=False, colour=True)


def rows(lines: list[Line], style: Style = ASCII, **options: object) -> list[str]:
    chart = line_chart(lines, width=options.pop("width", 40), height=options.pop("height", 8),  # type: ignore[arg-type]
                       style=style, **options)  # type: ignore[arg-type]  # fmt: skip
    return [row.plain for row in chart]


def test_a_rising_line_goes_from_bottom_left_to_top_right() -> None:
    chart = rows([Line("train", [1, 2, 3, 4], [0.0, 1.0, 2.0, 3.0])])
    canvas = chart[:8]
    assert canvas[0].rstrip().endswith("*")  # the highest value, at the last epoch
    assert canvas[-1].split("+", 1)[1].startswith("*")  # the lowest, at the first
    assert canvas[0].lstrip().startswith("3+") and canvas[-1].lstrip().startswith(
        "0+"
    )  # y ticks, top and bottom
    assert chart[8].lstrip().startswith("+----")
    assert chart[9].split()[0] == "1" and chart[9].split()[-1] == "4"  # epochs under the axis
    assert chart[10] == "  * train"


def test_the_width_is_kept_and_the_legend_wraps() -> None:
    lines = [Line(f"a rather long label number {k}", [1, 2], [k, k + 1.0]) for k in range(4)]
    chart = rows(lines, width=30)
    assert max(len(row) for row in chart) <= 30
    legend = chart[10:]
    assert legend[0] == "  * a rather long label number" and legend[1].strip() == "0"  # folded
    assert [row.split()[0] for row in legend[::2]] == ["*", "o", "x", "#"]


def test_missing_values_are_left_out() -> None:
    chart = rows([Line("v", [1, 2, 3], [1.0, math.nan, 3.0])])
    assert sum(row.count("*") for row in chart[:8]) == 2


def test_a_mark_and_a_reference_line() -> None:
    chart = rows(
        [Line("ratio", [1, 10], [1e-4, 1e-2])],
        log_y=True,
        marks=[Mark(5, "best epoch 5")],
        reference=(1e-3, "0.001 (rule of thumb)"),
    )
    canvas = chart[:8]
    assert canvas[0].lstrip().startswith("0.01+") and canvas[-1].lstrip().startswith(
        "0.0001+"
    )  # log ticks
    assert all(":" in row or "*" in row for row in canvas)  # the mark, top to bottom
    middle = [row for row in canvas if row.count(".") > 10]
    assert len(middle) == 1  # the 1e-3 line, a dotted row
    legend = "\n".join(chart[10:])
    assert ": best epoch 5" in legend and ". 0.001 (rule of thumb)" in legend


def test_utf8_symbols_and_braille() -> None:
    symbols = "\n".join(rows([Line("a", [1, 2], [1, 2]), Line("b", [1, 2], [2, 1])], SYMBOLS))
    assert "●" in symbols and "○" in symbols and "└" in symbols and "┤" in symbols
    braille = "\n".join(rows([Line("a", [1, 2, 3], [1, 3, 2])], BRAILLE))
    assert any(0x2800 < ord(char) <= 0x28FF for char in braille)
    assert "━ a" in braille


def test_one_value_is_drawn_in_the_middle() -> None:
    chart = rows([Line("lr", [1, 2, 3], [0.5, 0.5, 0.5])])
    assert sum(row.count("*") for row in chart[:8]) == 3


def test_the_style_follows_the_console() -> None:
    plain = Console(file=io.StringIO(), no_color=True)
    assert Style.of(plain).ascii
    latin = Console(file=io.TextIOWrapper(io.BytesIO(), encoding="latin-1"))
    assert Style.of(latin).ascii
    piped = Console(file=io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
    assert Style.of(piped) == SYMBOLS
    colour = Console(file=io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), force_terminal=True,
                     color_system="truecolor")  # fmt: skip
    assert Style.of(colour) == BRAILLE
