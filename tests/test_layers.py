"""The layers' one-way dependencies (docs/ARCHITECTURE.md), checked on the source, with no exceptions.

Every ``import`` in ``pixxel_geo/`` counts, at module level or inside a function (a lazy import
is a dependency all the same), except those under ``if TYPE_CHECKING:``, which never run.

Layers, bottom to top (a package imports only packages below it, and itself):

1. ``api``: the core (httpx and the standard library);
2. ``ranged``: the ranged-HTTP toolkit;
3. ``io`` and ``transfer``: siblings, neither imports the other;
4. the front ends: ``cli``, ``widgets``, ``pixxel_geo/__init__.py`` and ``demo.py``.

``sandbox`` stands apart and imports nothing from the client side. ``pixxel_geo._version`` and
``pixxel_geo._extras`` are for everyone. A package imports only public modules of another one,
and no package has an import cycle inside it.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pixxel_geo"

LAYERS = {
    "_version": 0,
    "api": 1,
    "_extras": 1.5,  # raises the core's MissingDependencyError; what is above the core may use it
    "ranged": 2,
    "io": 3,
    "transfer": 3,
    "cli": 4,
    "widgets": 4,
    "": 4,
    "demo": 4,
}
"""Each part's layer; ``""`` is ``pixxel_geo/__init__.py``."""
SHARED = {"pixxel_geo._version", "pixxel_geo._extras"}
FRONT_ENDS = {"cli", "widgets", "", "demo"}
HEAVY = (
    "numpy", "rasterio", "xarray", "rioxarray", "geopandas", "fsspec", "dask", "ipywidgets", "ipyleaflet",
    "tqdm", "qgis", "PyQt5", "PyQt6",
)  # fmt: skip


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (packages by their ``__init__.py``)."""
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def part(module: str) -> str:
    """The part a module belongs to: ``api``, ``io``, ..., ``demo``, or ``""`` for the package root."""
    rest = module.split(".")[1:]
    return rest[0] if rest else ""


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements of ``tree`` that can run: anywhere, but not under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


@functools.cache
def imports(module: str) -> frozenset[tuple[str, int]]:
    """``(imported module, line)`` for every import of ``module`` that can run.

    ``from a.b import c`` imports the module ``a.b.c`` when there is one, else (a name) ``a.b``.
    """
    path = modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[tuple[str, int]] = set()
    for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update((alias.name, node.lineno) for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            child = f"{base}.{alias.name}"
            found.add((child if child in modules() else base, node.lineno))
    return frozenset(found)


def internal_imports() -> Iterator[tuple[str, str, int]]:
    """``(importer, imported, line)`` for every import of a pixxel_geo module by a pixxel_geo module."""
    for module in modules():
        for imported, line in sorted(imports(module)):
            if imported == "pixxel_geo" or imported.startswith("pixxel_geo."):
                yield module, imported, line


def where(module: str, line: int) -> str:
    return f"{modules()[module].relative_to(ROOT)}:{line}"


def violations(broken: Callable[[str, str], bool]) -> list[str]:
    """``file:line imports module`` for each internal import for which ``broken(importer, imported)``."""
    return [
        f"{where(importer, line)} imports {imported}"
        for importer, imported, line in internal_imports()
        if broken(importer, imported)
    ]


def _upward(importer: str, imported: str) -> bool:
    mine, theirs = part(importer), part(imported)
    if mine == "sandbox" or theirs == mine:
        return False  # the sandbox has its own test
    if mine in FRONT_ENDS and theirs in {"", "demo", "sandbox"}:
        return False  # a front end may use the package root, run the demo and launch the sandbox
    return theirs not in LAYERS or LAYERS[theirs] >= LAYERS[mine]


def test_layers_import_only_downwards() -> None:
    found = violations(_upward)
    assert not found, "imports that do not point down the layers:\n" + "\n".join(found)


def test_no_package_imports_the_package_root_from_below() -> None:
    found = violations(lambda importer, imported: imported == "pixxel_geo" and part(importer) not in FRONT_ENDS)
    assert not found, "imports of the package root from below the front ends:\n" + "\n".join(found)


def _private_elsewhere(importer: str, imported: str) -> bool:
    private = any(piece.startswith("_") for piece in imported.split(".")[2:])
    return private and imported not in SHARED and part(imported) != part(importer)


def test_no_import_of_another_packages_private_module() -> None:
    found = violations(_private_elsewhere)
    assert not found, "imports of another package's private module:\n" + "\n".join(found)


def test_sandbox_imports_nothing_from_the_client_side() -> None:
    found = violations(
        lambda importer, imported: (
            part(importer) == "sandbox" and part(imported) != "sandbox" and imported not in SHARED
        )
    )
    assert not found, "\n".join(found)


def test_the_checks_catch_what_they_forbid() -> None:
    """Each rule, on imports it must refuse (the old ``Client.download`` import among them)."""
    assert _upward("pixxel_geo.api.client", "pixxel_geo.transfer.products")
    assert _upward("pixxel_geo.io.resolve", "pixxel_geo")
    assert _upward("pixxel_geo.io.stores", "pixxel_geo.transfer.engine")  # siblings
    assert _upward("pixxel_geo.cli.commands", "pixxel_geo.widgets.panel")
    assert not _upward("pixxel_geo.transfer.client", "pixxel_geo.api.client")
    assert not _upward("pixxel_geo.cli.commands", "pixxel_geo")
    assert _private_elsewhere("pixxel_geo.io.reader", "pixxel_geo.api._base")
    assert not _private_elsewhere("pixxel_geo.widgets.panel", "pixxel_geo.widgets._background")
    assert not _private_elsewhere("pixxel_geo.io.reader", "pixxel_geo._extras")


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """Each strongly connected part of ``graph`` that has a cycle (Tarjan), named by one shortest
    cycle (``a -> b -> a``) and then every import that ties a module into the part."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                ties = [f"\n    {m} imports {', '.join(sorted(graph[m] & component))}" for m in sorted(component)]
                found.append(" -> ".join(_cycle_through(node, component, graph)) + "".join(ties))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _cycle_through(start: str, component: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest path from ``start`` back to itself inside ``component`` (breadth first)."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph.get(node, ()) & component):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError("a strongly connected component always has a cycle")  # pragma: no cover


def test_cycles_are_found_and_named() -> None:
    graph = {"a": {"b"}, "b": {"c", "a"}, "c": {"a"}, "d": {"d"}, "e": {"a"}}
    assert sorted(c.splitlines()[0] for c in cycles(graph)) == ["a -> b -> a", "d -> d"]
    assert "    b imports a, c" in cycles(graph)[0].splitlines()
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("package", sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()))
def test_no_import_cycle_inside_a_package(package: str) -> None:
    graph: dict[str, set[str]] = {}
    for importer, imported, _ in internal_imports():
        if part(importer) == package and part(imported) == package and importer != imported:
            graph.setdefault(importer, set()).add(imported)
    found = cycles(graph)
    assert not found, f"import cycles in pixxel_geo.{package}:\n" + "\n".join(found)


