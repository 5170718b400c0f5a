"""Pydantic's validation errors, translated into plain messages placed at a file's line and column.

`translate_errors` turns each error's ``loc`` into the key path the user wrote (dropping the tags
pydantic adds for unions) and its message into plain words; `locate_problems` prefixes each with
``file:line:column`` of the key or value, or with the ``--set`` override that brought it in.
"""

from __future__ import annotations

import re
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Tag
from pydantic_core import ErrorDetails

from nnctl.config.keys import PROBLEMS_ERROR, KeyPath, dotted, unknown_key
from nnctl.config.overrides import Applied
from nnctl.config.yaml_source import Mark, Span, describe
from nnctl.nn.registry import did_you_mean


@dataclass(frozen=True)
class Problem:
    """A message about the value at ``path``; ``anchor`` says where in the file it points."""

    path: KeyPath
    message: str
    anchor: Literal["key", "value", "parent"] = "value"


_MESSAGES = {
    "int_parsing": "expected an integer, got {got}",
    "int_type": "expected an integer, got {got}",
    "int_from_float": "expected an integer, got {got}",
    "float_parsing": "expected a number, got {got}",
    "float_type": "expected a number, got {got}",
    "finite_number": "expected a finite number, got {got}",
    "bool_parsing": "expected true or false, got {got}",
    "bool_type": "expected true or false, got {got}",
    "string_type": "expected a string, got {got}",
    "list_type": "expected a list, got {got}",
    "dict_type": "expected a mapping of keys to values, got {got}",
    "model_type": "expected a mapping of keys to values, got {got}",
    "model_attributes_type": "expected a mapping of keys to values, got {got}",
    "path_type": "expected a file path, got {got}",
    "greater_than": "must be greater than {gt}, got {got}",
    "greater_than_equal": "must be at least {ge}, got {got}",
    "less_than": "must be less than {lt}, got {got}",
    "less_than_equal": "must be at most {le}, got {got}",
    "too_short": "must have at least {min_length} item, got {actual_length}",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters long",
    "string_pattern_mismatch": "must match {pattern}, got {got}",
    "recursion_loop": "a recursive YAML alias is not allowed here",
}


@dataclass
class _Walk:
    """A pydantic ``loc`` followed through the model types."""

    path: list[Any] = field(default_factory=list)
    owner: type[BaseModel] | None = None  # the model of which path[-1] is a key
    arms: tuple[Any, ...] = ()  # the choices of the last union passed through
    type_: Any = None  # the type at the end of the path, None when unknown


def translate_errors(errors: Sequence[ErrorDetails], model: type[BaseModel]) -> list[Problem]:
    """Plain-worded problems, one or more per pydantic error, without repeats."""
    problems: dict[tuple[KeyPath, str], Problem] = {}
    for error in errors:
        for problem in _translate(error, _follow(model, error["loc"])):
            problems.setdefault((problem.path, problem.message), problem)
    return list(problems.values())


def locate_problems(
    problems: Sequence[Problem], spans: dict[KeyPath, Span], applied: Sequence[Applied], source: str
) -> list[tuple[Mark, str]]:
    """Each problem as ``(position, "file:line:col: key.path: message")``.

    A problem in a value that a ``--set`` override gave is shown as ``--set KEY=VALUE: message``
    and placed after every position in the file.
    """
    located: list[tuple[Mark, str]] = []
    for problem in problems:
        override = _override_for(problem.path, applied, spans)
        if override is not None:
            path = "" if problem.path == override.path else f"{dotted(problem.path)}: "
            order = (1 << 30, applied.index(override))
            located.append((order, f"--set {override.text}: {path}{problem.message}"))
            continue
        line, column = _position(problem, spans)
        path = f"{dotted(problem.path)}: " if problem.path else ""
        located.append(((line, column), f"{source}:{line}:{column}: {path}{problem.message}"))
    return located


def _override_for(
    path: KeyPath, applied: Sequence[Applied], spans: dict[KeyPath, Span]
) -> Applied | None:
    for override in reversed(applied):
        inside = path[: len(override.path)] == override.path
        created = override.path[: len(path)] == path and path not in spans
        if inside or created:
            return override
    return None


def _position(problem: Problem, spans: dict[KeyPath, Span]) -> Mark:
    path, use_key = problem.path, problem.anchor != "value"
    if problem.anchor == "parent":
        path = path[:-1]
    while path not in spans:
        path, use_key = path[:-1], True
    span = spans[path]
    return span.key if use_key and span.key is not None else span.value


# --- from pydantic's loc to the user's key path ---------------------------------------------------


def _unwrap(type_: Any) -> Any:
    """The type without ``Annotated`` and without ``None`` in an optional."""
    while True:
        if get_origin(type_) is Annotated:
            type_ = get_args(type_)[0]
        elif get_origin(type_) in (Union, types.UnionType):
            arms = [arm for arm in get_args(type_) if arm is not type(None)]
            if len(arms) != 1:
                return type_
            type_ = arms[0]
        else:
            return type_


