"""The toolkit stays vendorable: httpx, the standard library and public modules of pixxel_geo.api only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pixxel_geo" / "ranged"


def test_imports_only_httpx_the_stdlib_and_the_public_api() -> None:
    allowed_third_party = {"httpx", "google_crc32c"}  # google_crc32c: optional, imported under try
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top == "pixxel_geo":
                    parts = name.split(".")
                    assert parts[1] in ("api", "ranged"), (path.name, name)
                    assert not any(p.startswith("_") for p in parts[1:]), (path.name, name)  # public modules only
                else:
                    assert top in sys.stdlib_module_names or top in allowed_third_party, (path.name, name)


def test_importing_it_loads_nothing_heavy() -> None:
    # The package root loads px.Client, whose download comes from pixxel_geo.transfer (httpx only):
    # that is the root's doing, not the toolkit's, and the import rules above keep ranged from using it.
    script = (
        "import sys, pixxel_geo.ranged\n"
        "heavy = {'numpy', 'rasterio', 'xarray', 'fsspec', 'pixxel_geo.io'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
