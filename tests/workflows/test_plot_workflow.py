"""``nnctl plot``'s workflow: which charts, in which order, and what a run is missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nnctl.errors import UsageError
from nnctl.workflows.plot import gather, parse_what
from tests.helpers import iris_config


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from nnctl.config.loader import load_config
    from nnctl.workflows.train import train_run

    folder = tmp_path_factory.mktemp("plotflow")
    return train_run(load_config(iris_config(folder, epochs=3)), runs_dir=folder / "runs").path


def test_what_is_read_in_the_charts_order() -> None:
    assert parse_what(None) is None
    assert parse_what("confusion, loss,update-ratio") == ["loss", "update_ratio", "confusion"]
    with pytest.raises(UsageError, match=r"unknown chart 'los'; did you mean 'loss'\?"):
        parse_what("los")
    with pytest.raises(UsageError, match="no chart named"):
        parse_what(",")


def test_by_default_every_chart_the_run_has(iris: Path) -> None:
    plot = gather([iris], None)
    assert plot.kinds == ["loss", "metrics", "lr", "update_ratio", "confusion"]
    [confusion] = plot.confusions
    assert confusion.labels == ["setosa", "versicolor", "virginica"]
    summary = (iris / "summary.json").read_text()
    assert sum(map(sum, confusion.matrix)) > 0 and '"accuracy"' in summary
    assert plot.notes == []


def test_asked_for_only_what_was_asked(iris: Path) -> None:
    plot = gather([iris], ["lr"])
    assert plot.kinds == ["lr"] and plot.confusions == []


def test_a_run_without_a_test_split_loses_only_its_confusion(iris: Path, tmp_path: Path) -> None:
    run = tmp_path / "notest"
    shutil.copytree(iris, run)
    config = run / "config.yaml"
    config.write_text(config.read_text().replace("test_split: 0.15", "test_split: 0.0"))
    assert "test_split: 0.0" in config.read_text()
    plot = gather([run], None)
    assert "confusion" not in plot.kinds
    assert len(plot.notes) == 1 and "no confusion matrix" in plot.notes[0]
    with pytest.raises(UsageError, match="no test split"):
        gather([run], ["confusion"])


def test_layer_stats_turned_off_is_the_reason_given(iris: Path, tmp_path: Path) -> None:
    run = tmp_path / "off"
    shutil.copytree(iris, run)
    (run / "layer_stats.csv").unlink()
    with (run / "config.yaml").open("a") as config:
        config.write("diagnostics: {layer_stats: false}\n")
    with pytest.raises(UsageError, match=r"diagnostics.layer_stats: false"):
        gather([run], ["update_ratio"])
    assert "update_ratio" not in gather([run], None).kinds
