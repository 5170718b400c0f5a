"""``nnctl draw``'s pictures: one SVG element per neuron and line, the row's activations, images."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from nnctl.config.loader import load_config
from nnctl.errors import UsageError
from nnctl.inspection import pictures
from nnctl.inspection.drawing import network_figure, network_layout
from nnctl.inspection.sources import open_model
from nnctl.inspection.trace import trace_row
from nnctl.workflows.train import train_run
from tests.data.datahelp import iris_like_file, write_idx_pair
from tests.helpers import DATASETS, write_config


def svg_ids(figure_svg: bytes) -> Counter[str]:
    """How many SVG elements have an id of each kind (``neuron``, ``connection``, ...)."""
    ids = [e.get("id", "") for e in ET.fromstring(figure_svg).iter()]
    return Counter(i.split("-")[0] for i in ids if i.split("-")[0] in KINDS)


KINDS = ("neuron", "connection", "more", "image", "feed")


def test_every_neuron_and_weight_is_one_svg_element(iris_run: Path) -> None:
    counts = svg_ids(pictures.figure_bytes(network_figure(iris_run), "svg"))
    # 4 inputs, 6 relu, 4 tanh, 3 softmax: all shown under 12
    assert counts == {"neuron": 4 + 6 + 4 + 3, "connection": 4 * 6 + 6 * 4 + 4 * 3}


def test_max_units_keeps_the_strongest_and_says_how_many_more(iris_run: Path) -> None:
    svg = pictures.figure_bytes(network_figure(iris_run, max_units=2), "svg")
    counts = svg_ids(svg)
    assert counts == {"neuron": 2 * 4, "connection": 2 * 2 * 3, "more": 4}
    ids = {e.get("id") for e in ET.fromstring(svg).iter()}
    layout = network_layout(open_model(iris_run), max_units=2)
    W0 = np.abs(open_model(iris_run).model.network.layers[0].W).sum(axis=1)
    kept = sorted(np.argsort(-W0, kind="stable")[:2].tolist())
    assert [u.index for u in layout.columns[0].units] == kept
    assert {f"neuron-0-{i}" for i in kept} <= ids
    assert [c.hidden for c in layout.columns] == [2, 4, 2, 1]


def test_the_png_has_the_figures_size(iris_run: Path) -> None:
    figure = network_figure(iris_run)
    data = pictures.figure_bytes(figure, "png")
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == tuple(round(v) for v in figure.get_size_inches() * figure.dpi)
    assert width > 400 and height > 300


def test_the_same_model_gives_the_same_bytes(iris_run: Path) -> None:
    first = pictures.figure_bytes(network_figure(iris_run, row=1), "svg")
    assert pictures.figure_bytes(network_figure(iris_run, row=1), "svg") == first


def test_a_row_fills_the_neurons_with_what_trace_computes(iris_run: Path) -> None:
    layout = network_layout(open_model(iris_run), row=3)
    traced = trace_row(iris_run, 3)
    for column, layer in zip(layout.columns[1:], traced["layers"], strict=True):
        assert [u.value for u in column.units] == pytest.approx(layer["a"])
    assert [u.value for u in layout.columns[0].units] == pytest.approx(traced["input"]["x"])
    output = traced["output"]
    labels = [u.label for u in layout.columns[-1].units]
    pairs = zip(output["classes"], output["probabilities"], strict=True)
    assert labels == [f"{c}  {p:.2f}" for c, p in pairs]
    assert layout.caption.startswith("row 3 of the test split: predicted ")
    assert f"predicted {output['label']}, true {output['true_label']}" in layout.caption


def test_without_a_row_the_outputs_are_the_class_names(iris_run: Path) -> None:
    layout = network_layout(open_model(iris_run))
    assert [u.label for u in layout.columns[-1].units] == ["setosa", "versicolor", "virginica"]
    assert all(u.value is None for c in layout.columns for u in c.units)
    assert layout.caption == ""


def test_biases_are_the_layers(iris_run: Path) -> None:
    layout = network_layout(open_model(iris_run))
    network = open_model(iris_run).model.network
    for column, layer in zip(layout.columns[1:], network.layers, strict=True):
        assert [u.bias for u in column.units] == pytest.approx(layer.b.tolist())
    assert all(u.bias is None for u in layout.columns[0].units)


@pytest.mark.parametrize("bad", [0, -1])
def test_max_units_must_be_positive(iris_run: Path, bad: int) -> None:
    with pytest.raises(UsageError, match=f"--max-units {bad}"):
        network_layout(open_model(iris_run), max_units=bad)


def test_a_row_past_the_split_names_its_size(iris_run: Path) -> None:
    with pytest.raises(UsageError, match=r"--row 500: the test split has \d+ rows"):
        network_figure(iris_run, row=500)


@pytest.fixture(scope="module")
def regression_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("draw-regression")
    config = write_config(folder, f"""
