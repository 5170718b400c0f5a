"""The raw rows of a run's test split, as the exported graph takes them, for the export's check.

The split is the one training held out (`nnctl.data.run_split`); its rows are given in the
graph's inputs: numeric columns in the model's float type, text columns as strings (a missing
value is the empty string), IDX pixels as their byte values. A checkpoint outside a run, or a run
whose data files are gone, has none: the check then uses `nnctl.export.verify.check_rows` alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from nnctl.config.loader import load_config
from nnctl.data import run_split
from nnctl.data.encoding import is_missing
from nnctl.data.formats.idx import read_idx
from nnctl.errors import NnctlError
from nnctl.export.preprocess import MISSING_TEXT
from nnctl.store.model import Model
from nnctl.store.runs import CONFIG_FILE
from nnctl.workflows.evaluate import run_of

MAX_ROWS = 500


def test_rows(model: Model, located: Path, limit: int = MAX_ROWS) -> dict[str, NDArray[Any]]:
    """Up to ``limit`` rows of the run's test split as graph inputs; empty when there are none."""
    pre, dtype = model.preprocessor, model.network.dtype
    try:
        run = run_of(located)
        if run is None:
            return {}
        found = run_split(pre, load_config(run / CONFIG_FILE), "test", dtype.type)
        if found is None:
            return {}
        if pre.input == "idx":
            images = read_idx(found.source, ndim=3, what="images file")
            flat = images.reshape(images.shape[0], -1)
            picked = flat if found.rows is None else flat[found.rows]
            return {"pixels": picked[:limit].astype(dtype)}
    except (NnctlError, OSError):
        return {}
    if found.raw is None:
        return {}
    frame = found.raw.iloc[:limit]
    feeds: dict[str, NDArray[Any]] = {}
    if pre.numeric_columns:
        feeds["numeric"] = frame[pre.numeric_columns].to_numpy(dtype=np.float64).astype(dtype)
    if pre.categories:
        text = [frame[c.column].to_numpy(dtype=object) for c in pre.categories]
        columns = [np.where(is_missing(v), MISSING_TEXT, v.astype(str)) for v in text]
        feeds["text"] = np.stack(columns, axis=1).astype(object)
    return feeds


Feeds = dict[str, NDArray[Any]]


def joined(first: Feeds, then: Feeds) -> Feeds:
    """The rows of ``first`` followed by those of ``then`` (the same inputs), or ``then``."""
    if not first:
        return then
    return {name: np.concatenate([first[name], then[name]]) for name in then}