def heavy_imports(*parts: str) -> list[str]:
    return [
        f"{where(module, line)} imports {imported}"
        for module in modules()
        if part(module) in parts
        for imported, line in sorted(imports(module))
        if imported.split(".")[0] in HEAVY
    ]


def test_core_and_ranged_http_import_no_heavy_package() -> None:
    assert not heavy_imports("api", "ranged")


def test_imagery_layers_know_no_front_end() -> None:
    front = ("tqdm", "ipywidgets", "ipyleaflet", "qgis", "PyQt5", "PyQt6")
    found = [
        f"{where(module, line)} imports {imported}"
        for module in modules()
        if part(module) in ("io", "transfer", "ranged")
        for imported, line in sorted(imports(module))
        if imported.split(".")[0] in front
    ]
    assert not found, "\n".join(found)


def test_lazy_imports_count_and_type_checking_ones_do_not() -> None:
    tree = ast.parse(
        "import a\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import b\nelse:\n    import c\n"
        "def f():\n    from d import e\n"
        "class K:\n    def m(self):\n        import g\n"
    )
    names = sorted(alias.name if isinstance(n, ast.Import) else n.module for n in _runtime_imports(tree)
                   for alias in n.names)  # fmt: skip
    assert names == ["a", "c", "d", "g", "typing"]
