"""What every section of a config file shares: immutable, unknown keys forbidden, numbers finite.

The sections themselves mirror the YAML: `nnctl.config.data` (``data:``), `nnctl.config.model`
(``model:``), `nnctl.config.loss` (``loss:`` and ``metrics:``), `nnctl.config.optimizer`,
`nnctl.config.schedule`, `nnctl.config.training` and `nnctl.config.diagnostics`; the whole file is
`nnctl.config.loader.Config`.
"""

from __future__ import annotations

import inspect
from collections.abc import Collection, Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model

PositiveInt = Annotated[int, Field(strict=True, gt=0)]
PositiveFloat = Annotated[float, Field(strict=True, gt=0)]
NonNegativeInt = Annotated[int, Field(strict=True, ge=0)]
NonNegative = Annotated[float, Field(strict=True, ge=0)]
Fraction = Annotated[float, Field(strict=True, ge=0, lt=1)]
"""A number in [0, 1)."""


class Section(BaseModel):
    """A config section: immutable, unknown keys forbidden, numbers finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


S = TypeVar("S", bound=Section)


def name_or_params(value: Any) -> str:
    """Which form a name-or-mapping value has: ``relu`` or ``{name: leaky_relu, alpha: 0.1}``."""
    return "params" if isinstance(value, dict | BaseModel) else "name"


def takers(registry: Mapping[str, Any], parameter: str) -> list[str]:
    """The names in an engine registry whose class takes ``parameter`` (``alpha``, ``delta``)."""
    return [name for name, cls in registry.items() if parameter in cls.defaults]


Described = tuple[Any, str]
"""A parameter's type as a config accepts it (its range) and its description."""


def engine_defaults(cls: type, skip: Collection[str] = ()) -> dict[str, Any]:
    """The parameters of an engine class's constructor, in order, with their defaults."""
    parameters = inspect.signature(cls).parameters.values()
    return {p.name: p.default for p in parameters if p.name not in skip}


def choice_section(
    base: type[S],
    model_name: str,
    name: str,
    summary: str,
    defaults: Mapping[str, Any],
    described: Mapping[str, Described],
) -> type[S]:
    """A section for one entry of an engine registry: ``name`` plus that entry's parameters.

    Parameters
    ----------
    base
        The section class it extends (its fields come first).
    model_name, name, summary
        The class name (the schema's title), the registry key (the value of ``name``), and the
        docstring (the schema's description).
    defaults
        The engine's parameters with their defaults (`engine_defaults`): the section's keys.
    described
        The type and description of each parameter.

    Raises
    ------
    TypeError
        When the engine has a parameter that ``described`` does not know: a new parameter needs
        its range and description here.
    """
    fields: dict[str, Any] = {"name": (Literal[name], ...)}
    for key, default in defaults.items():
        if key not in described:
            raise TypeError(f"{model_name}: no type and description for the parameter {key!r}")
        type_, description = described[key]
        fields[key] = (type_, Field(default=default, description=description))
    return create_model(
        model_name, __base__=base, __doc__=summary, __module__=base.__module__, **fields
    )
