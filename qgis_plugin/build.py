"""Build the QGIS plugin zip: ``python qgis_plugin/build.py [--out dist/]``.

The plugin needs the pure-Python core client (``pixxel_geo.api``), the ranged-HTTP
toolkit (``pixxel_geo.ranged``: re-signing, retries, Content-Range and digest parsing), the
transfer engine (``pixxel_geo.transfer``), the core's local range server with its range
reader and zip index (``pixxel_geo/io/localserver.py``, ``reader.py``, ``zipindex.py``:
standard library and httpx only at module level) and httpx with its pure-Python dependencies.
They ship inside the zip under ``pixxel_plugin/_vendor/``, with every import of a vendored package rewritten to
a relative import (``import httpx`` becomes ``from .. import httpx``), so
nothing is added to ``sys.path`` and nothing can shadow another plugin's
packages. An AST check refuses the build if any absolute import of a vendored
package is left.

``--develop`` writes ``_vendor/`` into the source folder as well, so the plugin
can be symlinked into a QGIS profile while developing.

Example:
    $ python qgis_plugin/build.py --out dist/
    dist/pixxel_plugin-0.1.0.zip
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PLUGIN_NAME = "pixxel_plugin"
PLUGIN_SOURCE = HERE / PLUGIN_NAME
DEFAULT_SITE_PACKAGES = REPO / ".venv" / "lib" / "python3.11" / "site-packages"

# Top-level packages copied from site-packages. anyio/sniffio are left out on
# purpose: the plugin only uses the sync client, and httpcore imports anyio
# lazily (optional) for its async backends only.
THIRD_PARTY = ("httpx", "httpcore", "h11", "idna", "certifi")
VENDORED = (*THIRD_PARTY, "pixxel_geo")

# Single modules of the core shipped besides pixxel_geo/api (each must import nothing heavy at
# module level); their package gets a docstring-only __init__.py, not the real (heavy) one.
CORE_MODULES = (
    "io/localserver.py",
    "io/reader.py",
    "io/zipindex.py",
    # the range reader's pools and caches belong to a session (standard library and httpx)
    "io/session.py",
    "io/lru.py",
    # the calibrated VRT the local server makes beside each image (pure Python)
    "io/calibration.py",
    "io/envi.py",
    "io/members.py",
    "io/vrt.py",
)
CORE_PACKAGE_INIT = '"""Part of pixxel_geo vendored into the QGIS plugin by qgis_plugin/build.py (do not edit)."""\n'

# Files never shipped: CLIs that import click/rich, test suites, caches.
SKIP_FILES = {("httpx", "_main.py"), ("idna", "cli.py"), ("certifi", "__main__.py"), ("idna", "__main__.py")}
SKIP_DIRS = {"__pycache__", "tests"}

PIXXEL_GEO_SHIM = '''"""The pixxel_geo core client, vendored into the QGIS plugin by qgis_plugin/build.py.

Only ``pixxel_geo.api`` and ``pixxel_geo.ranged`` (httpx only), ``pixxel_geo.transfer`` and
``pixxel_geo.io``'s local range server, range reader and zip index (standard library and httpx)
ship here: no numpy, rasterio or geopandas.
"""

from ._version import __version__
from .api import *  # noqa: F403
from .api.errors import *  # noqa: F403
from .api.events import *  # noqa: F403
'''

_NAMES = "|".join(VENDORED)
_FROM = re.compile(rf"^(?P<indent>\s*)from (?P<pkg>{_NAMES})(?P<rest>(\.[\w.]+)?\s+import\b)", re.M)
_IMPORT = re.compile(rf"^(?P<indent>\s*)import (?P<pkg>{_NAMES})(?P<alias>\s+as\s+\w+)?\s*(?P<comment>#.*)?$", re.M)


class BuildError(RuntimeError):
    """The plugin could not be built (a missing source, an import left unrewritten)."""


def plugin_version() -> str:
    """The plugin's version: the one of pixxel_geo (``pixxel_geo/_version.py``)."""
    text = (REPO / "pixxel_geo" / "_version.py").read_text(encoding="utf-8")
    match = re.search(r'__version__\s*=\s*"([^"]+)"', text)
    if not match:
        raise BuildError('pixxel_geo/_version.py has no __version__ = "..." line.')
    return match.group(1)


