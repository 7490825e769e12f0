"""The import graph of Bongsu's own modules has no cycle, counting every import: module-level,
deferred (inside functions), dynamic (`importlib.import_module`/`__import__` of a literal name) and
plugins found by entry point. Built with grimp, import-linter's engine."""

from __future__ import annotations

import ast
import importlib.util
import tomllib
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("bongsu", "instrumentation", "alert_rules", "dashboards", "notifier", "chaos", "examples")


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports, by any of the means above."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)  # includes imports inside functions
    edges = {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    plugins = {value.split(":")[0] for group in tomllib.loads((REPO / "pyproject.toml").read_text())
               ["project"].get("entry-points", {}).values() for value in group.values()}
    for module in edges:
        spec = importlib.util.find_spec(module)
        assert spec and spec.origin, module
        source = Path(spec.origin).read_text()
        if "import_module" in source or "__import__" in source:
            # A module importing by name is taken to import every project module it names in a literal.
            edges[module] |= {node.value for node in ast.walk(ast.parse(source))
                              if isinstance(node, ast.Constant) and node.value in edges and node.value != module}
        if "entry_points(" in source:
            edges[module] |= plugins & set(edges)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_project_import_graph_has_no_cycle() -> None:
    edges = import_graph()
    assert "bongsu.build" in edges["bongsu.cli"]
    found = cycles(edges)
    assert not found, "import cycles (each line one loop):\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_cycle_finder_sees_deferred_and_dynamic_imports() -> None:
    """The graph counts what grimp alone would miss, so a loop closed that way is still found."""
    edges = import_graph()
    assert "alert_rules.build" in edges["bongsu.build"]  # deferred, inside generators()
    assert "notifier.cli" in edges["bongsu.cli"]  # importlib.import_module("notifier.cli")
    assert "dashboards.graphs" in edges["bongsu.graphs"]  # the bongsu.graphs entry point
    looped = {**edges, "bongsu.generator": edges["bongsu.generator"] | {"bongsu.build"}}
    assert any({"bongsu.build", "bongsu.generator"} <= set(c) for c in cycles(looped))