def _tags(arm: Any) -> set[str]:
    """What pydantic may put in a ``loc`` for this union arm: its Tag, name literal or class."""
    tags = {item.tag for item in get_args(arm)[1:] if isinstance(item, Tag)}
    inner = _unwrap(arm)
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        tags.add(inner.__name__)
        name = _name_literal(inner)
        if name is not None:
            tags.add(name)
    return tags


def _name_literal(model: type[BaseModel]) -> str | None:
    info = model.model_fields.get("name")
    if info is not None and get_origin(info.annotation) is Literal:
        return str(get_args(info.annotation)[0])
    return None


def _follow(model: type[BaseModel], loc: tuple[int | str, ...]) -> _Walk:
    walk, type_ = _Walk(), _unwrap(model)
    for element in loc:
        if get_origin(type_) in (Union, types.UnionType):
            arms = get_args(type_)
            chosen = [arm for arm in arms if element in _tags(arm)]
            if chosen:
                walk.arms, type_ = tuple(_unwrap(arm) for arm in arms), _unwrap(chosen[0])
                continue
        walk.path.append(element)
        if isinstance(type_, type) and issubclass(type_, BaseModel):
            walk.owner = type_
            info = type_.model_fields.get(str(element))
            type_ = _unwrap(info.annotation) if info is not None else None
        elif get_origin(type_) is list:
            type_ = _unwrap(get_args(type_)[0])
        else:
            type_ = None
    walk.type_ = type_
    return walk


# --- from pydantic's message to a plain one -------------------------------------------------------


def _translate(error: ErrorDetails, walk: _Walk) -> list[Problem]:
    kind, path = error["type"], tuple(walk.path)
    context, value = dict(error.get("ctx") or {}), error.get("input")
    if kind == PROBLEMS_ERROR:
        return [Problem((*path, *relative), message) for relative, message in context["problems"]]
    if kind == "missing":
        return [Problem(path, "missing required key", "parent")]
    if kind == "extra_forbidden":
        return [Problem(path, _unknown_key(path[-1], walk), "key")]
    if kind == "invalid_key":
        return [Problem(path, f"expected a text key, got {describe(path[-1])}", "key")]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return [_union_tag(kind, path, walk, value)]
    if kind == "literal_error":
        choices = [str(choice) for choice in get_args(walk.type_)] or re.findall(
            r"'([^']*)'", str(context.get("expected", ""))
        )
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        return [Problem(path, f"must be one of: {', '.join(choices)}, got {describe(value)}{hint}")]
    if kind in _MESSAGES:
        shown = {
            key: f"{item:g}" if isinstance(item, float) else item for key, item in context.items()
        }
        message = _MESSAGES[kind].format(**{**shown, "got": describe(value)})
        if kind == "string_type" and not isinstance(value, list | dict | None):
            message += "; put it in quotes to make it text"
        if kind == "string_pattern_mismatch" and path == ("name",):
            message = (
                "must start with a letter or digit and have only letters, digits, '.', '_' and "
                f"'-' (it begins run directory names), got {describe(value)}"
            )
        return [Problem(path, message)]
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind != "value_error":
        message = f"{message[:1].lower()}{message[1:]}, got {describe(value)}"
    return [Problem(path, message)]


def _unknown_key(key: Any, walk: _Walk) -> str:
    allowed = list(walk.owner.model_fields) if walk.owner is not None else []
    hint = did_you_mean(key, allowed)
    name = _name_literal(walk.owner) if walk.owner is not None else None
    if name is not None and walk.owner in walk.arms:
        joint = " " if hint else "; "
        message = f"unknown key for {name}{hint}{joint}{name} accepts: {', '.join(allowed)}"
        others = [
            _name_literal(arm)
            for arm in walk.arms
            if arm is not walk.owner and str(key) in getattr(arm, "model_fields", {})
        ]
        if others:
            message += f" ({key} is for {', '.join(str(other) for other in others)})"
        return message
    return unknown_key(key, allowed)


def _union_tag(kind: str, path: KeyPath, walk: _Walk, value: Any) -> Problem:
    arms = get_args(walk.type_) if get_origin(walk.type_) in (Union, types.UnionType) else ()
    choices = [name for arm in arms if (name := _name_literal(_unwrap(arm))) is not None]
    if kind == "union_tag_invalid":
        tag = value.get("name") if isinstance(value, dict) else value
        hint = did_you_mean(tag, choices) if isinstance(tag, str) else ""
        message = f"must be one of: {', '.join(choices)}, got {describe(tag)}{hint}"
        return Problem((*path, "name"), message)
    if isinstance(value, dict):
        return Problem(
            (*path, "name"), f"missing required key; one of: {', '.join(choices)}", "parent"
        )
    example = value if value in choices else (choices[0] if choices else "...")
    return Problem(path, f"expected a mapping such as {{name: {example}}}, got {describe(value)}")
