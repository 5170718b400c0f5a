"""Bad input to the real ``nnctl`` executable: every user mistake ends cleanly.

Each case runs ``nnctl`` in a subprocess with one mistake -- in a config, a CSV or IDX file, a
checkpoint, prediction input or the command line -- and checks what the README promises: the
documented exit code, a message on stderr that names the file and the key, column or byte at
fault, no traceback, nothing on stdout, and no run directory left in status ``running``.

The cases are a table (`CASES`); each builds its files in its own folder and returns the command
line. Evaluate and predict cases share models trained once per module. The commands themselves
run a few at a time (each is a Python start-up, mostly importing NumPy and pandas), so the whole
table takes well under a minute; every case is still its own test, checked on its own.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import struct
import subprocess
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import CONFIGS, DATASETS, iris_config, run_nnctl, write_config

OK, INTERNAL, USAGE, DATA = 0, 1, 2, 3
IRIS = DATASETS / "iris.csv"
IRIS_FEATURES = "sepal_length,sepal_width,petal_length,petal_width"


# --------------------------------------------------------------------------------------------
# Models trained once per module


def _train(config: Path, runs: Path) -> Path:
    result = run_nnctl("train", config, "--runs-dir", runs, "--quiet")
    assert result.returncode == OK, result.stderr
    return Path(result.stdout.strip())


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real iris run (5 epochs): a run directory with best.npz and last.npz."""
    folder = tmp_path_factory.mktemp("iris-model")
    return _train(iris_config(folder, epochs=5), folder / "runs")


@pytest.fixture(scope="module")
def pets_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run on a tiny CSV with a text feature column ``color`` (red, green, blue)."""
    folder = tmp_path_factory.mktemp("pets-model")
    lines = ["weight,color,pet"]
    for i in range(30):
        lines.append(f"{3 + i % 7},{['red', 'green', 'blue'][i % 3]},{['cat', 'dog'][i % 2]}")
    (folder / "pets.csv").write_text("\n".join(lines) + "\n")
    config = write_config(
        folder,
        """
version: 1
data: {train: pets.csv, target: pet}
model:
  layers:
    - {units: 4, activation: relu}
    - {units: 2, activation: softmax}
loss: categorical_crossentropy
training: {epochs: 3, batch_size: 8}
""",
    )
    return _train(config, folder / "runs")


@pytest.fixture(scope="module")
def idx_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run on 24 IDX images of 4 x 4 pixels, two classes."""
    folder = tmp_path_factory.mktemp("idx-model")
    (folder / "images").write_bytes(idx_images())
    (folder / "labels").write_bytes(idx_labels())
    config = write_config(
        folder,
        """
version: 1
data: {train: images, train_labels: labels}
model:
  layers:
    - {units: 2, activation: softmax}
loss: categorical_crossentropy
training: {epochs: 2, batch_size: 8}
""",
    )
    return _train(config, folder / "runs")


# --------------------------------------------------------------------------------------------
# The table


@dataclass
class Env:
    """What a case builds on: its own folder, its runs folder, and the trained models."""

    tmp: Path
    request: pytest.FixtureRequest

    @property
    def runs(self) -> Path:
        return self.tmp / "runs"

    @property
    def iris_run(self) -> Path:
        return Path(self.request.getfixturevalue("iris_run"))

    @property
    def pets_run(self) -> Path:
        return Path(self.request.getfixturevalue("pets_run"))

    @property
    def idx_run(self) -> Path:
        return Path(self.request.getfixturevalue("idx_run"))

    def copy_of(self, run: Path) -> Path:
        """A copy of a trained run in this case's runs folder, to change or resume."""
        return Path(shutil.copytree(run, self.runs / run.name))

    def file(self, name: str, content: str | bytes) -> Path:
        path = self.tmp / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def train(self, config: Path | str, *extra: str | Path) -> list[str | Path]:
        """``nnctl train CONFIG --runs-dir <own runs folder> EXTRA...``."""
        return ["train", config, "--runs-dir", self.runs, *extra]


@dataclass
class Call:
    """The command line a case runs, its stdin, and the substrings stderr must contain."""

    args: list[str | Path]
    expect: list[str | Path]
    stdin: str | None = None
    after: Callable[[], None] | None = None
    """An extra check, run after the command (the pickle marker)."""


@dataclass
class Case:
    id: str
    code: int
    build: Callable[[Env], Call]
    xfail: str | None = field(default=None)


CASES: list[Case] = []


def case(code: int, xfail: str | None = None) -> Callable[[Callable[[Env], Call]], None]:
    """Register the decorated builder as a case named after it."""

    def register(build: Callable[[Env], Call]) -> None:
        CASES.append(Case(build.__name__.removeprefix("case_"), code, build, xfail))

    return register


# --------------------------------------------------------------------------------------------
# Configs

IRIS_TEXT = f"""\
version: 1
data:
  train: {IRIS}
  target: species
model:
  layers:
    - {{units: 8, activation: relu}}
    - {{units: 3, activation: softmax}}
loss: categorical_crossentropy
metrics: [accuracy]
optimizer: {{name: adam, learning_rate: 0.01}}
training: {{epochs: 2, batch_size: 16}}
"""


