"""``nnctl draw``'s layout: which units, where, each line's colour and width, without plotting."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pytest

from nnctl.inspection.drawing.layout import (
    MAX_WIDTH,
    MIN_WIDTH,
    NEGATIVE,
    POSITIVE,
    Unit,
    colour_of,
    connections_between,
    heights,
    strongest,
    unit_strengths,
    width_of,
)


def test_the_largest_weight_of_the_pair_is_the_widest_line() -> None:
    W = np.array([[0.5, -2.0], [1.0, 0.0]])
    widths = width_of(W, float(np.abs(W).max()))
    assert widths[0, 1] == pytest.approx(MAX_WIDTH)
    assert widths[1, 1] == pytest.approx(MIN_WIDTH)
    assert widths[1, 0] == pytest.approx(MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * 0.5)


def test_a_pair_of_zero_weights_is_drawn_thin() -> None:
    assert width_of(np.zeros((2, 3)), 0.0).tolist() == [[MIN_WIDTH] * 3] * 2


def test_the_sign_gives_the_colour() -> None:
    assert (colour_of(0.3), colour_of(-0.3), colour_of(0.0)) == (POSITIVE, NEGATIVE, POSITIVE)


def test_the_strongest_units_are_kept_in_their_own_order() -> None:
    assert strongest(np.array([1.0, 5.0, 3.0, 4.0, 0.5]), 3) == [1, 2, 3]
    assert strongest(np.array([2.0, 2.0, 2.0]), 2) == [0, 1]  # ties: the first ones
    assert strongest(np.array([1.0, 2.0]), 12) == [0, 1]


def test_a_hidden_units_strength_is_its_weights_in_and_out() -> None:
    W0 = np.array([[1.0, -2.0], [3.0, 0.5]])  # 2 inputs -> 2 hidden
    W1 = np.array([[-4.0], [1.0]])  # 2 hidden -> 1 output
    inputs, hidden, output = unit_strengths([W0, W1])
    assert inputs.tolist() == [3.0, 3.5]
    assert hidden.tolist() == [4.0 + 4.0, 2.5 + 1.0]
    assert output.tolist() == [5.0]


def test_neurons_are_one_apart_and_centred_with_room_for_the_more_mark() -> None:
    assert heights(3, False) == ([1.0, 0.0, -1.0], None)
    assert heights(3, True) == ([1.5, 0.5, -0.5], -1.5)


def test_one_connection_per_shown_pair_scaled_by_the_whole_matrix() -> None:
    W = np.array([[1.0, -4.0, 2.0], [0.5, 3.0, -1.0]])
    left = [Unit(0, 1, 0.0)]
    right = [Unit(1, 0, 0.5), Unit(1, 2, -0.5)]
    lines = connections_between(W, 0, left, right)
    assert [(c.i, c.j, c.weight, c.colour) for c in lines] == [
        (1, 0, 0.5, POSITIVE),
        (1, 2, -1.0, NEGATIVE),
    ]
    # |W| is 4 at most, though W[0, 1] is not drawn: widths stay comparable across the pair
    assert lines[1].width == pytest.approx(MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) / 4)
    assert (lines[0].y0, lines[0].y1) == (0.0, 0.5)


def test_the_layout_needs_no_matplotlib() -> None:
    source = Path(sys.modules["nnctl.inspection.drawing.layout"].__file__ or "").read_text()
    imported = [
        alias.name if isinstance(node, ast.Import) else node.module or ""
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert imported and not [name for name in imported if "matplotlib" in name]
