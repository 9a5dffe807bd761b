"""The built zip: what it holds, and that QGIS loads and unloads it from a fresh profile."""

from __future__ import annotations

import ast
import sys
import zipfile
from pathlib import Path
from typing import Any

from qgis.core import QgsApplication

PLUGIN = "pixxel_plugin"
VENDORED = ("httpx", "httpcore", "h11", "idna", "certifi", "pixxel_geo")


def test_zip_is_small_pure_python_and_described(plugin_zip: Path) -> None:
    with zipfile.ZipFile(plugin_zip) as zf:
        names = zf.namelist()
        metadata = zf.read(f"{PLUGIN}/metadata.txt").decode()
        sources = {n: zf.read(n).decode() for n in names if n.endswith(".py")}
    assert plugin_zip.stat().st_size < 2_000_000
    assert all(n.startswith(f"{PLUGIN}/") for n in names)
    assert not [n for n in names if n.endswith((".so", ".pyd", ".dll", ".dylib", ".pyc", ".exe"))]
    assert "qgisMinimumVersion=3.22" in metadata
    icon = next(line.split("=", 1)[1] for line in metadata.splitlines() if line.startswith("icon="))
    assert f"{PLUGIN}/{icon}" in names
    for package in VENDORED:
        assert f"{PLUGIN}/_vendor/{package}/__init__.py" in names
    # The core's local range server ships with its reader and zip index only, without pixxel_geo/io's
    # heavy __init__ and modules.
    io_files = sorted(n for n in names if n.startswith(f"{PLUGIN}/_vendor/pixxel_geo/io/"))
    wanted = (
        "__init__.py", "calibration.py", "envi.py", "localserver.py", "lru.py", "members.py", "reader.py", "session.py",
        "vrt.py", "zipindex.py",
    )  # fmt: skip
    assert io_files == [f"{PLUGIN}/_vendor/pixxel_geo/io/{n}" for n in wanted]
    # The ranged-HTTP toolkit the reader and the transfer engine share ships whole; it needs httpx only.
    ranged_files = sorted(n for n in names if n.startswith(f"{PLUGIN}/_vendor/pixxel_geo/ranged/"))
    modules = ("__init__.py", "content_range.py", "digest.py", "renewable.py", "resign.py", "retrying.py")
    assert ranged_files == [f"{PLUGIN}/_vendor/pixxel_geo/ranged/{n}" for n in modules]
    for name in [*io_files, *ranged_files]:  # at module level, the vendored core imports only what was shipped
        for node in ast.parse(sources[name]).body:
            if (
                isinstance(node, ast.ImportFrom)
                and node.level
                and node.module
                and node.module.startswith("pixxel_geo.")
            ):
                target = node.module.removeprefix("pixxel_geo.").replace(".", "/")
                assert f"{PLUGIN}/_vendor/pixxel_geo/{target}.py" in names or (
                    f"{PLUGIN}/_vendor/pixxel_geo/{target}/__init__.py" in names
                ), (name, node.module)
    heavy = ("numpy", "rasterio", "xarray", "geopandas", "pyogrio", "fsspec")
    for name in io_files:  # nothing heavy imported at module level (rasterio only inside functions)
        for node in ast.parse(sources[name]).body:
            if isinstance(node, ast.Import):
                assert not [a.name for a in node.names if a.name.split(".")[0] in heavy], name
            elif isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] not in heavy, (name, node.module)
                if node.level and node.module.startswith("pixxel_geo.io."):  # a vendored sibling, shipped
                    sibling = node.module.removeprefix("pixxel_geo.io.")
                    assert f"{PLUGIN}/_vendor/pixxel_geo/io/{sibling}.py" in names, (name, node.module)
    assert not [n for n in names if "/tests/" in n or n.endswith("_main.py")]
    # Nothing imports a vendored package by its global name: it could shadow (or be shadowed by) others.
    for name, text in sources.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                assert not [a.name for a in node.names if a.name.split(".")[0] in VENDORED], name
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                assert node.module.split(".")[0] not in VENDORED, (name, node.module)


def test_loads_and_unloads_from_a_fresh_profile(qgis_iface: Any, plugins_path: Path, auth_ready: None) -> None:
    import qgis.utils

    assert (plugins_path / PLUGIN / "metadata.txt").is_file()
    assert PLUGIN in qgis.utils.available_plugins
    assert qgis.utils.pluginMetadata(PLUGIN, "qgisMinimumVersion") == "3.22"
    path_before = list(sys.path)
    assert qgis.utils.loadPlugin(PLUGIN)
    assert qgis.utils.startPlugin(PLUGIN)
    try:
        instance = qgis.utils.plugins[PLUGIN]
        assert Path(sys.modules[PLUGIN].__file__).parent == plugins_path / PLUGIN
        assert instance.dock is not None and instance.action is not None
        assert instance.action.text() == "Pixxel imagery"
        assert not instance.action.icon().isNull()
        # The vendored client is importable only under the plugin's namespace.
        assert f"{PLUGIN}._vendor.httpx" in sys.modules
        assert "httpx" not in sys.modules and "pixxel_geo" not in sys.modules
        assert sys.path == path_before
    finally:
        assert qgis.utils.unloadPlugin(PLUGIN)
    assert PLUGIN not in qgis.utils.plugins and PLUGIN not in qgis.utils.active_plugins
    assert not [m for m in sys.modules if m == PLUGIN or m.startswith(f"{PLUGIN}.")]
    assert QgsApplication.taskManager().countActiveTasks() == 0