def iris_with(env: Env, old: str, new: str, name: str = "c.yaml") -> Path:
    """The iris config with one piece of text replaced (the replacement must happen)."""
    assert old in IRIS_TEXT, old
    return write_config(env.tmp, IRIS_TEXT.replace(old, new, 1), name)


@case(USAGE)
def case_yaml_syntax_error(env: Env) -> Call:
    config = iris_with(env, "metrics: [accuracy]", "metrics: [accuracy", "broken.yaml")
    return Call(env.train(config), [f"{config}:", "broken.yaml"])


@case(USAGE)
def case_yaml_tab_indentation(env: Env) -> Call:
    config = iris_with(env, "  target: species", "\ttarget: species", "tabs.yaml")
    return Call(["validate", config], [f"{config}:4:"])


@case(USAGE)
def case_wrong_type_epochs(env: Env) -> Call:
    config = iris_with(env, "epochs: 2", "epochs: many")
    return Call(env.train(config), [f"{config}:12:", "training.epochs", "many"])


@case(USAGE)
def case_wrong_type_layers_not_a_list(env: Env) -> Call:
    text = "  layers:\n    - {units: 8, activation: relu}\n    - {units: 3, activation: softmax}"
    config = iris_with(env, text, "  layers: 5")
    return Call(["validate", config], [f"{config}:6:", "model.layers"])


@case(USAGE)
def case_wrong_type_learning_rate(env: Env) -> Call:
    config = iris_with(env, "learning_rate: 0.01", "learning_rate: fast")
    return Call(env.train(config), [f"{config}:11:", "optimizer.learning_rate", "fast"])


@case(USAGE)
def case_unknown_key_top_level(env: Env) -> Call:
    config = iris_with(env, "version: 1", "version: 1\nepochz: 3")
    return Call(env.train(config), [f"{config}:2:", "epochz", "unknown key"])


@case(USAGE)
def case_unknown_key_in_training(env: Env) -> Call:
    config = iris_with(env, "epochs: 2", "epoch: 2")
    return Call(env.train(config), [f"{config}:12:", "training.epoch", "'epochs'"])


@case(USAGE)
def case_unknown_key_in_layer(env: Env) -> Call:
    config = iris_with(env, "activation: relu", "activaton: relu")
    return Call(["validate", config], [f"{config}:7:", "model.layers[0].activaton", "'activation'"])


@case(USAGE)
def case_unknown_key_in_data(env: Env) -> Call:
    config = iris_with(env, "  target: species", "  target: species\n  shuffle: true")
    return Call(env.train(config), [f"{config}:5:", "data.shuffle", "unknown key"])


@case(USAGE)
def case_key_of_another_optimizer(env: Env) -> Call:
    config = iris_with(env, "learning_rate: 0.01", "learning_rate: 0.01, momentum: 0.9")
    return Call(env.train(config), [f"{config}:11:", "optimizer.momentum"])


@case(USAGE)
def case_negative_learning_rate(env: Env) -> Call:
    config = iris_with(env, "learning_rate: 0.01", "learning_rate: -0.01")
    return Call(env.train(config), [f"{config}:11:", "optimizer.learning_rate", "-0.01"])


@case(USAGE)
def case_zero_units(env: Env) -> Call:
    config = iris_with(env, "units: 8", "units: 0")
    return Call(env.train(config), [f"{config}:7:", "model.layers[0].units", "0"])


@case(USAGE)
def case_dropout_above_one(env: Env) -> Call:
    config = iris_with(env, "activation: relu}", "activation: relu, dropout: 1.5}")
    return Call(env.train(config), [f"{config}:7:", "model.layers[0].dropout", "1.5"])


@case(USAGE)
def case_categorical_crossentropy_after_relu(env: Env) -> Call:
    config = iris_with(env, "activation: softmax", "activation: relu")
    return Call(env.train(config), [f"{config}:", "softmax", "model.layers[1]"])


@case(USAGE)
def case_output_width_vs_classes_at_validate(env: Env) -> Call:
    config = iris_with(env, "units: 3", "units: 4")
    return Call(["validate", config], [str(config), "model.layers[1].units", "3 classes"])


@case(USAGE)
def case_output_width_vs_classes_at_train(env: Env) -> Call:
    config = iris_with(env, "units: 3", "units: 4")
    return Call(env.train(config), [str(config), "model.layers[1].units", "3 classes"])


@case(USAGE)
def case_python_object_tag(env: Env) -> Call:
    marker = env.tmp / "yaml-was-executed"
    config = iris_with(
        env,
        "version: 1",
        f"version: 1\nname: !!python/object/apply:os.system ['touch {marker}']",
    )

    def not_executed() -> None:
        assert not marker.exists(), "the YAML tag was executed"

    return Call(env.train(config), [f"{config}:2:", "!!python/object"], after=not_executed)


@case(USAGE)
def case_missing_config_file(env: Env) -> Call:
    config = env.tmp / "nowhere.yaml"
    return Call(env.train(config), [str(config), "no such file"])


