"""``run.json`` as a typed record: what a run is doing or did, read back with its types checked.

`read_record` is the one reader of a run's ``run.json`` and `write_record` its one writer. Read
back through `RunRecord.from_json`, a file that is not JSON, or a key whose value has the wrong
type, is a `CheckpointError` naming the file and the key, so a damaged record is reported as
damaged instead of breaking whatever displays it later; every other module sees typed fields.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from nnctl.errors import CheckpointError
from nnctl.store.files import read_json, write_json
from nnctl.store.runs import RUN_FILE

STATUSES = ("running", "completed", "interrupted", "diverged", "failed")
STOPPED = "stopped"
"""The status shown for a run recorded as running whose process is gone (``kill -9``, a crash)."""


@dataclass
class RunRecord:
    """The content of ``run.json``; see README "The run directory"."""

    name: str
    status: str = "running"
    stop_reason: str | None = None
    epochs_planned: int = 0
    epochs_done: int = 0
    best_epoch: int | None = None
    best_value: float | None = None
    monitor: str | None = None
    seed: int = 0
    command: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    data_files: list[dict[str, str]] = field(default_factory=list)
    started: str = ""
    ended: str | None = None
    resumed: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Any, source: str) -> RunRecord:
        """The record in parsed JSON ``data``; ``source`` (the file) starts every message."""
        if not isinstance(data, dict):
            raise CheckpointError(f"{source}: damaged: expected a JSON object")
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.name in data:
                values[item.name] = _checked(data[item.name], item.name, source)
            elif item.name in _REQUIRED:
                raise CheckpointError(f"{source}: damaged: no '{item.name}' key")
        if values["status"] not in STATUSES:
            raise CheckpointError(
                f"{source}: damaged: 'status' must be one of {', '.join(STATUSES)}, "
                f"got {values['status']!r}"
            )
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        """The record as the plain data ``run.json`` holds."""
        return asdict(self)


def read_record(run: Path) -> RunRecord:
    """The `RunRecord` of ``run/run.json``; a damaged file is a `CheckpointError` naming it."""
    path = run / RUN_FILE
    return RunRecord.from_json(read_json(path), str(path))


def write_record(run: Path, record: RunRecord) -> None:
    """Write ``record`` to ``run/run.json`` atomically."""
    write_json(run / RUN_FILE, record.to_json())


_REQUIRED = ("name", "status", "epochs_done")
_KINDS: dict[str, tuple[str, tuple[type, ...], bool]] = {
    # key: (what the message says is expected, the types accepted, whether null is allowed)
    "name": ("a string", (str,), False),
    "status": ("a string", (str,), False),
    "stop_reason": ("a string", (str,), True),
    "epochs_planned": ("an integer >= 0", (int,), False),
    "epochs_done": ("an integer >= 0", (int,), False),
    "best_epoch": ("an integer >= 1", (int,), True),
    "best_value": ("a number", (int, float), True),
    "monitor": ("a string", (str,), True),
    "seed": ("an integer", (int,), False),
    "command": ("a list", (list,), False),
    "versions": ("an object", (dict,), False),
    "data_files": ("a list of {path, sha256} objects", (list,), False),
    "started": ("a string", (str,), False),
    "ended": ("a string", (str,), True),
    "resumed": ("a list", (list,), False),
}


def _checked(value: Any, key: str, source: str) -> Any:
    """``value`` of ``key`` when it has the type the record needs; else a `CheckpointError`."""
    expected, kinds, nullable = _KINDS[key]
    if value is None and nullable:
        return None
    ok = isinstance(value, kinds) and not isinstance(value, bool)
    if ok and isinstance(value, int) and "integer" in expected:
        ok = value >= (1 if ">= 1" in expected else 0 if ">= 0" in expected else -math.inf)
    if ok and key == "data_files":
        ok = all(isinstance(item, dict) and {"path", "sha256"} <= set(item) for item in value)
    if not ok:
        raise CheckpointError(f"{source}: damaged: '{key}' must be {expected}, got {value!r:.60}")
    return float(value) if key == "best_value" else value
