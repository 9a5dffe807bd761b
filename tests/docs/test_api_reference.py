"""The API reference documents every public name and nothing private.

The pages come from ``docs/_hooks/api_reference.py`` (the mkdocs hook); ``mkdocs build --strict``
in ``scripts/test.sh`` then checks that mkdocstrings renders each of them.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from types import ModuleType

import pytest

from tests.docs.blocks import DOCS


def _hook() -> ModuleType:
    path = DOCS / "_hooks" / "api_reference.py"
    spec = importlib.util.spec_from_file_location("pixxel_docs_api_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


hook = _hook()
PAGES = hook.reference_pages()


def test_one_page_per_public_package() -> None:
    import pixxel_geo

    expected = [
        "pixxel_geo",
        *sorted(
            f"pixxel_geo.{m.name}"
            for m in pkgutil.iter_modules(pixxel_geo.__path__)
            if m.ispkg
            and not m.name.startswith("_")
            and hasattr(importlib.import_module(f"pixxel_geo.{m.name}"), "__all__")
        ),
    ]
    assert [p.module for p in PAGES] == expected


@pytest.mark.parametrize("page", PAGES, ids=[p.module for p in PAGES])
def test_page_covers_exactly_all(page: object) -> None:
    module = importlib.import_module(page.module)  # type: ignore[attr-defined]
    names = [e.name for e in page.entries]  # type: ignore[attr-defined]
    assert names == list(module.__all__)
    markdown = hook.render(page)
    for entry in page.entries:  # type: ignore[attr-defined]
        assert f"`{page.module}.{entry.name}`" in markdown  # type: ignore[attr-defined]
        target = entry.identifier or entry.link
        if target:
            assert hook.is_public_path(target), f"{entry.name} is documented under a private path {target}"
            assert hook.resolvable(target), f"mkdocstrings cannot find {target}"


def test_every_object_is_rendered_once_and_links_point_to_rendered_ones() -> None:
    rendered = [e.identifier for p in PAGES for e in p.entries if e.identifier]
    assert len(rendered) == len(set(rendered))
    assert {e.link for p in PAGES for e in p.entries if e.link} <= set(rendered)


def test_nothing_private_is_rendered() -> None:
    directives = [
        line.removeprefix("::: ").strip()
        for page in PAGES
        for line in hook.render(page).splitlines()
        if line.startswith("::: ")
    ]
    assert directives
    assert all(hook.is_public_path(d) for d in directives), [d for d in directives if not hook.is_public_path(d)]


def test_client_resources_are_documented_with_the_client() -> None:
    top = next(p for p in PAGES if p.module == "pixxel_geo")
    client = next(e for e in top.entries if e.name == "Client")
    assert {name for name, _ in client.attributes} >= {"stores", "catalogs", "deliveries", "downloads", "order_items"}
    assert "::: pixxel_geo.api.catalogs.Catalogs" in hook.render(top)


def test_is_public_path() -> None:
    assert hook.is_public_path("pixxel_geo.io.raster.open_raster")
    assert hook.is_public_path("pixxel_geo.__version__")
    assert not hook.is_public_path("pixxel_geo.api._base.BaseClient")


def test_rendered_pages_are_checked_for_missing_and_private_names() -> None:
    page = hook.ReferencePage("pixxel_geo.x", "", [hook.Entry("f", identifier="pixxel_geo.x.f")])
    assert hook.check_rendered('<h2 id="pixxel_geo.x.f">f</h2>', page) == []
    assert hook.check_rendered("<h2>nothing</h2>", page) == ["pixxel_geo.x.f is not rendered"]
    assert hook.check_rendered('<h2 id="pixxel_geo.x.f"></h2><h3 id="pixxel_geo.x._g"></h3>', page) == [
        "private pixxel_geo.x._g is rendered"
    ]


def test_client_is_documented_with_download_and_the_core_methods_it_inherits() -> None:
    top = next(p for p in PAGES if p.module == "pixxel_geo")
    client = next(e for e in top.entries if e.name == "Client")
    assert {"__init__", "ping", "close", "from_config"} <= set(client.inherited)
    assert "download" not in client.inherited  # its own member, rendered anyway
    assert "inherited_members: [__init__," in hook.render(top)
    core = next(p for p in PAGES if p.module == "pixxel_geo.api")
    assert next(e for e in core.entries if e.name == "Client").inherited == ()
