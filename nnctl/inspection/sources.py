"""What inspect and trace read: a MODEL argument's model and run, and the rows to look at.

MODEL is resolved as ``nnctl predict`` resolves it (`locate_model`, `load_model`): a run
directory (its best checkpoint, else its last), a run's name, or a ``.npz`` checkpoint. Data is
a split of the run (``train``, ``validation``, ``test``, made again exactly as training made it,
`run_split`) or a file read the way ``nnctl predict`` reads one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nnctl.config.loader import Config, load_config
from nnctl.data import read_features_for_predict
from nnctl.data.load import ROLES, RunSplit, run_split
from nnctl.errors import UsageError
from nnctl.store.bundle import Bundle, is_checkpoint_file, load_bundle, locate_model, model_file
from nnctl.store.model import Model, load_model
from nnctl.store.record import RunRecord, read_record
from nnctl.store.runs import CHECKPOINTS, CONFIG_FILE, RUN_FILE


@dataclass
class Opened:
    """A loaded model, and the run directory it belongs to (None for a checkpoint alone)."""

    model: Model
    run: Path | None

    @property
    def dtype(self) -> type[np.floating]:
        """The network's float type; data is read in it."""
        return self.model.network.dtype.type

    def config(self, why: str) -> Config:
        """The run's resolved ``config.yaml``; a `UsageError` saying ``why`` without a run."""
        if self.run is None:
            raise UsageError(
                f"{self.model.path}: a checkpoint outside a run directory has no config; "
                f"{why} needs the run directory"
            )
        return load_config(self.run / CONFIG_FILE)

    def record(self) -> RunRecord | None:
        """The run's ``run.json``, or None without a run."""
        return None if self.run is None else read_record(self.run)

    def last_checkpoint(self) -> Bundle | None:
        """The run's ``last.npz`` (with the optimizer's state), else the model's own bundle."""
        if self.run is not None:
            last = self.run / CHECKPOINTS / "last.npz"
            if is_checkpoint_file(last):
                return load_bundle(last)
        return self.model.bundle


def open_model(model: Path, runs_dir: Path | None = None) -> Opened:
    """Load the model a MODEL argument names, and find its run directory."""
    located = locate_model(model, runs_dir)
    loaded = load_model(located)
    run = located if located.is_dir() else model_file(located).parent.parent
    return Opened(loaded, run if (run / RUN_FILE).is_file() else None)


def split_of(opened: Opened, role: str, option: str) -> RunSplit:
    """The run's ``role`` split; ``option`` (``--data``, ``--split``) names it in messages."""
    if role not in ROLES:
        raise UsageError(f"{option} {role}: expected one of {', '.join(ROLES)} or a file")
    cfg = opened.config(f"{option} {role}")
    found = run_split(opened.model.preprocessor, cfg, role, opened.dtype)
    if found is None:
        raise UsageError(
            f"{option} {role}: the run {opened.run} has no {role} split "
            f"(data.{role}_split is 0 and no data.{role} file)",
            hint=f"use another split: {', '.join(ROLES)}",
        )
    return found


def file_chunks(
    opened: Opened, path: Path, chunk_rows: int = 65536
) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """``(raw rows, X)`` chunks of a CSV or IDX images file, read as ``nnctl predict`` reads it.

    The target column may be there or not; an IDX file's raw frame has no columns.
    """
    yield from read_features_for_predict(
        opened.model.preprocessor, path, chunk_rows, dtype=opened.dtype
    )


def is_split_name(data: str) -> bool:
    """Whether a ``--data`` value names a split (and not a file)."""
    return data in ROLES and not Path(data).exists()


def plain(value: Any) -> Any:
    """A NumPy scalar as the Python number or string JSON writes."""
    return value.item() if isinstance(value, np.generic) else value
