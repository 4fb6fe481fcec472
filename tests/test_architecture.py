"""House rules, checked on the source: no import cycles, small modules, families apart, a runtime that names no kind."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

from conftest import ROOT

PACKAGES = {"runtime": "mcav.runtime", "nodes": "mcav.nodes"}
#: Modules of ``nodes/`` that every family may use: the vocabulary they share.
SHARED = {"mcav.nodes", "mcav.nodes.interfaces", "mcav.nodes.presets", "mcav.nodes.health", "mcav.nodes.entities",
          "mcav.nodes.statewire"}


def modules() -> dict[str, Path]:
    out = {}
    for folder, package in PACKAGES.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
            out[".".join([package, *parts])] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Modules of ours that ``name`` imports at run time (imports under ``if TYPE_CHECKING:`` excluded)."""
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            test = node.test
            if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
                for child in node.orelse:
                    self.visit(child)
                return
            self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            found.update(a.name for a in node.names)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)

    Visitor().visit(ast.parse(path.read_text()))
    return {m for m in found if m in known and m != name}


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    known = modules()
    g = nx.DiGraph()
    for name, path in known.items():
        g.add_node(name)
        g.add_edges_from((name, m) for m in imports(name, path, known))
    return g


def test_no_import_cycles(graph: nx.DiGraph) -> None:
    cycles = [c for c in nx.simple_cycles(graph) if len(c) > 1]
    assert cycles == [], f"import cycles: {cycles}"


def test_no_module_over_400_lines() -> None:
    long = {n: len(p.read_text().splitlines()) for n, p in modules().items()}
    assert {n: lines for n, lines in long.items() if lines > 400} == {}


def test_the_runtime_imports_no_node_code(graph: nx.DiGraph) -> None:
    bad = [(a, b) for a, b in graph.edges if a.startswith("mcav.runtime") and b.startswith("mcav.nodes")]
    assert bad == []


def family(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 3 or (len(parts) == 3 and module not in SHARED and parts[2] in _FAMILIES) else None


_FAMILIES = {p.name for p in (ROOT / "nodes").iterdir() if p.is_dir() and (p / "__init__.py").exists()}


def test_no_node_family_imports_another(graph: nx.DiGraph) -> None:
    bad = []
    for a, b in graph.edges:
        fa, fb = family(a), family(b)
        if a.startswith("mcav.nodes") and b.startswith("mcav.nodes") and fb is not None and fa != fb:
            bad.append((a, b))
    assert bad == [], "a node family imports another (use a control interface): " + repr(bad)


def test_the_runtime_looks_no_node_up_by_kind() -> None:
    """No ``x.kind == "pattern"`` (or ``kind in (…)``) in the runtime: it treats every kind alike."""
    found = []
    for path in (ROOT / "runtime").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            names_kind = any(isinstance(s, ast.Attribute) and s.attr == "kind" or isinstance(s, ast.Name) and s.id == "kind"
                             for s in sides)
            literal = any(isinstance(c, ast.Constant) and isinstance(c.value, str) for s in sides for c in ast.walk(s))
            if names_kind and literal:
                found.append(f"{path.name}:{node.lineno}")
    assert found == [], f"runtime code compares node kinds with names: {found}"
