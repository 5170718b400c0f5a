"""Line charts on a grid of characters, for a terminal: ``nnctl plot`` without ``-o``.

A chart is drawn on a canvas of cells. On a colour terminal that speaks UTF-8 each cell is a
braille character, 2 x 4 dots, and each line has its colour; without colour (a pipe, a file)
each line has its own symbol (``●``, ``○``, ``■``...), one per cell; with ``NO_COLOR`` set or an
encoding that is not UTF-8 the chart is plain ASCII (``*``, ``o``, ``x``...). The y axis has tick
labels on the left, the x axis (epochs) below, and a legend under it; vertical marks (the best
epoch) and a horizontal reference line (the update ratio's 1e-3) are drawn where no line is.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

#: Each line's colour, in order (train blue and validation orange, as the picture files have).
PALETTE = ("blue", "dark_orange", "green", "red", "magenta", "cyan", "yellow", "bright_black")
#: Each line's symbol without colour, in UTF-8 and in ASCII.
SYMBOLS = ("●", "○", "■", "□", "▲", "△", "◆", "◇")
ASCII_SYMBOLS = ("*", "o", "x", "#", "@", "%", "&", "=")
#: Braille: the bit of the dot at (column, row) of a cell, rows from the top (Unicode U+2800).
_BRAILLE = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


@dataclass(frozen=True)
class Line:
    """One line of a chart: ``y[i]`` at ``x[i]``; non-finite values are left out."""

    label: str
    x: Sequence[float]
    y: Sequence[float]


@dataclass(frozen=True)
class Mark:
    """A vertical mark at ``x`` (the best epoch), in the colour of line ``line`` (-1: grey)."""

    x: float
    label: str
    line: int = -1


@dataclass(frozen=True)
class Style:
    """How a console can draw: ``ascii`` only, or UTF-8 with ``colour`` (braille) or without."""

    ascii: bool
    colour: bool

    @classmethod
    def of(cls, console: Console) -> Style:
        """The style ``console`` can show: ASCII under ``NO_COLOR`` or a non-UTF-8 encoding."""
        utf8 = console.encoding.lower().replace("-", "") in ("utf8", "utf_8")
        ascii_only = console.no_color or not utf8
        return cls(ascii_only, not ascii_only and console.color_system is not None)


def line_chart(
    lines: Sequence[Line],
    *,
    width: int,
    height: int,
    style: Style,
    log_y: bool = False,
    marks: Sequence[Mark] = (),
    reference: tuple[float, str] | None = None,
) -> list[Text]:
    """The rows of a chart of ``lines``, ``width`` characters wide (axes and legend included).

    ``reference`` is a horizontal line ``(y, label)``; ``log_y`` draws ``log10(y)`` (values <= 0
    are left out) with ticks in ``y``'s units.
    """
    points = [_points(line, log_y) for line in lines]
    ref_y = None if reference is None else _scale(reference[0], log_y)
    xs = [x for pts in points for x, _ in pts] or [0.0, 1.0]
    ys = [y for pts in points for _, y in pts] + ([] if ref_y is None else [ref_y])
    y_low, y_high = _span(ys or [0.0, 1.0])
    x_low, x_high = min(xs), max(xs)
    ticks = _y_ticks(y_low, y_high, height, log_y)
    label_width = max(len(text) for text in ticks.values())
    plot_width = max(10, width - label_width - 1)
    canvas = _Canvas(plot_width, height, style, (x_low, x_high), (y_low, y_high))
    for mark in marks:
        canvas.vertical(mark.x, mark.line)
    if ref_y is not None:
        canvas.horizontal(ref_y)
    for index, pts in enumerate(points):
        canvas.draw(pts, index)
    out = _framed(canvas.rows(), ticks, label_width, style)
    axis_name = "epoch".rjust(label_width) if label_width >= 5 else " " * label_width
    out.append(Text(axis_name + " " + _x_labels(x_low, x_high, plot_width)))
    out.extend(_legend(lines, marks, reference, style, width))
    for text in out:
        text.rstrip()  # no trailing blanks where the lines end early
    return out


def _framed(rows: list[Text], ticks: dict[int, str], label_width: int, style: Style) -> list[Text]:
    """The canvas's rows with the y axis and its tick labels on the left, the x axis below."""
    out = []
    for row, text in enumerate(rows):
        tick = ticks.get(row)
        axis = ("+" if style.ascii else "┤") if tick is not None else ("|" if style.ascii else "│")
        out.append(Text((tick or "").rjust(label_width) + axis) + text)
    corner, rule = ("+", "-") if style.ascii else ("└", "─")
    out.append(Text(" " * label_width + corner + rule * len(rows[0] if rows else "")))
    return out


