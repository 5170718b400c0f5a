"""Safe YAML with positions: where each key and value of a config file is, and duplicate keys.

PyYAML's ``SafeLoader`` builds plain data (no object tags); `parse` also walks the composed node
tree to record the line and column of every key and value by key path, and reports duplicate
keys, which PyYAML silently accepts (the last one wins).
"""

from __future__ import annotations

import errno
import os
import re
import select
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml import tokens
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from nnctl.config.keys import KeyPath, dotted
from nnctl.errors import ConfigError

Mark = tuple[int, int]
"""A 1-based (line, column)."""

MERGE_TAG = "tag:yaml.org,2002:merge"
MAX_DEPTH = 50
"""How deep lists and mappings may nest: far more than a config needs, far less than recursion."""
OPENING = (
    tokens.BlockMappingStartToken,
    tokens.BlockSequenceStartToken,
    tokens.FlowMappingStartToken,
    tokens.FlowSequenceStartToken,
)
CLOSING = (tokens.BlockEndToken, tokens.FlowMappingEndToken, tokens.FlowSequenceEndToken)


class Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-3`` as a float, as YAML 1.2 and every user expects."""


Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


@dataclass(frozen=True)
class Span:
    """Where a value is, and for a mapping entry where its key is."""

    key: Mark | None
    value: Mark


@dataclass
class Document:
    """Parsed YAML: the data, the position of every key path, and duplicate-key problems."""

    data: Any
    spans: dict[KeyPath, Span] = field(default_factory=dict)
    duplicates: list[tuple[Mark, str]] = field(default_factory=list)
    """``((line, column), "key.path: duplicate key; ...")`` for each repeated key."""


MAX_CONFIG_BYTES = 1 << 20
"""A config larger than this (1 MiB) is refused: configs are a few hundred bytes."""
PIPE_WAIT_SECONDS = 5.0
"""How long a config from a FIFO or pipe may keep nnctl waiting for its next bytes."""


def read_text(path: Path, shown: str) -> str:
    """The text of a config file, or a `ConfigError` saying why it cannot be read.

    A regular file is read up to `MAX_CONFIG_BYTES` (a larger one is refused). A FIFO, a pipe
    (``nnctl validate <(sed ... c.yaml)``) or a device is opened without blocking and read as its
    bytes come, at most `MAX_CONFIG_BYTES`, waiting at most `PIPE_WAIT_SECONDS` for each: a FIFO
    with no writer, or one that stops writing, is an error, never a hang.
    """
    try:
        raw = _read_capped(path, shown)
    except FileNotFoundError:
        raise ConfigError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{shown}: is a directory, expected a YAML config file") from None
    except PermissionError:
        raise ConfigError(
            f"{shown}: permission denied: cannot read the config file",
            hint=f"check the file's permissions (ls -l {shown})",
        ) from None
    except OSError as error:
        raise ConfigError(f"{shown}: cannot read: {error.strerror or error}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{shown}: larger than {MAX_CONFIG_BYTES >> 20} MiB; expected a YAML config file "
            "(a config is a few hundred bytes)"
        )
    if b"\x00" in raw:
        raise ConfigError(f"{shown}: a binary file, expected a YAML config file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{shown}: not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start}); "
            "expected a YAML config file"
        ) from None


def _read_capped(path: Path, shown: str) -> bytes:
    """At most ``MAX_CONFIG_BYTES + 1`` bytes of ``path``; a pipe read without blocking."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opens at once, writer or not
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.set_blocking(fd, True)
            with os.fdopen(os.dup(fd), "rb") as handle:
                return handle.read(MAX_CONFIG_BYTES + 1)
        return _read_pipe(fd, shown)
    finally:
        os.close(fd)