version: 1
seed: 1
data: {{train: {DATASETS / "diabetes.csv"}, target: target, test_split: 0.2, normalize: standard}}
model:
  layers: [{{units: 5, activation: relu}}, {{units: 1, activation: linear}}]
loss: mse
training: {{epochs: 1, batch_size: 64}}
""")  # fmt: skip
    return train_run(load_config(config), runs_dir=folder / "runs").path


def test_a_regression_output_shows_the_prediction_in_the_targets_units(
    regression_run: Path,
) -> None:
    layout = network_layout(open_model(regression_run), row=0)
    value = trace_row(regression_run, 0)["output"]["value"]
    (output,) = layout.columns[-1].units
    assert output.label == f"target = {value:.4g}"
    assert f"predicted {value:.4g}, true " in layout.caption
    assert layout.columns[0].hidden == 0 and len(layout.columns[0].units) == 10


@pytest.fixture(scope="module")
def image_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("draw-images")
    images, labels = write_idx_pair(folder, 60)
    config = write_config(folder, f"""
version: 1
seed: 0
data: {{train: {images}, train_labels: {labels}, test_split: 0.2}}
model:
  layers: [{{units: 14, activation: relu}}, {{units: 3, activation: softmax}}]
loss: categorical_crossentropy
training: {{epochs: 1, batch_size: 16}}
""")  # fmt: skip
    return train_run(load_config(config), runs_dir=folder / "runs").path


def test_an_image_input_is_one_picture_of_h_by_w_pixels(image_run: Path) -> None:
    counts = svg_ids(pictures.figure_bytes(network_figure(image_run), "svg"))
    # no input circles: the 4 x 4 image, one feed line to each of the 12 shown hidden units
    assert counts == {"image": 1, "feed": 12, "neuron": 12 + 3, "connection": 12 * 3, "more": 1}
    layout = network_layout(open_model(image_run))
    image = layout.columns[0].image
    assert image is not None and image.shape == (4, 4)
    W = np.abs(open_model(image_run).model.network.layers[0].W).sum(axis=1)
    assert image.ravel() == pytest.approx(W)  # where the first layer looks


def test_with_a_row_the_image_is_the_rows_pixels(image_run: Path) -> None:
    layout = network_layout(open_model(image_run), row=2)
    x = trace_row(image_run, 2)["input"]["x"]
    assert layout.columns[0].image is not None
    assert layout.columns[0].image.ravel() == pytest.approx(x)
    assert "row's pixels" in layout.columns[0].title


@pytest.fixture(scope="module")
def binary_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("draw-binary")
    data = iris_like_file(folder)
    config = write_config(folder, f"""
version: 1
seed: 0
data: {{train: {data}, target: label, test_split: 0.25}}
model:
  layers: [{{units: 3, activation: relu}}, {{units: 1, activation: sigmoid}}]
loss: binary_crossentropy
training: {{epochs: 1, batch_size: 8}}
""")  # fmt: skip
    return train_run(load_config(config), runs_dir=folder / "runs").path


def test_a_binary_output_is_the_probability_of_the_second_class(binary_run: Path) -> None:
    assert [u.label for u in network_layout(open_model(binary_run)).columns[-1].units] == ["P(dog)"]
    layout = network_layout(open_model(binary_run), row=1)
    p = trace_row(binary_run, 1)["output"]["probabilities"][1]
    assert layout.columns[-1].units[0].label == f"P(dog) = {p:.2f}"
    # the one-hot inputs are named column=category
    assert "color=red" in [u.label for u in layout.columns[0].units]


def test_a_pdf_is_a_pdf(iris_run: Path) -> None:
    assert pictures.figure_bytes(network_figure(iris_run), "pdf").startswith(b"%PDF-")
