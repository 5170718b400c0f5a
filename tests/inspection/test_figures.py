"""The figures of learning curves: the size asked for, readable files, the same bytes twice."""

from __future__ import annotations

import struct
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nnctl.inspection import figures, pictures
from nnctl.inspection.curves import KINDS, Confusion, read_curves


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_each_chart_is_a_figure_of_its_size(iris_run: Path) -> None:
    runs = [read_curves(iris_run)]
    for make in (figures.loss_figure, figures.lr_figure, figures.update_ratio_figure):
        data = pictures.figure_bytes(make(runs), "png")
        assert png_size(data) == (640, 400), make.__name__
    assert png_size(pictures.figure_bytes(figures.metrics_figure(runs), "png")) == (640, 400)


def test_the_page_has_two_charts_a_row(iris_run: Path) -> None:
    runs = [read_curves(iris_run)]
    confusion = Confusion([[3, 1, 0], [0, 4, 0], [0, 0, 5]], ["a", "b", "c"], "test")
    figure = figures.plot_figure(runs, KINDS, [confusion])
    # loss, lr, update ratio, confusion (the run has no metrics beyond the loss)
    assert len(figure.axes) == 4
    assert png_size(pictures.figure_bytes(figure, "png")) == (1280, 800)


def test_the_loss_chart_marks_the_best_epoch(iris_run: Path) -> None:
    runs = [read_curves(iris_run)]
    axes = figures.loss_figure(runs).axes[0]
    labels = axes.get_legend_handles_labels()[1]
    assert labels == ["train", "validation", f"best epoch {runs[0].best_epoch}"]
    assert iris_run.name in axes.get_title()


def test_several_runs_are_named_in_the_legend(iris_run: Path) -> None:
    runs = [read_curves(iris_run), read_curves(iris_run)]
    labels = figures.loss_figure(runs).axes[0].get_legend_handles_labels()[1]
    best = f"{iris_run.name} (best epoch {runs[0].best_epoch})"
    assert labels == [best, best, "train", "validation"]  # a colour per run, a style per split


def test_svg_parses_and_repeats(iris_run: Path) -> None:
    runs = [read_curves(iris_run)]
    first = pictures.figure_bytes(figures.plot_figure(runs, ["loss", "lr"]), "svg")
    second = pictures.figure_bytes(figures.plot_figure(runs, ["loss", "lr"]), "svg")
    assert first == second
    assert ET.fromstring(first).tag.endswith("svg")


def test_log_y_puts_the_loss_on_a_log_scale(iris_run: Path) -> None:
    runs = [read_curves(iris_run)]
    assert figures.loss_figure(runs, log_y=True).axes[0].get_yscale() == "log"
    assert figures.loss_figure(runs).axes[0].get_yscale() == "linear"
    assert figures.update_ratio_figure(runs).axes[0].get_yscale() == "log"


def test_the_update_ratio_has_its_reference_line(iris_run: Path) -> None:
    axes = figures.update_ratio_figure([read_curves(iris_run)]).axes[0]
    assert "0.001 (rule of thumb)" in axes.get_legend_handles_labels()[1]


def test_the_confusion_matrix_writes_its_counts() -> None:
    figure = figures.confusion_figure([[7, 1], [2, 9]], ["no", "yes"])
    texts = sorted(t.get_text() for t in figure.axes[0].texts)
    assert texts == ["1", "2", "7", "9"]
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == ["no", "yes"]


def test_no_pyplot(iris_run: Path) -> None:
    pictures.figure_bytes(figures.plot_figure([read_curves(iris_run)], KINDS), "png")
    assert "matplotlib.pyplot" not in sys.modules


@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_same_run_same_bytes(iris_run: Path, fmt: str) -> None:
    make = lambda: figures.plot_figure([read_curves(iris_run)], KINDS)  # noqa: E731
    assert pictures.figure_bytes(make(), fmt) == pictures.figure_bytes(make(), fmt)


def test_a_chart_names_only_the_runs_drawn_on_it(iris_run: Path) -> None:
    import dataclasses

    from nnctl.inspection.curves import Curve

    base = read_curves(iris_run)
    scored = dataclasses.replace(
        base, name="scored", metrics={"accuracy": [Curve("train", (1, 2), (0.5, 0.7))]}
    )
    figure = figures.metrics_figure([base, scored])
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert labels == ["scored", "train", "validation"]
    assert figure.axes[0].get_title() == "accuracy"
