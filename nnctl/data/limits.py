"""How much nnctl reads: the caps on inflated and piped inputs, from the memory available.

``$NNCTL_MAX_INPUT_BYTES`` sets them all (`LIMIT_ENV`).
"""

from __future__ import annotations

import contextlib
import os

GZIP_MAX_RATIO = 1032
"""Deflate inflates at most about 1032:1 (a stream of zeros), so ``n`` compressed bytes hold at
most ``n * GZIP_MAX_RATIO`` bytes of data, whatever a header inside them claims."""
LIMIT_ENV = "NNCTL_MAX_INPUT_BYTES"
MIN_LIMIT = 64 << 20


def available_memory() -> int:
    """Bytes of memory available to this process (``MemAvailable``), else the physical memory."""
    with contextlib.suppress(OSError, ValueError), open("/proc/meminfo", encoding="ascii") as info:
        for line in info:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 1 << 33


def inflate_limit() -> int:
    """The most bytes nnctl inflates from a gzip input it reads whole, or copies from a pipe.

    ``$NNCTL_MAX_INPUT_BYTES`` when set, else an eighth of the available memory (at least 64
    MiB): pandas' table of that much text can take four times its size while it is read
    (``1,2`` is 4 bytes of text, 8 of float32, and the chunks are joined at the end).
    """
    value = os.environ.get(LIMIT_ENV, "").strip()
    if value.isdigit():
        return int(value)
    return max(available_memory() // 8, MIN_LIMIT)


def memory_limit() -> int:
    """The most bytes a file's header may claim: ``$NNCTL_MAX_INPUT_BYTES``, else the memory."""
    value = os.environ.get(LIMIT_ENV, "").strip()
    return int(value) if value.isdigit() else available_memory()


def size_text(n_bytes: int) -> str:
    """``1.5 GiB``, ``64 MiB``, ``900 bytes``: a size for a message."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n_bytes >= 1 << shift:
            return f"{n_bytes / (1 << shift):.4g} {unit}"
    return f"{n_bytes} bytes"
