"""The layout's rules (DESIGN.md "Layout"), read from the code's own imports.

Every ``import`` and ``from ... import`` counts, wherever it is: at the top, inside a function,
under ``if TYPE_CHECKING:``. A cycle hidden in a function is still a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nnctl"
MAX_LINES = 400

#: Each part and the parts it may import (besides itself). Imports run one way, downwards:
#: errors, _platform < extras < nn < training < config < data < store < inspection < workflows
#: < export, serve, sweep < cli. ``extras`` imports an optional feature's library (matplotlib,
#: onnx, ...) or says which extra to install; the engine never needs one.
_BELOW_WORKFLOWS = {
    "errors",
    "_platform",
    "extras",
    "nn",
    "training",
    "config",
    "data",
    "store",
    "inspection",
}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "_platform": set(),
    "extras": {"errors"},
    "nn": {"_platform"},
    "training": {"errors", "_platform", "nn"},
    "config": {"errors", "nn", "training"},
    "data": {"errors", "_platform", "config", "training"},
    "store": {"errors", "_platform", "nn", "training", "config", "data"},
    "inspection": {"errors", "_platform", "extras", "nn", "training", "config", "data", "store"},
    "workflows": _BELOW_WORKFLOWS,
    "export": _BELOW_WORKFLOWS | {"workflows"},
    "serve": _BELOW_WORKFLOWS | {"workflows"},
    "sweep": _BELOW_WORKFLOWS | {"workflows"},
    "cli": _BELOW_WORKFLOWS | {"workflows", "export", "serve", "sweep"},
}
#: Modules directly under nnctl/ that are not a part of their own.
TOP = {"__init__", "__main__"}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    imported: str  # dotted name, resolved against the importer's package
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path) -> Iterator[Import]:
    """The names ``name`` imports: modules, or for ``from M import x`` the module ``M.x`` when
    there is one (``from nnctl.cli import render``), else ``M``."""
    known = modules()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                yield Import(name, sub if sub in known else module, node.lineno)


def internal_graph() -> dict[str, set[str]]:
    """Module -> the nnctl modules it imports (a name that is not a module counts as its module)."""
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for imp in imports_of(name, path):
            if imp.imported in known and imp.imported != name:
                graph[name].add(imp.imported)
    return graph


def part(module: str) -> str:
    """The part (top-level package or module under nnctl/) that ``module`` belongs to."""
    return module.split(".")[1] if module.count(".") else module


def external(module: str) -> str:
    return module.split(".")[0]


def test_the_parts_are_the_designs():
    found = {part(m) for m in modules() if m != "nnctl"} - TOP
    assert found <= set(ALLOWED), f"a part with no rule in ALLOWED: {sorted(found - set(ALLOWED))}"


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The cycles a depth-first walk of ``graph`` meets, each as a path that ends where it began."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_no_import_cycle():
    cycles = find_cycles(internal_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_each_part_imports_only_the_parts_below_it():
    wrong = []
    for name, path in modules().items():
        if name == "nnctl" or part(name) in TOP:
            continue
        for imp in imports_of(name, path):
            if not imp.imported.startswith("nnctl.") or imp.imported == "nnctl.__version__":
                continue
            target = part(imp.imported)
            if target != part(name) and target not in ALLOWED[part(name)] and target not in TOP:
                wrong.append(f"{name}:{imp.line} imports {imp.imported}")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_the_engine_imports_numpy_and_itself_only():
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    wrong = []
    for name, path in modules().items():
        if part(name) != "nn":
            continue
        for imp in imports_of(name, path):
            top = external(imp.imported)
            inside = imp.imported.startswith(("nnctl.nn", "nnctl._platform"))
            if not (inside or top in stdlib or top == "numpy"):
                wrong.append(f"{name}:{imp.line} imports {imp.imported}")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_data_knows_no_network():
    wrong = [
        f"{name}:{imp.line} imports {imp.imported}"
        for name, path in modules().items()
        if part(name) == "data"
        for imp in imports_of(name, path)
        if imp.imported.startswith("nnctl.nn")
    ]
    assert not wrong, "\n".join(wrong)


def test_only_cli_render_imports_rich():
    wrong = [
        f"{name}:{imp.line}"
        for name, path in modules().items()
        if not name.startswith("nnctl.cli.render")
        for imp in imports_of(name, path)
        if external(imp.imported) == "rich"
    ]
    assert not wrong, "Rich imported outside nnctl/cli/render/: " + ", ".join(wrong)


#: The core's heavy libraries, and every extra's: a command imports them when it runs.
HEAVY = ["numpy", "pandas", "pydantic", "rich", "yaml"]
EXTRA_LIBRARIES = ["matplotlib", "onnx", "onnxruntime", "starlette", "uvicorn", "optuna", "psycopg"]


@pytest.mark.parametrize("heavy", HEAVY + EXTRA_LIBRARIES)
def test_importing_the_cli_pulls_no_heavy_library(heavy: str):
    code = f"import sys, nnctl.cli; print({heavy!r} in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False", f"`import nnctl.cli` imports {heavy}"


def test_only_nnctl_extras_names_an_extra_at_the_top_of_a_module():
    """An extra's library is imported inside the function that needs it, never at a module's top,
    so that a module imported by another command does not need the extra."""
    wrong = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0):
                names = (
                    [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
                )
                if any(external(n or "") in EXTRA_LIBRARIES for n in names):
                    wrong.append(f"{name}:{node.lineno}")
    assert not wrong, "an extra's library imported at the top of a module: " + ", ".join(wrong)


def test_no_module_over_the_size_limit():
    long = {
        name: n
        for name, path in modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_tests_mirror_the_package():
    parts = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    tests = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir()}
    assert parts - {"inspection", "export", "serve", "sweep"} <= tests


def test_the_checker_sees_a_cycle_and_a_wrong_import(tmp_path: Path):
    """The rules can fail: a cycle is found, and an import inside a function is read."""
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import sibling\n"
        "def f():\n    from nnctl.workflows import train\n",
        encoding="utf-8",
    )
    found = {i.imported for i in imports_of("nnctl.nn.m", source)}
    assert {"nnctl.workflows.train", "nnctl.nn"} <= found  # `from . import sibling`: no such module