@case(USAGE)
def case_config_is_a_directory(env: Env) -> Call:
    folder = env.tmp / "configs.d"
    folder.mkdir()
    return Call(["validate", folder], [str(folder), "directory"])


@case(USAGE)
def case_yaml_nested_too_deep(env: Env) -> Call:
    config = iris_with(env, "version: 1", "version: 1\nname: " + "[" * 5000 + "]" * 5000)
    return Call(["validate", config], [f"{config}:2:", "nested"])


@case(USAGE)
def case_empty_feature_list(env: Env) -> Call:
    config = iris_with(env, "  target: species", "  target: species\n  features: []")
    return Call(env.train(config), [f"{config}:5:", "data.features", "at least one"])


@case(USAGE)
def case_delimiter_of_two_characters(env: Env) -> Call:
    config = iris_with(env, "  target: species", "  target: species\n  delimiter: ';;'")
    return Call(env.train(config), [f"{config}:5:", "data.delimiter", "';;'"])


@case(USAGE)
def case_set_index_past_the_end(env: Env) -> Call:
    config = iris_with(env, "version: 1", "version: 1")
    args = ["validate", config, "--set", "model.layers.7.units=3"]
    return Call(args, ["--set model.layers.7.units=3", "model.layers has 2 items"])


# --------------------------------------------------------------------------------------------
# CSV data


def csv_config(env: Env, data: str, target: str = "y", extra: str = "") -> Path:
    """A config whose training data is ``data`` (relative to the case folder)."""
    return write_config(
        env.tmp,
        f"""
version: 1
data: {{train: {data}, target: {target}{extra}}}
model:
  layers:
    - {{units: 4, activation: relu}}
    - {{units: 2, activation: softmax}}
loss: categorical_crossentropy
training: {{epochs: 2, batch_size: 8}}
""",
    )


def rows(n: int, bad_row: int | None = None, bad: str = "") -> str:
    """``a,b,y`` with ``n`` rows, two classes; row ``bad_row`` (1-based) has ``bad`` in ``a``."""
    lines = ["a,b,y"]
    for i in range(1, n + 1):
        a = bad if i == bad_row else f"{i * 0.5:.1f}"
        lines.append(f"{a},{i % 5},{['no', 'yes'][i % 2]}")
    return "\n".join(lines) + "\n"


@case(DATA)
def case_csv_missing_target_column(env: Env) -> Call:
    config = iris_with(env, "target: species", "target: kind")
    return Call(env.train(config), [str(IRIS), "'kind'", "species", "petal_width"])


@case(DATA)
def case_csv_missing_feature_column(env: Env) -> Call:
    config = iris_with(
        env, "target: species", "target: species\n  features: [sepal_length, petal_size]"
    )
    return Call(env.train(config), [str(IRIS), "'petal_size'", "feature"])


@case(DATA)
def case_csv_text_in_numeric_column(env: Env) -> Call:
    data = env.file("d.csv", rows(400, bad_row=300, bad="lots"))
    return Call(env.train(csv_config(env, "d.csv")), [str(data), "column 'a'", "row 300", "lots"])


@case(DATA)
def case_csv_empty_cell_with_missing_error(env: Env) -> Call:
    data = env.file("d.csv", rows(40, bad_row=7, bad=""))
    config = csv_config(env, "d.csv", extra=", missing: error")
    return Call(env.train(config), [str(data), "column 'a'", "row 7"])


@case(DATA)
def case_csv_nan_with_missing_error(env: Env) -> Call:
    data = env.file("d.csv", rows(40, bad_row=12, bad="NaN"))
    return Call(env.train(csv_config(env, "d.csv")), [str(data), "column 'a'", "row 12"])


@case(DATA)
def case_csv_empty_file(env: Env) -> Call:
    data = env.file("d.csv", "")
    return Call(env.train(csv_config(env, "d.csv")), [str(data), "empty"])


@case(DATA)
def case_csv_header_only(env: Env) -> Call:
    data = env.file("d.csv", "a,b,y\n")
    return Call(env.train(csv_config(env, "d.csv")), [str(data), "no rows"])


@case(DATA)
def case_csv_wrong_delimiter(env: Env) -> Call:
    data = env.file("d.csv", rows(20).replace(",", ";"))
    return Call(env.train(csv_config(env, "d.csv")), [str(data), "'y'", "a;b;y"])


@case(DATA)
def case_csv_single_class(env: Env) -> Call:
    data = env.file("d.csv", rows(20).replace(",yes", ",no"))
    return Call(env.train(csv_config(env, "d.csv")), [str(data), "'y'", "class"])


@case(DATA)
def case_csv_huge_field_in_header(env: Env) -> Call:
    data = env.file("d.csv", "a,b," + "y" * 10_000_000 + "\n1,2,3\n")
    return Call(env.train(csv_config(env, "d.csv")), [str(data), "field"])


@case(DATA)
def case_csv_huge_numeric_cell(env: Env) -> Call:
    data = env.file("d.csv", rows(400, bad_row=250, bad="9" * 10_000_000))
    return Call(env.train(csv_config(env, "d.csv")), [str(data), "column 'a'", "row 250"])


