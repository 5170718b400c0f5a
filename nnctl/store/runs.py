"""Run directories: create one atomically, write its files atomically, find and list runs.

Every file is written to a temporary name in the same folder, flushed to disk, and renamed over its
final name, so that a crash or ``kill -9`` at any moment leaves either the old file or the new one,
never half of one. A failed write (a full disk, say) raises `CheckpointError` (exit 3) naming the
file, and the previous version of the file stays as it was.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from nnctl.errors import CheckpointError, UsageError
from nnctl.store import jsonio
from nnctl.store.record import RunRecord

DEFAULT_RUNS_DIR = "runs"
RUN_FILE = "run.json"
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.csv"
SUMMARY_FILE = "summary.json"
CHECKPOINTS = "checkpoints"


def _file_mode() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()
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


@contextlib.contextmanager
def atomic_writer(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success flush, fsync and rename it to ``path``.

    On any error the temporary file is removed and ``path`` keeps its previous content.
    """
    tmp_name = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, FILE_MODE)  # mkstemp makes 0600; a run's files are as any file the user makes
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as error:
        raise CheckpointError(
            f"cannot write {path}: {error.strerror or error}",
            hint="the previous version of the file is intact; free some space and resume the run",
        ) from error
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_writer(path) as handle:
        handle.write(text)


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as indented strict JSON to ``path`` atomically (NaN becomes null)."""
    write_text(path, jsonio.dumps(data, indent=2) + "\n")


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object; a missing file is a `UsageError`, a damaged one a `CheckpointError`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, ValueError, RecursionError) as error:
        raise CheckpointError(f"{path}: damaged: not readable JSON ({error})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: damaged: expected a JSON object")
    return data


class MetricsFile:
    """``metrics.csv``: one row per epoch, the whole file rewritten atomically after each epoch.

    Rewriting a small file is cheap and means ``kill -9`` can never leave a partial row.
    """

    def __init__(self, path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]] = ()):
        self.path = path
        self.columns = list(columns)
        self.rows: list[dict[str, Any]] = list(rows)

    def append(self, row: Mapping[str, Any]) -> None:
        """Add one epoch's row and write the file."""
        self.rows.append(dict(row))
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        for item in self.rows:
            writer.writerow({key: _format_cell(item.get(key)) for key in self.columns})
        write_text(self.path, buffer.getvalue())


def _format_cell(value: object) -> object:
    if isinstance(value, float):
        return f"{value:.6g}" if value == value else ""
    return "" if value is None else value


def read_metrics(path: Path) -> list[dict[str, str]]:
    """The rows of a ``metrics.csv`` (empty when the file does not exist).

    A file that is not UTF-8 CSV, or a row with more or fewer cells than the header or without an
    integer ``epoch``, is a `CheckpointError` naming the file and the line.
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CheckpointError(f"{path}: damaged: not a readable CSV file ({error})") from None
    for line, row in enumerate(rows, start=2):
        if None in row or None in row.values() or not str(row.get("epoch", "")).isdigit():
            raise CheckpointError(
                f"{path}: damaged: line {line} does not match the header "
                "(a missing or extra cell, or an epoch that is not a number)"
            )
    return rows


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


def read_record(run: Path) -> RunRecord:
    """The `RunRecord` of ``run/run.json``; a damaged file is a `CheckpointError` naming it."""
    path = run / RUN_FILE
    return RunRecord.from_json(read_json(path), str(path))


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


@contextlib.contextmanager
def run_lock(run: Path) -> Iterator[None]:
    """Hold an exclusive lock on a run directory while training in it.

    The lock (``flock`` on the directory itself, so no lock file is left behind) is released
    when the process ends, however it ends; a second ``nnctl train --resume`` of a run that is
    still training is refused instead of writing into it at the same time.
    """
    fd = os.open(run, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"{run}: another nnctl process is training this run right now",
                hint="wait for it to finish, or stop it (Ctrl-C) and resume",
            ) from None
        yield
    finally:
        os.close(fd)


def is_locked(run: Path) -> bool:
    """Whether a process holds `run_lock` on ``run`` (is training in it) right now.

    Probes with a shared lock, released at once: it fails only while a trainer holds its
    exclusive lock, which the kernel drops when that process ends, however it ends.
    """
    try:
        fd = os.open(run, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