def _read_pipe(fd: int, shown: str) -> bytes:
    """A FIFO's or device's bytes until its end, waiting at most `PIPE_WAIT_SECONDS` for each."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    data = b""
    while len(data) <= MAX_CONFIG_BYTES:
        if not poller.poll(PIPE_WAIT_SECONDS * 1000):
            waited = "no data" if not data else f"no more data after {len(data)} bytes"
            raise ConfigError(
                f"{shown}: {waited} in {PIPE_WAIT_SECONDS:g} s from this FIFO or pipe; "
                "is anything writing to it?"
            )
        try:
            block = os.read(fd, 1 << 16)
        except BlockingIOError:
            continue
        if not block:
            return data
        data += block
    return data


def parse(text: str, source: str) -> Document:
    """Parse one YAML document with positions; a syntax error is a `ConfigError`."""
    loader: Loader | None = None
    try:
        _check_depth(text, source)
        loader = Loader(text)
        node = loader.get_single_node()
        if node is None:
            return Document(None)
        document = Document(None)
        _walk(loader, node, (), None, document, set())
        document.data = loader.construct_document(node)
        return document
    except yaml.MarkedYAMLError as error:
        raise ConfigError(_syntax_message(error, source)) from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        raise ConfigError(
            f"{source}:{line}:{column}: invalid YAML: control character "
            f"{_codepoint(error.character)} is not allowed"
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


def _check_depth(text: str, source: str) -> None:
    """Refuse lists and mappings nested over `MAX_DEPTH` deep before PyYAML composes them.

    PyYAML's composer and constructor recurse once per level, so ``[[[[...]]]]`` a few thousand
    deep would end in a `RecursionError`; a config nests a handful of levels. Scanning tokens is
    not recursive.
    """
    scanner = Loader(text)
    depth = 0
    try:
        while (token := scanner.get_token()) is not None:  # type: ignore[no-untyped-call]
            if isinstance(token, OPENING):
                depth += 1
                if depth > MAX_DEPTH:
                    line, column = token.start_mark.line + 1, token.start_mark.column + 1
                    raise ConfigError(
                        f"{source}:{line}:{column}: invalid YAML: lists and mappings nested "
                        f"more than {MAX_DEPTH} levels deep"
                    )
            elif isinstance(token, CLOSING):
                depth -= 1
    finally:
        scanner.dispose()


def parse_value(text: str) -> Any:
    """A ``--set`` value parsed as YAML; raises `ValueError` with the reason if it is not YAML."""
    try:
        return parse(text, "").data
    except ConfigError as error:
        raise ValueError(re.sub(r"^:\d+:\d+: (invalid YAML: )?", "", error.message)) from None


def dump(data: Any) -> str:
    """Plain block-style YAML, keys in the given order."""
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False))


def describe(value: Any) -> str:
    """A value as a message shows it: ``'abc'``, ``3``, ``true``, ``null``, ``a list``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return repr(shown)
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _mark(node: Node) -> Mark:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _walk(
    loader: Loader,
    node: Node,
    path: KeyPath,
    key_mark: Mark | None,
    document: Document,
    visited: set[int],
) -> None:
    """Record the span of ``node`` at ``path`` and of everything in it, each node once."""
    document.spans[path] = Span(key_mark, _mark(node))
    if id(node) in visited or isinstance(node, ScalarNode):
        return
    visited.add(id(node))
    if isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _walk(loader, item, (*path, index), None, document, visited)
    elif isinstance(node, MappingNode):
        _walk_mapping(loader, node, path, document, visited)


def _walk_mapping(
    loader: Loader, node: MappingNode, path: KeyPath, document: Document, visited: set[int]
) -> None:
    seen: dict[Any, Mark] = {}
    merged: list[Node] = []
    for key_node, value_node in node.value:
        if key_node.tag == MERGE_TAG:
            merged += value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            continue
        key = _key(loader, key_node)
        if key is None:
            continue
        if key in seen:
            first = seen[key][0]
            message = f"duplicate key; '{key}' is also given at line {first}"
            document.duplicates.append((_mark(key_node), f"{dotted((*path, key))}: {message}"))
        seen.setdefault(key, _mark(key_node))
        _walk(loader, value_node, (*path, key), _mark(key_node), document, visited)
    for mapping in merged:  # `<<: *defaults`: keys given here win over merged ones
        if isinstance(mapping, MappingNode):
            for key_node, value_node in mapping.value:
                key = _key(loader, key_node)
                if key is not None and key not in seen:
                    document.spans.setdefault(
                        (*path, key), Span(_mark(key_node), _mark(value_node))
                    )


def _key(loader: Loader, node: Node) -> Any:
    """A mapping key as Python sees it, or None when it is not a plain hashable scalar."""
    if not isinstance(node, ScalarNode) or node.tag == MERGE_TAG:
        return None
    key = loader.construct_object(node)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _syntax_message(error: yaml.MarkedYAMLError, source: str) -> str:
    mark = error.problem_mark or error.context_mark
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
    problem = error.problem or "invalid YAML"
    if "'\\t'" in problem:
        return f"{where}: invalid YAML: a tab character; indent YAML with spaces, not tabs"
    tag = re.search(r"constructor for the tag '([^']*)'", problem)
    if tag:
        shown = tag.group(1).replace("tag:yaml.org,2002:", "!!")
        return f"{where}: unsupported YAML tag '{shown}': nnctl reads plain YAML data only"
    if "expected a single document" in (error.context or ""):
        return f"{where}: invalid YAML: a second document ('---'); a config is one document"
    if error.context and error.context_mark is not None and error.problem_mark is not None:
        problem += f" ({error.context} at line {error.context_mark.line + 1})"
    return f"{where}: invalid YAML: {problem}"


def _codepoint(character: str | int) -> str:
    code = character if isinstance(character, int) else ord(character)
    return f"0x{code:02x}"
