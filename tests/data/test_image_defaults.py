"""``data.normalize`` defaults to one rule: none for IDX images, standard for CSV.

The rule is resolved when a config is validated, so a run's config.yaml records the scaling that
was used, ``nnctl validate`` shows it, and a run resumes with the scaling it started with.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import yaml
from datahelp import DATASETS, make_config, write_idx_pair

from nnctl.config.loader import config_to_yaml, load_config, parse_config
from nnctl.data import load_training_data
from nnctl.store.model import load_model
from tests.helpers import CONFIGS, run_nnctl, write_config


def idx_data(folder: Path, **data: object) -> dict[str, object]:
    images, labels = write_idx_pair(folder, 60)
    return {"train": images, "train_labels": labels, "validation_split": 0.2, **data}


def csv_data(**data: object) -> dict[str, object]:
    return {"train": DATASETS / "iris.csv", "target": "species", **data}


@pytest.mark.parametrize("given", [{}, {"normalize": "auto"}, {"normalize": None}])
def test_the_default_is_none_for_images_and_standard_for_csv(
    tmp_path: Path, given: dict[str, object]
) -> None:
    assert make_config(idx_data(tmp_path, **given)).data.normalize == "none"
    assert make_config(csv_data(**given)).data.normalize == "standard"


def test_the_format_decides_the_default_also_when_given_or_overridden(tmp_path: Path) -> None:
    images, labels = write_idx_pair(tmp_path, 60)
    named = {"train": tmp_path / "pixels.bin", "train_labels": labels}
    assert make_config({**named, "format": "idx"}).data.normalize == "none"
    text = f"data: {{train: {images}, train_labels: {labels}}}\n"
    text += "model: {layers: [{units: 3, activation: softmax}]}\nloss: categorical_crossentropy\n"
    assert parse_config(text).data.normalize == "none"
    assert parse_config(text, overrides=["data.normalize="]).data.normalize == "none"
    assert parse_config(text, overrides=["data.normalize=minmax"]).data.normalize == "minmax"


@pytest.mark.parametrize("normalize", ["standard", "minmax", "none"])
def test_a_value_given_is_kept(tmp_path: Path, normalize: str) -> None:
    assert make_config(idx_data(tmp_path, normalize=normalize)).data.normalize == normalize
    assert make_config(csv_data(normalize=normalize)).data.normalize == normalize


def test_the_resolved_config_says_the_value_and_loads_the_same(tmp_path: Path) -> None:
    cfg = make_config(idx_data(tmp_path))
    text = config_to_yaml(cfg)
    assert yaml.safe_load(text)["data"]["normalize"] == "none"
    assert parse_config(text) == cfg


def test_images_are_pixels_in_zero_one_by_default(tmp_path: Path) -> None:
    ds = load_training_data(make_config(idx_data(tmp_path)))
    numeric = ds.preprocessor.numeric
    assert np.all(numeric.shift == 0) and np.all(numeric.divide == 1)
    assert ds.train.X.min() >= 0 and ds.train.X.max() <= 1
    # and the same numbers as an explicit normalize: none
    explicit = load_training_data(make_config(idx_data(tmp_path, normalize="none")))
    np.testing.assert_array_equal(ds.train.X, explicit.train.X)
    standard = load_training_data(make_config(idx_data(tmp_path, normalize="standard")))
    assert not np.array_equal(ds.train.X, standard.train.X)


def test_csv_columns_are_still_standardized_by_default() -> None:
    ds = load_training_data(make_config(csv_data()))
    np.testing.assert_allclose(ds.train.X.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(ds.train.X.std(axis=0), 1, atol=1e-5)


def test_validate_shows_the_resolved_preprocessing() -> None:
    result = run_nnctl("validate", CONFIGS / "digits.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2] == (
        "inputs: 64 pixels in [0, 1] (normalize: none, the default for images)"
    )
    result = run_nnctl("validate", CONFIGS / "digits.yaml", "--set", "data.normalize=standard")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2] == (
        "inputs: 64 pixels in [0, 1], then each pixel standardized to mean 0, std 1 "
        "(normalize: standard; for images the default is none)"
    )
    result = run_nnctl("validate", CONFIGS / "iris.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2] == (
        "inputs: 4 features, numeric columns standardized to mean 0, std 1 "
        "(normalize: standard, the default for CSV)"
    )


def tiny_idx_config(folder: Path, extra: str = "", name: str = "c.yaml") -> Path:
    """A one-layer config on 60 random 4 x 4 images (written once per folder)."""
    images, labels = folder / "train-images-idx3-ubyte.gz", folder / "train-labels-idx1-ubyte.gz"
    if not images.exists():
        write_idx_pair(folder, 60)
    return write_config(
        folder,
        f"""
version: 1
name: px
data:
  train: {images}
  train_labels: {labels}
  validation_split: 0.2
  test_split: 0.2
{extra}
model:
  layers:
    - {{units: 3, activation: softmax}}
loss: categorical_crossentropy
training: {{epochs: 2, batch_size: 16}}
""",
        name,
    )


def digests(run: Path) -> dict[str, str]:
    return {
        str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run.rglob("*"))
        if p.is_file()
    }


def test_a_run_records_none_and_resumes_with_it(tmp_path: Path) -> None:
    config = tiny_idx_config(tmp_path)
    result = run_nnctl("train", config, "--quiet", "--runs-dir", tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    run = Path(result.stdout.strip())
    assert load_config(run / "config.yaml").data.normalize == "none"
    assert "normalize: none" in (run / "config.yaml").read_text()
    again = run_nnctl(
        "train", config, "--resume", run, "--set", "training.epochs=3", "--quiet"
    )  # the config without the key equals the recorded one
    assert again.returncode == 0, again.stderr
    assert np.all(load_model(run).preprocessor.numeric.divide == 1)


def test_an_old_run_that_says_standard_keeps_standard(tmp_path: Path) -> None:
    """A run from before the default changed: its config.yaml says standard, explicitly."""
    config = tiny_idx_config(tmp_path, "  normalize: standard")
    result = run_nnctl("train", config, "--quiet", "--runs-dir", tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    run = Path(result.stdout.strip())
    fitted = load_model(run).preprocessor.numeric
    assert np.any(fitted.divide != 1)

    # The new default is another scaling: resuming with a config that leaves the key out is
    # refused, naming the difference, and nothing in the run changes.
    plain = tiny_idx_config(tmp_path, name="new.yaml")
    before = digests(run)
    refused = run_nnctl("train", plain, "--resume", run, "--set", "training.epochs=3")
    assert refused.returncode == 2, refused.stderr
    assert "data.normalize: 'standard' -> 'none'" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert digests(run) == before

    resumed = run_nnctl("train", "--resume", run, "--set", "training.epochs=3", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert load_config(run / "config.yaml").data.normalize == "standard"
    np.testing.assert_array_equal(load_model(run).preprocessor.numeric.divide, fitted.divide)
