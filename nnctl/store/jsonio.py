"""nnctl's one JSON writer: strict JSON, in which a NaN or infinite number is ``null``.

Python's `json` writes ``NaN`` and ``Infinity`` for non-finite floats, which no other JSON reader
accepts (``jq`` among them). Every ``--json`` output and every JSON record of a run goes through
`dumps`, so a diverged metric reads as ``null`` and a script never meets a bare ``NaN``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """``value`` as plain JSON data: NumPy scalars and arrays unwrapped, non-finite floats None."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def dumps(value: Any, *, indent: int | None = None) -> str:
    """Strict JSON text of ``value`` (see `plain`); raises `TypeError` for other objects."""
    return json.dumps(plain(value), indent=indent, allow_nan=False)
