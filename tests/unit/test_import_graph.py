"""The package's modules import each other without circles.

A circle (``session`` importing the features it set up, each importing ``session`` back) makes
every module of it load with all the others and their order matter; the features and outputs
now come in through the hook and share ``run.py`` instead. Imports under ``TYPE_CHECKING``
never run and do not count; importing ``a.b.c`` loads the packages ``a.b`` on the way.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pytest_atom_gates"


def _module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        names[name] = path
    return names


class _Imports(ast.NodeVisitor):
    def __init__(self, known: Mapping[str, Path]) -> None:
        self.known = known
        self.found: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if getattr(test, "id", None) == "TYPE_CHECKING" or getattr(test, "attr", None) == (
            "TYPE_CHECKING"
        ):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and node.level == 0:
            self._add(node.module)
            for alias in node.names:
                self._add(f"{node.module}.{alias.name}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name)

    def _add(self, name: str) -> None:
        parts = name.split(".")
        for end in range(1, len(parts) + 1):  # the packages on the way load too
            prefix = ".".join(parts[:end])
            if prefix in self.known:
                self.found.add(prefix)


def import_graph() -> dict[str, set[str]]:
    known = _module_names()
    graph = {}
    for name, path in known.items():
        visitor = _Imports(known)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        # A module's own packages are loaded before it: no edge back to them.
        graph[name] = {m for m in visitor.found if m != name and not name.startswith(f"{m}.")}
    return graph


def circles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_module_of_the_package_imports_itself_in_a_circle() -> None:
    assert circles(import_graph()) == []


def test_the_circle_finder_finds_one() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]


def test_the_session_imports_no_feature_and_no_output() -> None:
    imported = import_graph()["pytest_atom_gates.session"]
    features = {
        "pytest_atom_gates.determinism",
        "pytest_atom_gates.cov.feature",
        "pytest_atom_gates.extension",
    }
    assert imported & features == {"pytest_atom_gates.extension"}  # the registry, not a feature