def _points(line: Line, log_y: bool) -> list[tuple[float, float]]:
    found = []
    for x, y in zip(line.x, line.y, strict=True):
        if math.isfinite(y) and (y > 0 or not log_y):
            found.append((float(x), _scale(y, log_y)))
    return found


def _scale(y: float, log_y: bool) -> float:
    return math.log10(y) if log_y else y


def _span(values: Sequence[float]) -> tuple[float, float]:
    """The y range to draw: the values' range, widened a little when it is one value."""
    low, high = min(values), max(values)
    if high - low < 1e-12 * max(1.0, abs(high)):
        pad = abs(high) * 0.1 or 1.0
        return low - pad, high + pad
    return low, high


def _y_ticks(low: float, high: float, height: int, log_y: bool) -> dict[int, str]:
    """Tick labels by row (0 is the top): the top, the bottom, and about every 3rd row between."""
    count = max(2, min(6, height // 3 + 1))
    rows = sorted({round(i * (height - 1) / (count - 1)) for i in range(count)})
    labels = {}
    for row in rows:
        value = high - (high - low) * row / max(1, height - 1)
        labels[row] = _number(10**value if log_y else value)
    return labels


def _number(value: float) -> str:
    """A tick label: 3 significant digits; thousands to millions whole (12466, not 1.25e+04)."""
    return f"{value:.0f}" if 1000 <= abs(value) < 1e7 else f"{value:.3g}"


def _x_labels(low: float, high: float, width: int) -> str:
    """Epoch numbers under the x axis, about every 10 characters, each centred on its column.

    Each number once, at the column of the epoch it names (3 epochs: ``1 2 3``, not
    ``1 1 2 2 3 3``); one epoch is drawn in the middle, and so is its number.
    """
    chars = [" "] * width
    count = max(2, min(6, width // 10))
    last_end = -2
    numbers = sorted({round(low + (high - low) * i / (count - 1)) for i in range(count)})
    for value in numbers:
        text = f"{value}"
        if high > low:
            column = round((min(max(value, low), high) - low) / (high - low) * (width - 1))
        else:
            column = (width - 1) // 2
        start = min(max(0, column - len(text) // 2), width - len(text))
        if start > last_end + 1:
            chars[start : start + len(text)] = text
            last_end = start + len(text)
    return "".join(chars).rstrip()


def _legend(
    lines: Sequence[Line],
    marks: Sequence[Mark],
    reference: tuple[float, str] | None,
    style: Style,
    width: int,
) -> list[Text]:
    """The legend: each line's symbol and label, the marks, the reference; wrapped to ``width``."""
    entries = [
        Text(_glyph(style, index), style=_colour(style, index)) + f" {line.label}"
        for index, line in enumerate(lines)
    ]
    for mark in marks:
        glyph = ":" if style.ascii else "┊"
        entries.append(Text(glyph, style=_colour(style, mark.line)) + f" {mark.label}")
    if reference is not None:
        entries.append(Text("." if style.ascii else "┄", style="dim") + f" {reference[1]}")
    rows: list[Text] = []
    current = Text("  ")
    for entry in entries:
        if len(current) > 2 and len(current) + 3 + len(entry) > width:
            rows.append(current)
            current = Text("  ")
        if len(current) == 2 and len(entry) > width - 2:  # longer than a row: folded
            room = max(1, width - 4)
            first, *rest = entry.divide(range(width - 2, len(entry), room))
            rows.append(current + first)
            rows.extend(Text("    ") + part for part in rest[:-1])
            current = Text("    ") + rest[-1]
            continue
        current = current + ("   " if len(current) > 2 else "") + entry
    rows.append(current)
    return rows


def _glyph(style: Style, index: int) -> str:
    if style.colour:
        return "━"
    symbols = ASCII_SYMBOLS if style.ascii else SYMBOLS
    return symbols[index % len(symbols)]


def _colour(style: Style, index: int) -> str:
    if index < 0:
        return "grey50"
    return PALETTE[index % len(PALETTE)] if style.colour else ""


class _Canvas:
    """Cells of ``width`` x ``height`` characters; in braille each holds 2 x 4 dots."""

    def __init__(
        self,
        width: int,
        height: int,
        style: Style,
        x_range: tuple[float, float],
        y_range: tuple[float, float],
    ) -> None:
        self.style = style
        self.sx, self.sy = (2, 4) if style.colour else (1, 1)
        self.width, self.height = width, height
        self.x_range, self.y_range = x_range, y_range
        self.bits = [[0] * width for _ in range(height)]
        self.chars: list[list[str | None]] = [[None] * width for _ in range(height)]
        self.owner = [[-2] * width for _ in range(height)]

    def _pixel(self, x: float, y: float) -> tuple[int, int]:
        """The dot of ``(x, y)``: column from the left, row from the top."""
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        columns, rows = self.width * self.sx - 1, self.height * self.sy - 1
        px = round((x - x0) / (x1 - x0) * columns) if x1 > x0 else columns // 2
        py = round((y1 - y) / (y1 - y0) * rows) if y1 > y0 else rows // 2
        return min(max(px, 0), columns), min(max(py, 0), rows)

    def draw(self, points: Sequence[tuple[float, float]], line: int) -> None:
        """Draw the line through ``points`` (joined dot to dot in braille)."""
        pixels = [self._pixel(x, y) for x, y in points]
        if self.sx == 1:
            for px, py in pixels:
                self._set(px, py, line)
            return
        for (ax, ay), (bx, by) in itertools.pairwise(pixels):
            steps = max(abs(bx - ax), abs(by - ay), 1)
            for k in range(steps + 1):
                self._set(
                    round(ax + (bx - ax) * k / steps), round(ay + (by - ay) * k / steps), line
                )
        if len(pixels) == 1:
            self._set(*pixels[0], line)

    def _set(self, px: int, py: int, line: int) -> None:
        row, column = py // self.sy, px // self.sx
        if self.sx == 2:
            self.bits[row][column] |= _BRAILLE[py % 4][px % 2]
            self.chars[row][column] = chr(0x2800 + self.bits[row][column])
        else:
            symbols = ASCII_SYMBOLS if self.style.ascii else SYMBOLS
            self.chars[row][column] = symbols[line % len(symbols)]
        self.owner[row][column] = line

    def vertical(self, x: float, line: int) -> None:
        """A dotted vertical mark at ``x`` (drawn first: lines cover it)."""
        column = self._pixel(x, self.y_range[0])[0] // self.sx
        for row in range(self.height):
            self.chars[row][column] = ":" if self.style.ascii else "┊"
            self.owner[row][column] = -1 if line < 0 else -3 - line

    def horizontal(self, y: float) -> None:
        """A dotted horizontal reference line at ``y``, where no mark is."""
        row = self._pixel(self.x_range[0], y)[1] // self.sy
        for column in range(self.width):
            if self.chars[row][column] is None:
                self.chars[row][column] = "." if self.style.ascii else "┄"
                self.owner[row][column] = -1

    def rows(self) -> list[Text]:
        """The canvas as styled text, one `Text` per row."""
        out = []
        for chars, owners in zip(self.chars, self.owner, strict=True):
            text = Text()
            for char, owner in zip(chars, owners, strict=True):
                if char is None:
                    text.append(" ")
                elif owner >= 0:
                    text.append(char, style=_colour(self.style, owner))
                else:
                    mark = -1 if owner == -1 else -3 - owner
                    text.append(char, style=_colour(self.style, mark) or None)
            out.append(text)
        return out
