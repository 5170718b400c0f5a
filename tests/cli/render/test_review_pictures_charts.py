"""Review of ``nnctl plot``'s terminal charts: the epochs under the x axis, each once, in place."""

from __future__ import annotations

from nnctl.cli.render.charts import Line, Style, line_chart

ASCII = Style(ascii=True, colour=False)


def _axis_row(x: list[int], width: int = 60) -> str:
    chart = line_chart([Line("train", x, [float(v) for v in x])], width=width, height=6,
                       style=ASCII)  # fmt: skip
    return chart[7].plain  # 6 rows of canvas, the axis line, then the epochs


def test_three_epochs_are_numbered_once_each() -> None:
    numbers = _axis_row([1, 2, 3]).split()
    assert [n for n in numbers if n != "epoch"] == ["1", "2", "3"]  # was: 1 1 2 2 3 3


def test_an_epoch_number_stands_under_its_point() -> None:
    chart = line_chart([Line("train", [1, 2, 3], [0.0, 1.0, 2.0])], width=60, height=6,
                       style=ASCII)  # fmt: skip
    points = sorted(row.plain.index("*") for row in chart[:6] if "*" in row.plain)
    axis = chart[7].plain
    assert [axis.index(n) for n in "123"] == points  # each epoch's number under its point


def test_one_epoch_is_numbered_where_it_is_drawn() -> None:
    chart = line_chart([Line("train", [1], [0.5])], width=60, height=6, style=ASCII)
    point = next(row.plain for row in chart[:6] if "*" in row.plain)
    assert chart[7].plain.index("1") == point.index("*")  # was: at the far left
