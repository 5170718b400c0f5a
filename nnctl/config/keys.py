"""Key paths and problems, the words every config module speaks; it imports none of them.

A key path is where a value sits in the file (``("model", "layers", 1, "units")``), shown to the
user as ``model.layers[1].units``. A problem is a key path with a message. A check that finds
problems hands them to pydantic with `raise_problems`, as one error whose context keeps the pairs,
so that the loader can put each at its own line and column. A mistyped key gets a did-you-mean
(`unknown_key`), by the same matching as a mistyped name in the engine's registries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_core import PydanticCustomError

from nnctl.nn.registry import did_you_mean

Key = str | int
KeyPath = tuple[Key, ...]
Problem = tuple[KeyPath, str]

PROBLEMS_ERROR = "nnctl_problems"
"""The pydantic error type of `raise_problems`; its context holds the ``(path, message)`` pairs."""


def dotted(path: Sequence[Any]) -> str:
    """A key path as the user reads it: ``model.layers[1].units``."""
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) and not isinstance(key, bool) else f".{key}"
    return text.lstrip(".")


def raise_problems(problems: Sequence[Problem]) -> None:
    """Raise the problems, if any, as one pydantic error of type ``nnctl_problems``."""
    if problems:
        summary = "; ".join(f"{dotted(path)}: {message}" for path, message in problems)
        context = {"summary": summary, "problems": tuple(problems)}
        raise PydanticCustomError(PROBLEMS_ERROR, "{summary}", context)


def unknown_key(key: object, allowed: Sequence[str]) -> str:
    """``unknown key; did you mean 'units'?``, or the keys allowed when none is close."""
    hint = did_you_mean(key, allowed)
    return f"unknown key{hint}" if hint else f"unknown key; expected one of: {', '.join(allowed)}"
