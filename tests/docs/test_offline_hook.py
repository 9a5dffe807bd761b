"""The site stays offline: the build hook strips CDN assets and flags anything left."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tests.docs.blocks import DOCS


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pixxel_docs_offline", DOCS / "_hooks" / "offline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


offline = _hook()

NBCONVERT_HEAD = """
<script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js?config=TeX-AMS_CHTML-full"> </script>
<script type="module">
  document.addEventListener("DOMContentLoaded", async () => {
    const mermaid = (await import("https://cdnjs.cloudflare.com/ajax/libs/mermaid/11.10.0/mermaid.esm.min.mjs")).default;
  });
</script>
<script src="https://unpkg.com/@jupyter-widgets/html-manager@^1.0.1/dist/embed-amd.js" crossorigin="anonymous"></script>
<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">
<script src="../assets/javascripts/bundle.js"></script>
<a href="https://api.pixxel.space">the API</a>
"""


def test_external_assets_are_found() -> None:
    found = offline.external_assets(NBCONVERT_HEAD)
    assert len(found) == 4  # mathjax, the mermaid import, the widget manager, the web font


def test_stripping_leaves_local_assets_and_links() -> None:
    stripped = offline.strip_external_assets(NBCONVERT_HEAD)
    assert offline.external_assets(stripped) == []
    assert '<script src="../assets/javascripts/bundle.js"></script>' in stripped
    assert '<a href="https://api.pixxel.space">' in stripped  # a link is not an asset
