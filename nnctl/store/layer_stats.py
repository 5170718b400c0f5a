"""``layer_stats.csv``: one row per epoch and layer, written like ``metrics.csv``.

The statistics are computed in `nnctl.inspection.layer_stats`; this module holds the file's
columns and its reading on resume. The file is a `MetricsFile` (the whole file rewritten
atomically after each epoch, floats written ``%.6g``, a missing value as an empty cell).
"""

from __future__ import annotations

from pathlib import Path

from nnctl.errors import CheckpointError
from nnctl.store.metrics import MetricsFile, read_metrics

LAYER_STATS_COLUMNS = (
    "epoch",
    "layer",
    "w_mean",
    "w_std",
    "w_norm",
    "b_norm",
    "grad_norm",
    "update_ratio",
    "a_mean",
    "a_std",
    "dead_fraction",
    "saturated_fraction",
    "lr",
)
"""The header, in order (``nnctl doctor`` reads these names)."""


def layer_stats_file(path: Path) -> MetricsFile:
    """A new, empty ``layer_stats.csv`` at ``path`` (written at its first rows)."""
    return MetricsFile(path, LAYER_STATS_COLUMNS)


def resumed_rows(path: Path, epoch: int) -> list[dict[str, str]]:
    """The rows of ``path`` a run resumed after ``epoch`` complete epochs keeps: epochs 0..epoch.

    None when ``epoch`` is 0 (training starts over and writes epoch 0 again). The rows are the
    file's text, so that the kept part of the file stays byte for byte what it was. A missing or
    damaged file keeps no rows: the statistics of past epochs cannot be recomputed, and the file
    restarts at the next epoch.
    """
    if epoch == 0:
        return []
    try:
        rows = read_metrics(path)
    except CheckpointError:
        return []
    return [row for row in rows if int(row["epoch"]) <= epoch]
