"""The layers' one-way dependencies (docs/ARCHITECTURE.md), checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pixxel_geo"


def imported_modules(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(PACKAGE))] = names
    return found


def offenders(folder: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    result = {}
    for path, names in imported_modules(PACKAGE / folder).items():
        bad = sorted(n for n in names if n.startswith(forbidden))
        if bad:
            result[path] = bad
    return result


def test_core_imports_no_heavy_package_and_no_upper_layer():
    forbidden = (
        "numpy", "rasterio", "xarray", "rioxarray", "geopandas", "fsspec", "dask", "ipywidgets",
        "ipyleaflet", "tqdm", "qgis", "PyQt5", "pixxel_geo.io", "pixxel_geo.transfer", "pixxel_geo.cli",
        "pixxel_geo.widgets", "pixxel_geo.sandbox",
    )  # fmt: skip
    allowed_lazy = {"api/client.py": {"pixxel_geo.transfer.products"}}  # Client.download imports on use
    found = {
        path: [n for n in names if n not in allowed_lazy.get(path, set())]
        for path, names in offenders("api", forbidden).items()
    }
    assert not {p: n for p, n in found.items() if n}


def test_sandbox_imports_nothing_from_the_client_side():
    forbidden = ("pixxel_geo.api", "pixxel_geo.io", "pixxel_geo.transfer", "pixxel_geo.cli", "pixxel_geo.widgets")
    assert not offenders("sandbox", forbidden)


def test_imagery_layers_know_no_front_end():
    forbidden = ("tqdm", "ipywidgets", "ipyleaflet", "qgis", "PyQt5", "pixxel_geo.cli", "pixxel_geo.widgets")
    assert not offenders("io", forbidden)
    assert not offenders("transfer", forbidden)
