"""Atomic files: every file nnctl writes goes to a temporary name and is renamed when complete.

Every file is written to a temporary name in the same folder, flushed to disk, and renamed over its
final name, so that a crash or ``kill -9`` at any moment leaves either the old file or the new one,
never half of one. A failed write (a full disk, say) raises `CheckpointError` (exit 3) naming the
file, and the previous version of the file stays as it was.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from nnctl.errors import CheckpointError, UsageError
from nnctl.store import jsonio


def _file_mode() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()


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
            f"cannot write {path}: {error.strerror or error}", hint=_write_hint(path, error)
        ) from error
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def _write_hint(path: Path, error: OSError) -> str:
    """What to do about a failed write, by its cause: only a full disk asks for space."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some space and run the command again (a training resumes with --resume)"
    if error.errno == errno.ENOENT:
        return f"the folder {path.parent} does not exist"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"the folder {path.parent} is not writable by you"
    if error.errno == errno.EISDIR or path.is_dir():
        return f"{path} is a folder; give a file name"
    return "the previous version of the file, if any, is intact"


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