@case(DATA)
def case_csv_not_utf8(env: Env) -> Call:
    data = env.file("d.csv", rows(10).encode().replace(b"yes", b"y\xe9s"))
    return Call(env.train(csv_config(env, "d.csv")), [str(data), "byte offset"])


@case(DATA)
def case_csv_data_path_is_a_directory(env: Env) -> Call:
    (env.tmp / "d.csv").mkdir()
    return Call(env.train(csv_config(env, "d.csv")), [str(env.tmp / "d.csv"), "directory"])


@case(DATA)
def case_csv_missing_data_file(env: Env) -> Call:
    return Call(env.train(csv_config(env, "gone.csv")), [str(env.tmp / "gone.csv"), "no such file"])


@case(DATA)
def case_csv_ragged_row(env: Env) -> Call:
    data = env.file("d.csv", rows(20).replace("\n3.0,1,no\n", "\n3.0,1,no,extra\n"))
    return Call(env.train(csv_config(env, "d.csv")), [str(data), "line 7", "saw 4"])


@case(DATA)
def case_csv_unterminated_quote(env: Env) -> Call:
    data = env.file("d.csv", rows(20).replace("\n3.0,1,no\n", '\n3.0,"1,no\n'))
    return Call(env.train(csv_config(env, "d.csv")), [str(data), "EOF inside string"])


@case(DATA)
def case_csv_not_utf8_deep_in_the_file(env: Env) -> Call:
    text = rows(60_000).encode()
    at = text.index(b"yes", 700_000) + 1
    data = env.file("d.csv", text[:at] + b"\xe9" + text[at + 1 :])
    line = text[:at].count(b"\n") + 1
    expect = [str(data), f"line {line}, byte offset {at}"]
    return Call(env.train(csv_config(env, "d.csv")), expect)


@case(DATA)
def case_csv_text_target_for_regression(env: Env) -> Call:
    config = iris_with(env, "units: 3, activation: softmax", "units: 1, activation: linear")
    config.write_text(
        config.read_text()
        .replace("loss: categorical_crossentropy", "loss: mse")
        .replace("metrics: [accuracy]", "metrics: [mae]")
    )
    return Call(env.train(config), [str(IRIS), "'species', rows 1 and 149 more", "'setosa'"])


@case(DATA)
def case_csv_missing_target_value(env: Env) -> Call:
    data = env.file("d.csv", rows(30).replace("\n4.5,4,yes\n", "\n4.5,4,\n"))
    return Call(env.train(csv_config(env, "d.csv")), [str(data), "'y'", "row 9"])


@case(DATA)
def case_csv_too_few_rows_for_the_splits(env: Env) -> Call:
    data = env.file("d.csv", rows(2))
    return Call(env.train(csv_config(env, "d.csv")), [str(data), "no training rows"])


# --------------------------------------------------------------------------------------------
# IDX data, built byte by byte as data/formats/idx.py reads it: a magic 00 00 08 DD, DD big-endian
# sizes, then the values.

N_IMAGES = 24


def idx_images(n: int = N_IMAGES, magic: int = 0x00000803, payload: int | None = None) -> bytes:
    pixels = bytes((7 * i) % 256 for i in range(n * 4 * 4))
    data = struct.pack(">I", magic) + struct.pack(">III", n, 4, 4) + pixels
    return data if payload is None else data[: 16 + payload]


def idx_labels(n: int = N_IMAGES, magic: int = 0x00000801) -> bytes:
    return struct.pack(">I", magic) + struct.pack(">I", n) + bytes(i % 2 for i in range(n))


def idx_config(env: Env, images: bytes, labels: bytes, suffix: str = "") -> tuple[Path, Path]:
    """Write the two files and a config training on them; return (images path, labels path)."""
    images_path = env.file(f"train-images-idx3-ubyte{suffix}", images)
    labels_path = env.file(f"train-labels-idx1-ubyte{suffix}", labels)
    write_config(
        env.tmp,
        f"""
version: 1
data: {{train: {images_path.name}, train_labels: {labels_path.name}}}
model:
  layers:
    - {{units: 2, activation: softmax}}
loss: categorical_crossentropy
training: {{epochs: 2, batch_size: 8}}
""",
    )
    return images_path, labels_path


def gzip_header() -> bytes:
    """A valid 10-byte gzip member header: magic, deflate, no flags, mtime 0, OS unix."""
    return b"\x1f\x8b\x08\x00" + b"\x00\x00\x00\x00" + b"\x00\x03"


@case(DATA)
def case_idx_bad_magic(env: Env) -> Call:
    images, _ = idx_config(env, idx_images(magic=0x08030000), idx_labels())
    return Call(env.train(env.tmp / "c.yaml"), [str(images), "magic", "byte offset 0"])


@case(DATA)
def case_idx_labels_with_images_magic(env: Env) -> Call:
    _, labels = idx_config(env, idx_images(), idx_labels(magic=0x00000803))
    return Call(env.train(env.tmp / "c.yaml"), [str(labels), "byte offset"])


