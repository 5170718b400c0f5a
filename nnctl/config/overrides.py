"""``--set KEY=VALUE``: change any key of the raw config data before it is validated.

KEY is a dotted path, list items by index (``model.layers.0.units`` or ``model.layers[0].units``);
VALUE is parsed as YAML (``64``, ``0.01``, ``true``, ``[accuracy, f1]``, ``{name: sgd}``; nothing
after ``=`` is null). Missing sections are created on the way, a name given as a string becomes a
mapping (``--set loss.delta=2`` on ``loss: huber``), and index ``len(list)`` adds an item.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nnctl.config.data import PATH_KEYS
from nnctl.config.keys import Key, KeyPath, dotted
from nnctl.config.yaml_source import Mark, describe, parse_value

AFTER_THE_FILE = 1 << 30
"""The line number that sorts problems of overrides after those of the file."""


@dataclass(frozen=True)
class Applied:
    """An override as the user wrote it, and the key path it set."""

    text: str
    path: KeyPath


def apply_overrides(
    raw: dict[Any, Any], overrides: Sequence[str]
) -> tuple[dict[Any, Any], list[Applied], list[tuple[Mark, str]]]:
    """A copy of ``raw`` with the overrides applied in order.

    Returns
    -------
    data, applied, problems
        The new data; the overrides that were applied; ``(order, "--set K=V: message")`` for each
        override that could not be (a missing ``=``, a value that is not YAML, a bad index).
    """
    data = copy.deepcopy(raw)
    applied: list[Applied] = []
    problems: list[tuple[Mark, str]] = []
    for number, text in enumerate(overrides):
        try:
            applied.append(Applied(text, _apply(data, text)))
        except ValueError as error:
            problems.append(((AFTER_THE_FILE, number), f"--set {text}: {error}"))
    return data, applied, problems


def _apply(data: dict[Any, Any], text: str) -> KeyPath:
    key, equals, value_text = text.partition("=")
    if not equals:
        raise ValueError("expected KEY=VALUE, such as training.epochs=50")
    segments = _segments(key.strip())
    try:
        value = parse_value(value_text)
    except ValueError as error:
        raise ValueError(f"the value is not valid YAML: {error}") from None
    container: Any = data
    path: list[Key] = []
    for segment in segments[:-1]:
        where = _key(container, segment, path)
        child = _descendable(_get(container, where), [*path, where])
        _put(container, where, child)
        path.append(where)
        container = child
    where = _key(container, segments[-1], path)
    path.append(where)
    if len(path) == 2 and path[0] == "data" and path[1] in PATH_KEYS and isinstance(value, str):
        value = os.path.abspath(os.path.expanduser(value))  # typed on the command line: from here
    _put(container, where, value)
    return tuple(path)


def _segments(key: str) -> list[str]:
    if not key:
        raise ValueError("expected KEY=VALUE, the key is empty")
    segments = re.sub(r"\[(\d+)\]", r".\1", key).split(".")
    if "" in segments:
        raise ValueError(f"'{key}' has an empty part; separate keys with single dots")
    return segments


def _key(container: Any, segment: str, path: list[Key]) -> Key:
    """The key or index that ``segment`` names in ``container``."""
    if isinstance(container, dict):
        return segment
    size = len(container)
    if not segment.isdigit():
        raise ValueError(f"{dotted(path)} is a list: expected an index, got '{segment}'")
    if int(segment) > size:
        last = f"0 to {size - 1}, or {size}" if size else "0"
        raise ValueError(
            f"{dotted(path)} has {size} items: expected an index from {last} to add one"
        )
    return int(segment)


def _get(container: Any, key: Key) -> Any:
    if isinstance(container, dict):
        return container.get(key)
    return container[key] if isinstance(key, int) and key < len(container) else None


def _put(container: Any, key: Key, value: Any) -> None:
    if isinstance(container, list) and isinstance(key, int) and key == len(container):
        container.append(value)
    else:
        container[key] = value


def _descendable(value: Any, path: list[Key]) -> Any:
    """``value`` as a container to set a key in: null becomes ``{}``, a name ``{name: ...}``."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {"name": value}
    if isinstance(value, dict | list):
        return value
    raise ValueError(f"{dotted(path)} is {describe(value)}, not a mapping with keys")
