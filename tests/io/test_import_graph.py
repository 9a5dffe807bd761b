"""pixxel_geo.io is a straight line: no module imports another in a circle (at module level or
inside functions), and nothing dispatches on a type's name."""

from __future__ import annotations

import ast
from pathlib import Path

IO = Path(__file__).resolve().parents[2] / "pixxel_geo" / "io"


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in IO.glob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            found.update(n.split(".")[2] for n in names if n.startswith("pixxel_geo.io.") and n.count(".") >= 2)
        found.discard(path.stem)
        graph[path.stem] = {n for n in found if (IO / f"{n}.py").exists()}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_graph_is_read() -> None:
    graph = _imports()
    assert "resolve" in graph["filesystem"] and "session" in graph["reader"]


def test_no_module_of_io_imports_another_in_a_circle() -> None:
    assert _cycle(_imports()) is None


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_dispatch_on_a_type_name() -> None:
    offenders = []
    for path in IO.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                if any(isinstance(s, ast.Attribute) and s.attr == "__name__" for s in sides):
                    offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
