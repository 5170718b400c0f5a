"""``layer_stats.csv`` on disk: written like metrics.csv, rows kept on resume as their text."""

from __future__ import annotations

from pathlib import Path

from nnctl.store.layer_stats import LAYER_STATS_COLUMNS, layer_stats_file, resumed_rows


def _row(epoch: int, layer: int, value: float | None) -> dict[str, object]:
    return {"epoch": epoch, "layer": layer, "w_mean": value, "update_ratio": None, "lr": 0.1}


def test_rows_are_written_like_metrics_and_kept_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "layer_stats.csv"
    file = layer_stats_file(path)
    file.extend([_row(0, 0, 1 / 3), _row(0, 1, float("nan"))])
    file.extend([_row(1, 0, 0.25), _row(1, 1, 2.0)])
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(LAYER_STATS_COLUMNS)
    assert lines[1] == "0,0,0.333333,,,,,,,,,,0.1"  # %.6g; None empty
    assert lines[2] == "0,1,,,,,,,,,,,0.1"  # nan empty
    assert lines[4] == "1,1,2,,,,,,,,,,0.1"
    again = layer_stats_file(path)
    again.rows = resumed_rows(path, epoch=1)
    again.extend([_row(2, 0, 5.0)])
    assert path.read_text().splitlines() == [*lines, "2,0,5,,,,,,,,,,0.1"]
    again.rows = resumed_rows(path, epoch=1)  # epoch 2 is past the checkpoint: dropped
    assert [row["epoch"] for row in again.rows] == ["0", "0", "1", "1"]
    again.rows = resumed_rows(path, epoch=0)  # no epoch done: training starts over
    assert again.rows == []


def test_missing_or_damaged_files_keep_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "layer_stats.csv"
    assert resumed_rows(path, 3) == []
    path.write_text("epoch,layer\n1,0,extra\n")
    assert resumed_rows(path, 3) == []