def rewrite_imports(source: str, depth: int) -> str:
    """Turn absolute imports of vendored packages into relative ones.

    Args:
        source: a module's text.
        depth: how many packages the module's package lies below ``_vendor``
            (1 for ``httpx/_urls.py`` and ``httpx/__init__.py``).

    Returns:
        The rewritten text.

    Example:
        >>> rewrite_imports("import idna\\nfrom httpx._urls import URL\\n", 1)
        'from .. import idna\\nfrom ..httpx._urls import URL\\n'
    """
    dots = "." * (depth + 1)
    source = _FROM.sub(lambda m: f"{m['indent']}from {dots}{m['pkg']}{m['rest']}", source)

    def plain(m: re.Match[str]) -> str:
        alias = m["alias"] or ""
        comment = f"  {m['comment']}" if m["comment"] else ""
        return f"{m['indent']}from {dots} import {m['pkg']}{alias}{comment}"

    return _IMPORT.sub(plain, source)


def leftover_imports(source: str) -> list[str]:
    """Absolute imports of vendored packages still in ``source`` (must be none)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in VENDORED]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module
            and node.module.split(".")[0] in VENDORED
        ):
            found.append(node.module)
    return found


def _copy_tree(src: Path, dest: Path, top: str) -> None:
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if any(part in SKIP_DIRS for part in rel.parts) or (top, str(rel)) in SKIP_FILES:
            continue
        if path.is_dir() or path.suffix in (".pyc", ".pyo", ".so", ".pyd"):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def _licenses(site_packages: Path, name: str, dest: Path) -> None:
    for info in site_packages.glob(f"{name}-*.dist-info"):
        for lic in [*info.glob("licenses/*"), *info.glob("LICENSE*")]:
            if lic.is_file():
                shutil.copy2(lic, dest / f"{name}-{lic.name}")


def vendor(target: Path, site_packages: Path = DEFAULT_SITE_PACKAGES) -> Path:
    """Write ``_vendor/`` (the core client and httpx) into the plugin folder ``target``.

    Args:
        target: a plugin folder (holding ``__init__.py`` and ``metadata.txt``).
        site_packages: where httpx and its dependencies are installed.

    Returns:
        The ``_vendor`` folder.

    Raises:
        BuildError: a package is missing or an import could not be rewritten.
    """
    vendor_dir = target / "_vendor"
    shutil.rmtree(vendor_dir, ignore_errors=True)
    (vendor_dir / "licenses").mkdir(parents=True)
    (vendor_dir / "__init__.py").write_text(
        '"""Pure-Python dependencies of the plugin (generated by qgis_plugin/build.py; do not edit)."""\n',
        encoding="utf-8",
    )
    for name in THIRD_PARTY:
        src = site_packages / name
        if not (src / "__init__.py").is_file():
            raise BuildError(f"{name} is not installed in {site_packages}: install pixxel-geo's dependencies there.")
        _copy_tree(src, vendor_dir / name, name)
        _licenses(site_packages, name, vendor_dir / "licenses")
    core = vendor_dir / "pixxel_geo"
    _copy_tree(REPO / "pixxel_geo" / "api", core / "api", "pixxel_geo")
    _copy_tree(REPO / "pixxel_geo" / "ranged", core / "ranged", "pixxel_geo")  # shared by io and transfer
    _copy_tree(REPO / "pixxel_geo" / "transfer", core / "transfer", "pixxel_geo")  # one downloader: the core's
    shutil.copy2(REPO / "pixxel_geo" / "_version.py", core / "_version.py")
    for module in CORE_MODULES:
        target = core / module
        target.parent.mkdir(parents=True, exist_ok=True)
        package_init = target.parent / "__init__.py"
        if not package_init.exists():
            package_init.write_text(CORE_PACKAGE_INIT, encoding="utf-8")
        shutil.copy2(REPO / "pixxel_geo" / module, target)
    (core / "__init__.py").write_text(PIXXEL_GEO_SHIM, encoding="utf-8")
    if (REPO / "LICENSE").is_file():
        shutil.copy2(REPO / "LICENSE", vendor_dir / "licenses" / "pixxel_geo-LICENSE")

    # certifi locates its bundle by its own top-level name.
    certifi_core = vendor_dir / "certifi" / "core.py"
    certifi_core.write_text(
        certifi_core.read_text(encoding="utf-8").replace('files("certifi")', "files(__package__)"),
        encoding="utf-8",
    )
    problems = []
    for module in sorted(vendor_dir.rglob("*.py")):
        depth = len(module.relative_to(vendor_dir).parts) - 1
        text = rewrite_imports(module.read_text(encoding="utf-8"), depth)
        module.write_text(text, encoding="utf-8")
        problems += [f"{module.relative_to(vendor_dir)}: {name}" for name in leftover_imports(text)]
    if problems:
        raise BuildError("absolute imports of vendored packages left:\n  " + "\n  ".join(problems))
    return vendor_dir


def _stage(staging: Path, site_packages: Path, version: str) -> Path:
    plugin = staging / PLUGIN_NAME
    shutil.copytree(PLUGIN_SOURCE, plugin, ignore=shutil.ignore_patterns("__pycache__", "_vendor", "*.pyc", "tests"))
    metadata = plugin / "metadata.txt"
    text = re.sub(r"(?m)^version=.*$", f"version={version}", metadata.read_text(encoding="utf-8"))
    metadata.write_text(text, encoding="utf-8")
    # plugins.qgis.org refuses a zip without <plugin>/LICENSE (mandatory since June 2024).
    if not (REPO / "LICENSE").is_file():
        raise BuildError(f"{REPO / 'LICENSE'} is missing: the plugin zip must ship the license text.")
    shutil.copy2(REPO / "LICENSE", plugin / "LICENSE")
    vendor(plugin, site_packages)
    return plugin


def build(out: Path, site_packages: Path = DEFAULT_SITE_PACKAGES) -> Path:
    """Build ``<out>/pixxel_plugin-<version>.zip``.

    Args:
        out: the output folder (created if missing).
        site_packages: where httpx and its dependencies are installed.

    Returns:
        The zip's path.

    Raises:
        BuildError: see :func:`vendor`.
    """
    version = plugin_version()
    out.mkdir(parents=True, exist_ok=True)
    archive = out / f"{PLUGIN_NAME}-{version}.zip"
    with tempfile.TemporaryDirectory(prefix="pixxel-plugin-build-") as tmp:
        plugin = _stage(Path(tmp), site_packages, version)
        partial = archive.with_suffix(".zip.part")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(plugin.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(plugin.parent).as_posix())
        partial.replace(archive)
    return archive


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; prints the zip's path."""
    parser = argparse.ArgumentParser(description="Build the Pixxel QGIS plugin zip.")
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="output folder (default: dist/)")
    parser.add_argument(
        "--site-packages",
        type=Path,
        default=None,
        help="where httpx & co. are installed (default: the repo's .venv, else this interpreter's)",
    )
    parser.add_argument("--develop", action="store_true", help="also write _vendor/ into the source folder")
    args = parser.parse_args(argv)
    site_packages = args.site_packages
    if site_packages is None:
        site_packages = (
            DEFAULT_SITE_PACKAGES if DEFAULT_SITE_PACKAGES.is_dir() else Path(sysconfig.get_paths()["purelib"])
        )
    try:
        archive = build(args.out, site_packages)
        if args.develop:
            vendor(PLUGIN_SOURCE, site_packages)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(archive)
    return 0


if __name__ == "__main__":
    sys.exit(main())
