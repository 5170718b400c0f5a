"""The config modules import one way: no cycle among them, and `keys` imports none of them."""

from __future__ import annotations

import ast
from pathlib import Path

import nnctl.config

PACKAGE = Path(nnctl.config.__file__).parent


def _config_imports(path: Path) -> set[str]:
    """The `nnctl.config` modules a file imports anywhere (in functions, under TYPE_CHECKING)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "nnctl.config":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nnctl.config."):
            found.add(str(node.module).removeprefix("nnctl.config.").split(".")[0])
        elif isinstance(node, ast.Import):
            found |= {
                alias.name.removeprefix("nnctl.config.").split(".")[0]
                for alias in node.names
                if alias.name.startswith("nnctl.config.")
            }
    return found


GRAPH = {path.stem: _config_imports(path) for path in PACKAGE.glob("*.py")}


def _reaches(start: str, goal: str) -> bool:
    seen, todo = set(), list(GRAPH.get(start, ()))
    while todo:
        module = todo.pop()
        if module == goal:
            return True
        if module not in seen:
            seen.add(module)
            todo += GRAPH.get(module, ())
    return False


def test_the_graph_is_read() -> None:
    assert "keys" in GRAPH["loader"]


def test_no_config_module_imports_itself_back() -> None:
    assert [module for module in GRAPH if _reaches(module, module)] == []


def test_keys_is_a_leaf() -> None:
    assert GRAPH["keys"] == set()
