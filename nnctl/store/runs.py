"""Run directories: the files in one, creating one, finding one from a RUN or MODEL argument.

A run directory is created with ``os.mkdir``, which fails when the folder exists, so two runs
started in the same second never share one. Its files are written by `nnctl.store.files`; its
``run.json`` is `nnctl.store.record`'s, its ``metrics.csv`` `nnctl.store.metrics`'s.
"""

from __future__ import annotations

import contextlib
import os
import re
from datetime import datetime
from pathlib import Path

from nnctl.errors import CheckpointError, UsageError

DEFAULT_RUNS_DIR = "runs"
RUN_FILE = "run.json"
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.csv"
LAYER_STATS_FILE = "layer_stats.csv"
SUMMARY_FILE = "summary.json"
CHECKPOINTS = "checkpoints"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def runs_root(runs_dir: Path | None) -> Path:
    """The runs directory: ``runs_dir``, else ``$NNCTL_RUNS_DIR``, else ``runs``."""
    if runs_dir is not None:
        return runs_dir
    return Path(os.environ.get("NNCTL_RUNS_DIR") or DEFAULT_RUNS_DIR)


def safe_run_name(name: str) -> str:
    """A run-name prefix that cannot leave the runs directory.

    Path separators, ``..`` and every character outside ``[A-Za-z0-9._-]`` become ``-``; leading
    dots and dashes are dropped, so the name is never hidden, never ``..``, never an option.
    """
    cleaned = _UNSAFE.sub("-", name).strip("-")
    cleaned = re.sub(r"\.{2,}", "-", cleaned).lstrip(".-")
    if not cleaned:
        raise UsageError(f"run name {name!r} has no usable characters; use letters, digits, . _ -")
    return cleaned[:80]


def create_run_dir(root: Path, name: str, now: datetime | None = None) -> Path:
    """Create ``root/<name>-<YYYYmmdd-HHMMSS>``, adding ``-2``, ``-3``... when it is taken.

    ``os.mkdir`` fails when the folder exists, so two processes started in the same second get two
    different folders and neither writes into the other's.
    """
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = f"{safe_run_name(name)}-{stamp}"
    if root.exists() and not root.is_dir():
        raise UsageError(f"--runs-dir {root}: is a file, not a directory")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the runs directory {root}: {error.strerror}") from None
    for n in range(1, 10_000):
        path = root / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as error:
            raise UsageError(f"cannot create the run directory {path}: {error.strerror}") from None
        (path / CHECKPOINTS).mkdir()
        return path
    raise UsageError(f"too many runs named {base} in {root}")


def locate_run(arg: Path, runs_dir: Path | None = None) -> Path:
    """The path a RUN or MODEL argument means: as given when it exists, else in the runs directory.

    ``nnctl runs list`` prints run names; ``iris-20260101-120000`` (or
    ``iris-20260101-120000/checkpoints/best.npz``) names ``<runs dir>/iris-20260101-120000``.
    A path that exists nowhere is returned as given, for the caller's message.
    """
    if arg.exists() or arg.is_absolute():
        return arg
    candidate = runs_root(runs_dir) / arg
    return candidate if candidate.exists() else arg


def no_such_run(arg: Path, runs_dir: Path | None = None, what: str = "run") -> UsageError:
    """The error for a RUN or MODEL argument that names nothing (exit 2)."""
    where = "" if arg.is_absolute() else f" (here, or in the runs directory {runs_root(runs_dir)})"
    return UsageError(
        f"{arg}: no such {what}{where}",
        hint="nnctl runs list shows the runs (--runs-dir or NNCTL_RUNS_DIR picks the folder)",
    )


def resolve_run(path: Path, runs_dir: Path | None = None) -> Path:
    """The run directory ``path`` names (a path, or a name in the runs directory).

    A `UsageError` (exit 2) when there is no such run or it is not a run directory.
    """
    run = locate_run(path, runs_dir)
    try:
        if not run.exists():
            raise no_such_run(path, runs_dir)
        if not run.is_dir() or not (run / RUN_FILE).is_file():
            raise UsageError(f"{run}: not a run directory (it has no {RUN_FILE})")
    except PermissionError:
        raise CheckpointError(f"{run}: permission denied: cannot read the run directory") from None
    return run


def remove_stale_temporaries(run: Path) -> list[Path]:
    """Delete the half-written temporary files a killed process left in a run; return them.

    Only names `atomic_writer` makes (``.<name>.<random>.tmp``) are touched; they were never
    renamed over a real file, so nothing complete is lost.
    """
    stale = [p for p in (*run.glob(".*.tmp"), *run.glob(f"{CHECKPOINTS}/.*.tmp")) if p.is_file()]
    for path in stale:
        with contextlib.suppress(OSError):
            path.unlink()
    return stale
