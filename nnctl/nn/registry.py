"""Registries: a name in a config -> the engine's class, with did-you-mean and parameter checks.

Each part of the engine keeps its registry beside its classes (`ACTIVATIONS`, `LOSSES`,
`INITIALIZERS`, `OPTIMIZERS`, `SCHEDULES`); these helpers are what every registry shares.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from typing import ClassVar, Protocol, TypeVar

from nnctl.nn.errors import EngineConfigError


def unknown_name(kind: str, name: str, choices: list[str]) -> EngineConfigError:
    """An EngineConfigError for a name not in a registry, with a did-you-mean suggestion."""
    close = difflib.get_close_matches(name, choices, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return EngineConfigError(f"unknown {kind} '{name}'{hint} expected one of: {', '.join(choices)}")


class _Registered(Protocol):
    defaults: ClassVar[dict[str, float]]

    def __init__(self, **params: float) -> None: ...


R = TypeVar("R", bound=_Registered)


def build_registered(
    kind: str, registry: Mapping[str, type[R]], name: str, params: Mapping[str, float]
) -> R:
    """An instance of ``registry[name]`` with ``params``: known keys only, positive numbers.

    Raises
    ------
    EngineConfigError
        For a name not in the registry (with a did-you-mean), a key the entry does not take, or a
        value that is not a positive finite number.
    """
    if name not in registry:
        raise unknown_name(kind, name, list(registry))
    cls = registry[name]
    for key, value in params.items():
        if key not in cls.defaults:
            accepted = ", ".join(cls.defaults) or "no parameters"
            raise EngineConfigError(f"{kind} '{name}' takes {accepted}; got '{key}'")
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise EngineConfigError(
                f"{kind} '{name}': {key} must be a positive number, got {value!r}"
            )
    return cls(**{k: float(v) for k, v in params.items()})


def did_you_mean(word: object, choices: Sequence[str]) -> str:
    """``"; did you mean 'relu'?"`` for the closest choice, or ``""`` when nothing is close.

    Case is ignored, and a word that begins a choice (``leaky``) suggests it.
    """
    text = str(word).lower()
    matches = difflib.get_close_matches(text, list(choices), n=1, cutoff=0.6)
    if not matches and len(text) >= 2:
        matches = [choice for choice in choices if choice.lower().startswith(text)][:1]
    return f"; did you mean '{matches[0]}'?" if matches else ""
