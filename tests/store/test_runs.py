"""Run directories: safe names, atomic creation and writes, listing."""

from __future__ import annotations

import errno
import os
import threading
from datetime import datetime
from pathlib import Path

import pytest

from nnctl.errors import CheckpointError, UsageError
from nnctl.store.files import write_json, write_text
from nnctl.store.metrics import MetricsFile, read_metrics
from nnctl.store.runs import create_run_dir, safe_run_name
from nnctl.workflows.runs import list_runs


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("iris", "iris"),
        ("../../etc", "etc"),
        ("/abs/path", "abs-path"),
        ("a/b\\c", "a-b-c"),
        ("..hidden", "hidden"),
        ("-rf", "rf"),
        ("my run!", "my-run"),
        ("x..y", "x-y"),
    ],
)
def test_run_names_cannot_leave_the_runs_directory(name: str, expected: str) -> None:
    assert safe_run_name(name) == expected


@pytest.mark.parametrize("name", ["", "..", "/", "///", "!!!"])
def test_an_unusable_run_name_is_refused(name: str) -> None:
    with pytest.raises(UsageError):
        safe_run_name(name)


def test_create_run_dir_adds_a_suffix_when_taken(tmp_path: Path) -> None:
    now = datetime(2026, 1, 2, 3, 4, 5)
    first = create_run_dir(tmp_path, "iris", now)
    second = create_run_dir(tmp_path, "iris", now)
    third = create_run_dir(tmp_path, "iris", now)
    assert [p.name for p in (first, second, third)] == [
        "iris-20260102-030405",
        "iris-20260102-030405-2",
        "iris-20260102-030405-3",
    ]
    assert (first / "checkpoints").is_dir()
    assert all(p.parent == tmp_path for p in (first, second, third))


def test_concurrent_creation_gives_distinct_directories(tmp_path: Path) -> None:
    now = datetime(2026, 1, 2, 3, 4, 5)
    made: list[Path] = []
    lock = threading.Lock()

    def make() -> None:
        path = create_run_dir(tmp_path, "same", now)
        with lock:
            made.append(path)

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(made)) == 8


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    write_json(path, {"a": 1})
    write_json(path, {"a": 2})
    assert path.read_text() == '{\n  "a": 2\n}\n'
    assert os.listdir(tmp_path) == ["a.json"]


def test_a_failed_write_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.txt"
    write_text(path, "old")

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(CheckpointError, match="No space left on device"):
        write_text(path, "new")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_metrics_file_has_one_row_per_epoch(tmp_path: Path) -> None:
    metrics = MetricsFile(tmp_path / "metrics.csv", ["epoch", "train_loss", "lr", "seconds"])
    metrics.append({"epoch": 1, "train_loss": 0.5, "lr": 0.01, "seconds": 1.25, "extra": 3})
    metrics.append({"epoch": 2, "train_loss": float("nan"), "lr": 0.01, "seconds": 1.0})
    assert (tmp_path / "metrics.csv").read_text() == (
        "epoch,train_loss,lr,seconds\n1,0.5,0.01,1.25\n2,,0.01,1\n"
    )
    assert [row["epoch"] for row in read_metrics(tmp_path / "metrics.csv")] == ["1", "2"]


def test_list_runs_newest_first_and_skips_broken(tmp_path: Path) -> None:
    for name, started in (("a", "2026-01-01T00:00:00"), ("b", "2026-02-01T00:00:00")):
        (tmp_path / name).mkdir()
        write_json(
            tmp_path / name / "run.json",
            {"name": name, "status": "completed", "epochs_done": 3, "started": started},
        )
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{not json")
    (tmp_path / "not-a-run").mkdir()
    errors: list[Path] = []
    found = list_runs(tmp_path, on_error=lambda path, error: errors.append(path))
    assert [run.name for run in found] == ["b", "a"]
    assert errors == [tmp_path / "broken"]