@case(DATA)
def case_idx_truncated_payload(env: Env) -> Call:
    images, _ = idx_config(env, idx_images(payload=100), idx_labels())
    return Call(env.train(env.tmp / "c.yaml"), [str(images), "truncated", "byte offset 116"])


@case(DATA)
def case_idx_count_mismatch(env: Env) -> Call:
    images, labels = idx_config(env, idx_images(), idx_labels(N_IMAGES - 3))
    expect = [str(images), str(labels), f"{N_IMAGES} images", f"{N_IMAGES - 3} labels"]
    return Call(env.train(env.tmp / "c.yaml"), expect)


@case(DATA)
def case_idx_corrupt_gzip(env: Env) -> Call:
    garbage = bytes((13 * i + 5) % 256 for i in range(200))
    images, _ = idx_config(env, gzip_header() + garbage, idx_labels(), ".gz")
    return Call(env.train(env.tmp / "c.yaml"), [str(images), "corrupt gzip"])


@case(DATA)
def case_idx_truncated_gzip(env: Env) -> Call:
    whole = gzip.compress(idx_images(), mtime=0)
    images, _ = idx_config(env, whole[: len(whole) // 2], idx_labels(), ".gz")
    return Call(env.train(env.tmp / "c.yaml"), [str(images), "truncated gzip"])


@case(DATA)
def case_idx_truncated_gzip_of_labels(env: Env) -> Call:
    whole = gzip.compress(idx_labels(), mtime=0)
    _, labels = idx_config(env, idx_images(), whole[:12], ".gz")
    return Call(env.train(env.tmp / "c.yaml"), [str(labels), "gzip"])


@case(DATA)
def case_idx_images_of_zero_pixels(env: Env) -> Call:
    images, _ = idx_config(env, struct.pack(">IIII", 0x00000803, N_IMAGES, 0, 0), idx_labels())
    return Call(env.train(env.tmp / "c.yaml"), [str(images), "byte offset 8", "size 0"])


@case(DATA)
def case_idx_zero_images(env: Env) -> Call:
    images, _ = idx_config(env, idx_images(0), idx_labels(0))
    return Call(env.train(env.tmp / "c.yaml"), [str(images), "byte offset 4", "size 0"])


@case(DATA)
def case_idx_header_of_huge_sizes(env: Env) -> Call:
    header = struct.pack(">IIII", 0x00000803, 0xFFFFFFFF, 0xFFFF, 0xFFFF)
    images, _ = idx_config(env, header + bytes(64), idx_labels())
    return Call(env.train(env.tmp / "c.yaml"), [str(images), "truncated", "byte offset 80"])


@case(DATA)
def case_idx_float_labels(env: Env) -> Call:
    labels = struct.pack(">II", 0x00000D01, N_IMAGES) + struct.pack(f">{N_IMAGES}f", *[1.0] * 24)
    _, path = idx_config(env, idx_images(), labels)
    return Call(env.train(env.tmp / "c.yaml"), [str(path), "byte offset 2", "integers"])


@case(DATA)
def case_idx_predict_images_of_another_size(env: Env) -> Call:
    data = env.file("five.idx", struct.pack(">IIII", 0x00000803, 2, 5, 5) + bytes(50))
    return Call(["predict", env.idx_run, "--input", data], [str(data), "5 x 5", "4 x 4"])


@case(DATA)
def case_idx_predict_a_csv_file(env: Env) -> Call:
    return Call(["predict", env.idx_run, "--input", IRIS], [str(IRIS), "magic", "byte offset 0"])


@case(USAGE)
def case_idx_evaluate_without_labels(env: Env) -> Call:
    data = env.file("images", idx_images())
    return Call(["evaluate", env.idx_run, "--data", data], [str(data), "--labels"])


@case(DATA)
def case_idx_evaluate_with_labels_file_as_images(env: Env) -> Call:
    images, labels = env.file("images", idx_images()), env.file("labels", idx_labels())
    args = ["evaluate", env.idx_run, "--data", labels, "--labels", images]
    return Call(args, [str(labels), "byte offset 3", "images file"])


# --------------------------------------------------------------------------------------------
# Checkpoints, for evaluate and predict


def best(env: Env) -> Path:
    return env.iris_run / "checkpoints" / "best.npz"


def arrays_of(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def npz(env: Env, name: str, arrays: dict[str, np.ndarray]) -> Path:
    path = env.tmp / name
    with path.open("wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]
    return path


def with_meta(arrays: dict[str, np.ndarray], **changes: object) -> dict[str, np.ndarray]:
    meta = json.loads(arrays["__nnctl__"].tobytes().decode())
    meta.update(changes)
    encoded = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return {**arrays, "__nnctl__": encoded}


class Exploit:
    """Unpickling this creates ``marker``: proof that a checkpoint was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def pickled_checkpoint(env: Env) -> tuple[Path, Callable[[], None]]:
    marker = env.tmp / "unpickled"
    evil = np.empty(1, dtype=object)
    evil[0] = Exploit(marker)
    path = npz(env, "evil.npz", {**arrays_of(best(env)), "weights/layers.0.W": evil})

    def never_unpickled() -> None:
        assert not marker.exists(), "nnctl unpickled an object array from a checkpoint"

    return path, never_unpickled


@case(DATA)
def case_checkpoint_truncated_evaluate(env: Env) -> Call:
    raw = best(env).read_bytes()
    path = env.file("cut.npz", raw[: len(raw) // 2])
    return Call(["evaluate", path, "--data", IRIS], [str(path), "truncated"])


@case(DATA)
def case_checkpoint_truncated_predict(env: Env) -> Call:
    raw = best(env).read_bytes()
    path = env.file("cut.npz", raw[:-30])
    return Call(["predict", path, "--input", IRIS], [str(path), "truncated"])


@case(DATA)
def case_checkpoint_wrong_format_version(env: Env) -> Call:
    path = npz(env, "future.npz", with_meta(arrays_of(best(env)), format_version=99))
    return Call(["predict", path, "--input", IRIS], [str(path), "format version 99"])


@case(DATA)
def case_checkpoint_not_nnctl(env: Env) -> Call:
    path = npz(env, "foreign.npz", {"W": np.zeros((2, 2)), "b": np.zeros(2)})
    return Call(["evaluate", path, "--data", IRIS], [str(path), "not an nnctl checkpoint"])


@case(DATA)
def case_checkpoint_zip_of_text(env: Env) -> Call:
    path = env.tmp / "notes.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return Call(["predict", path, "--input", IRIS], [str(path), "nnctl checkpoint"])


@case(DATA)
def case_checkpoint_pickled_object_predict(env: Env) -> Call:
    path, never_unpickled = pickled_checkpoint(env)
    return Call(["predict", path, "--input", IRIS], [str(path), "pickle"], after=never_unpickled)


@case(DATA)
def case_checkpoint_pickled_object_evaluate(env: Env) -> Call:
    path, never_unpickled = pickled_checkpoint(env)
    return Call(["evaluate", path, "--data", IRIS], [str(path), "pickle"], after=never_unpickled)


@case(DATA)
def case_checkpoint_incomplete_bundle(env: Env) -> Call:
    arrays = {k: v for k, v in arrays_of(best(env)).items() if not k.startswith("weights/")}
    path = npz(env, "hollow.npz", arrays)
    return Call(["predict", path, "--input", IRIS], [str(path), "layers.0"])


@case(DATA)
def case_checkpoint_is_the_config_file(env: Env) -> Call:
    config = env.iris_run / "config.yaml"
    return Call(["predict", config, "--input", IRIS], [str(config), "zip header", "byte offset 0"])


@case(DATA)
def case_checkpoint_empty_file(env: Env) -> Call:
    path = env.file("empty.npz", b"")
    return Call(["evaluate", path, "--data", IRIS], [str(path), "empty"])


@case(DATA)
def case_checkpoint_malformed_preprocessor(env: Env) -> Call:
    path = npz(env, "odd.npz", with_meta(arrays_of(best(env)), preprocessor="standard"))
    return Call(["predict", path, "--input", IRIS], [str(path), "'preprocessor'"])


@case(DATA)
def case_checkpoint_malformed_architecture(env: Env) -> Call:
    arrays = arrays_of(best(env))
    meta = json.loads(arrays["__nnctl__"].tobytes().decode())
    meta["spec"]["layers"][-1]["activation"] = "linear"
    path = npz(env, "odd.npz", with_meta(arrays, spec=meta["spec"]))
    return Call(["evaluate", path, "--data", IRIS], [str(path), "'spec'", "softmax"])


@case(DATA)
def case_checkpoint_unknown_task(env: Env) -> Call:
    path = npz(env, "odd.npz", with_meta(arrays_of(best(env)), task="poetry"))
    return Call(["predict", path, "--input", IRIS], [str(path), "'poetry'"])


@case(DATA)
def case_checkpoint_preprocessor_of_another_model(env: Env) -> Call:
    iris, pets = arrays_of(best(env)), arrays_of(env.pets_run / "checkpoints" / "best.npz")
    pets_meta = json.loads(pets["__nnctl__"].tobytes().decode())
    mixed = {k: v for k, v in iris.items() if not k.startswith("preprocessor/")}
    mixed |= {k: v for k, v in pets.items() if k.startswith("preprocessor/")}
    path = npz(env, "mixed.npz", with_meta(mixed, preprocessor=pets_meta["preprocessor"]))
    return Call(["predict", path, "--input", IRIS], [str(path), "3 outputs", "needs 2"])


@case(USAGE)  # a run that does not exist: exit 2, as README "Exit codes" says
def case_missing_model_path(env: Env) -> Call:
    path = env.tmp / "runs" / "iris-19700101-000000"
    return Call(["evaluate", path], [str(path), "no such"])


@case(DATA)
def case_run_without_checkpoints(env: Env) -> Call:
    run = env.tmp / "empty-run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "run.json").write_text('{"status": "failed"}')
    return Call(["predict", run, "--input", IRIS], [str(run), "checkpoints/best.npz"])


@case(DATA)
def case_resume_from_truncated_checkpoint(env: Env) -> Call:
    run = env.copy_of(env.iris_run)
    last = run / "checkpoints" / "last.npz"
    last.write_bytes(last.read_bytes()[:300])
    return Call(["train", "--resume", run], [str(last), "truncated"])


@case(DATA)
def case_resume_from_checkpoint_of_another_network(env: Env) -> Call:
    run = env.copy_of(env.iris_run)
    last = run / "checkpoints" / "last.npz"
    shutil.copyfile(env.pets_run / "checkpoints" / "last.npz", last)
    return Call(["train", "--resume", run, "--set", "training.epochs=8"], [str(last), "layers.0.W"])


@case(DATA)
def case_evaluate_run_whose_data_is_gone(env: Env) -> Call:
    run = env.copy_of(env.iris_run)
    config = run / "config.yaml"
    config.write_text(config.read_text().replace(str(IRIS), str(env.tmp / "moved.csv")))
    return Call(["evaluate", run], [str(env.tmp / "moved.csv"), "no such file"])


@case(DATA)
def case_evaluate_run_whose_data_changed_labels(env: Env) -> Call:
    run = env.copy_of(env.iris_run)
    data = env.file("iris.csv", IRIS.read_text().replace("virginica", "orchid"))
    config = run / "config.yaml"
    config.write_text(config.read_text().replace(str(IRIS), str(data)))
    return Call(["evaluate", run], [str(data), "column 'species'", "'orchid'"])


@case(USAGE)
def case_evaluate_checkpoint_outside_a_run_without_data(env: Env) -> Call:
    path = env.file("model.npz", best(env).read_bytes())
    return Call(["evaluate", path], [str(path), "--data"])


# --------------------------------------------------------------------------------------------
# Evaluate and predict input


@case(DATA)
def case_evaluate_data_without_target(env: Env) -> Call:
    data = env.file("x.csv", IRIS_FEATURES + "\n5.1,3.5,1.4,0.2\n")
    return Call(["evaluate", env.iris_run, "--data", data], [str(data), "'species'"])


@case(DATA)
def case_evaluate_unseen_label(env: Env) -> Call:
    data = env.file("x.csv", IRIS_FEATURES + ",species\n5.1,3.5,1.4,0.2,orchid\n")
    return Call(["evaluate", env.iris_run, "--data", data], [str(data), "'orchid'"])


@case(DATA)
def case_predict_missing_feature_column(env: Env) -> Call:
    data = env.file("x.csv", "sepal_length,sepal_width,petal_length\n5.1,3.5,1.4\n")
    return Call(["predict", env.iris_run, "--input", data], [str(data), "'petal_width'"])


@case(DATA)
def case_predict_missing_feature_columns_stdin(env: Env) -> Call:
    return Call(
        ["predict", env.iris_run, "-"],
        ["<stdin>", "'petal_length'", "'petal_width'"],
        stdin="sepal_length,sepal_width\n5.1,3.5\n",
    )


@case(DATA)
def case_predict_unseen_category(env: Env) -> Call:
    data = env.file("x.csv", "weight,color\n4,red\n5,purple\n")
    return Call(["predict", env.pets_run, "--input", data], [str(data), "'color'", "purple"])


@case(DATA)
def case_predict_empty_stdin(env: Env) -> Call:
    return Call(["predict", env.iris_run, "-"], ["<stdin>", "empty"], stdin="")


@case(DATA)
def case_predict_empty_file(env: Env) -> Call:
    data = env.file("x.csv", "")
    return Call(["predict", env.iris_run, "--input", data], [str(data), "empty"])


@case(DATA)
def case_predict_text_in_numeric_column(env: Env) -> Call:
    data = env.file("x.csv", IRIS_FEATURES + "\n5.1,3.5,1.4,0.2\n4.9,wide,1.4,0.2\n")
    return Call(
        ["predict", env.iris_run, "--input", data],
        [str(data), "column 'sepal_width'", "row 2", "'wide'"],
    )


@case(DATA)
def case_predict_unknown_keep_column(env: Env) -> Call:
    data = env.file("x.csv", IRIS_FEATURES + "\n5.1,3.5,1.4,0.2\n")
    return Call(["predict", env.iris_run, "--input", data, "--keep", "id"], [str(data), "'id'"])


@case(USAGE)
def case_predict_keep_the_target_column(env: Env) -> Call:
    args = ["predict", env.iris_run, "--input", IRIS, "--keep", "species"]
    return Call(args, ["--keep species", "column named 'species'"])


@case(USAGE)
def case_evaluate_csv_with_labels(env: Env) -> Call:
    labels = env.file("labels", idx_labels())
    args = ["evaluate", env.iris_run, "--data", IRIS, "--labels", labels]
    return Call(args, ["--labels", str(labels), "'species'"])


@case(DATA)
def case_predict_unseen_category_stdin(env: Env) -> Call:
    args = ["predict", env.pets_run, "--input", "-"]
    return Call(
        args,
        ["<stdin>", "column 'color'", "row 3", "'teal'"],
        stdin="weight,color\n4,red\n5,blue\n6,teal\n",
    )


# --------------------------------------------------------------------------------------------
# Command-line misuse


@case(USAGE)
def case_train_without_arguments(env: Env) -> Call:
    return Call(["train", "--runs-dir", env.runs], ["CONFIG"])


@case(USAGE)
def case_evaluate_without_arguments(env: Env) -> Call:
    return Call(["evaluate"], ["Missing argument", "MODEL"])


@case(USAGE)
def case_output_is_a_directory(env: Env) -> Call:
    folder = env.tmp / "out"
    folder.mkdir()
    args = ["predict", env.iris_run, "--input", IRIS, "--output", folder]
    return Call(args, ["--output", str(folder), "directory"])


@case(USAGE)
def case_set_unknown_key(env: Env) -> Call:
    args = env.train(iris_config(env.tmp, 2), "--set", "training.epochz=3")
    return Call(args, ["--set training.epochz=3", "'epochs'"])


@case(USAGE)
def case_set_without_equals(env: Env) -> Call:
    return Call(
        env.train(iris_config(env.tmp, 2), "--set", "training.epochs"), ["--set", "KEY=VALUE"]
    )


@case(USAGE)
def case_set_bad_value(env: Env) -> Call:
    args = env.train(iris_config(env.tmp, 2), "--set", "training.batch_size=-4")
    return Call(args, ["training.batch_size", "-4"])


@case(USAGE)
def case_resume_of_missing_run(env: Env) -> Call:
    run = env.runs / "iris-20000101-000000"
    return Call(["train", "--resume", run], [str(run), "no such run"])


@case(USAGE)
def case_resume_of_a_directory_that_is_not_a_run(env: Env) -> Call:
    folder = env.tmp / "just-a-folder"
    folder.mkdir()
    return Call(["train", "--resume", folder], [str(folder), "run.json"])


@case(USAGE)
def case_runs_dir_is_a_file(env: Env) -> Call:
    config = iris_config(env.tmp, 2)
    return Call(
        ["train", config, "--runs-dir", config], [str(config), "is a file, not a directory"]
    )


@case(USAGE)
def case_output_in_a_missing_folder(env: Env) -> Call:
    out = env.tmp / "no" / "such" / "p.csv"
    return Call(["predict", env.iris_run, IRIS, "--output", out], ["--output", str(out.parent)])


@case(USAGE)
def case_output_where_nothing_can_be_written(env: Env) -> Call:
    args = ["predict", env.iris_run, IRIS, "--output", "/proc/predictions.csv"]
    return Call(args, ["--output /proc/predictions.csv", "cannot create"])


@case(USAGE)
def case_unknown_option(env: Env) -> Call:
    return Call(env.train(CONFIGS / "iris.yaml", "--epochs", "3"), ["--epochs"])


# --------------------------------------------------------------------------------------------
# The test

WORKERS = max(2, min(8, 2 * (os.cpu_count() or 1)))
"""Commands run at once: each is mostly a Python start-up, partly waiting on the disk."""


@dataclass
class Outcome:
    """One case's folder, its command line and what the command did (or why building failed)."""

    folder: Path
    call: Call | None = None
    result: subprocess.CompletedProcess[str] | None = None
    error: BaseException | None = None


def _selected(request: pytest.FixtureRequest) -> list[Case]:
    """The cases this session runs (all, or those that ``-k`` or a node id chose)."""
    chosen = set()
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if item.path == request.path and callspec is not None and "bad" in callspec.params:
            chosen.add(callspec.params["bad"].id)
    return [c for c in CASES if c.id in chosen]


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Outcome]:
    """Build every selected case, each in its own folder, then run the commands concurrently."""
    built: dict[str, Outcome] = {}
    for bad in _selected(request):
        outcome = Outcome(tmp_path_factory.mktemp(bad.id))
        try:
            outcome.call = bad.build(Env(outcome.folder, request))
        except Exception as error:  # reported by the case's own test
            outcome.error = error
        built[bad.id] = outcome

    def run(outcome: Outcome) -> None:
        assert outcome.call is not None
        outcome.result = run_nnctl(*outcome.call.args, cwd=outcome.folder, stdin=outcome.call.stdin)

    with ThreadPoolExecutor(WORKERS) as pool:
        ready = [o for o in built.values() if o.call is not None]
        list(pool.map(run, ready))
    return built


def _params() -> list[object]:
    params = []
    for c in CASES:
        marks = [pytest.mark.xfail(reason=c.xfail, strict=True)] if c.xfail else []
        params.append(pytest.param(c, id=c.id, marks=marks))
    return params


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 45
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("bad", _params())
def test_bad_input(bad: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[bad.id]
    if outcome.error is not None:
        raise outcome.error
    call, result = outcome.call, outcome.result
    assert call is not None and result is not None
    everything = result.stdout + result.stderr
    assert "Traceback" not in everything, everything
    assert result.stdout == "", f"stdout must stay empty on an error:\n{result.stdout}"
    assert result.returncode == bad.code, result.stderr
    for expected in call.expect:
        assert str(expected) in result.stderr, f"{expected!r} not in stderr:\n{result.stderr}"
    if call.after is not None:
        call.after()
    for run_json in outcome.folder.rglob("run.json"):
        status = json.loads(run_json.read_text()).get("status")
        assert status != "running", f"{run_json.parent} left in status running"
