"""Run locks: one process trains in a run directory at a time, and others can tell.

The lock is ``flock`` on the directory itself, so no lock file is ever left behind, and the kernel
releases it when the process ends, however it ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from nnctl.errors import UsageError


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
