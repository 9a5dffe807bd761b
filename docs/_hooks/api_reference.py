"""mkdocs hook: the API reference, generated from ``__all__``.

One page for ``pixxel_geo`` and one for each public subpackage (a package under ``pixxel_geo``
whose name has no leading underscore and that defines ``__all__``). A page documents exactly
the names in its package's ``__all__``: each object is rendered once, by mkdocstrings, under the
shortest public dotted path griffe can resolve (``pixxel_geo.Client``); a name that re-exports an
object already rendered on an earlier page (``pixxel_geo.api.Client``) links there instead.
Nothing outside ``__all__`` gets a page, and mkdocstrings' filters hide ``_private`` members.

``tests/docs/test_api_reference.py`` checks the plan: every public name, nothing private.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import pkgutil
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.api_reference")

PACKAGE = "pixxel_geo"
ROOT = Path(__file__).resolve().parents[2]
SECTION = "API reference"


@dataclass(frozen=True)
class Entry:
    """One public name on a reference page.

    Exactly one of ``identifier`` (rendered here by mkdocstrings), ``link`` (an identifier
    rendered on another page) or ``page`` (a subpackage's own page) is set.
    """

    name: str
    identifier: str | None = None
    link: str | None = None
    page: str | None = None
    summary: str = ""
    attributes: tuple[tuple[str, str], ...] = ()
    """``(attribute, class identifier)`` for public attributes whose class is not exported
    itself (``Client.catalogs`` is a ``Catalogs``): rendered with the entry, since they are
    part of its API."""
    inherited: tuple[str, ...] = ()
    """Public members a class inherits from the same-named class it extends (``px.Client``
    extends ``pixxel_geo.api.Client`` with ``download``): rendered with it."""


@dataclass
class ReferencePage:
    """The reference page of one package."""

    module: str
    summary: str
    entries: list[Entry] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"reference/{self.module}.md"


def public_packages() -> list[str]:
    """``pixxel_geo`` and its public subpackages (no leading underscore, with ``__all__``)."""
    package = importlib.import_module(PACKAGE)
    found = [PACKAGE]
    for info in pkgutil.iter_modules(package.__path__):
        if info.ispkg and not info.name.startswith("_"):
            name = f"{PACKAGE}.{info.name}"
            if hasattr(importlib.import_module(name), "__all__"):
                found.append(name)
    return found


def is_public_path(path: str) -> bool:
    """True if no component of the dotted ``path`` is private (``_x``; dunders like ``__version__`` are public)."""
    return all(not part.startswith("_") or (part.startswith("__") and part.endswith("__")) for part in path.split("."))


@functools.cache
def _griffe_package() -> Any:
    import griffe

    return griffe.load(PACKAGE, search_paths=[str(ROOT)], resolve_aliases=False)


def resolvable(path: str) -> bool:
    """True if griffe (what mkdocstrings uses) finds ``path`` by static analysis."""
    import griffe

    try:
        obj = _griffe_package()[path.removeprefix(PACKAGE + ".")] if path != PACKAGE else _griffe_package()
        if obj.is_alias:
            obj = obj.final_target
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return False
    return True


def _identifier(module: str, name: str, value: Any) -> str:
    """The dotted path to render ``module.name`` under: itself, else where it is defined."""
    direct = f"{module}.{name}"
    if resolvable(direct):
        return direct
    defined = f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', '')}"
    if is_public_path(defined) and resolvable(defined):
        return defined
    # A constant (no __module__): the public module, already imported, that holds the same object.
    holders = sorted(
        (mod_name for mod_name, mod in list(sys.modules.items())
         if mod_name.startswith(PACKAGE + ".") and is_public_path(mod_name) and getattr(mod, name, None) is value),
        key=len,
    )  # fmt: skip
    for holder in holders:
        if resolvable(f"{holder}.{name}"):
            return f"{holder}.{name}"
    raise RuntimeError(f"the API reference cannot document {direct}: griffe resolves neither it nor {defined}")


def _public_value(module: Any, name: str) -> Any:
    """``module.name``, or the object it names when a same-named submodule shadows a lazy export.

    ``pixxel_geo.io`` exports the function ``quicklook`` lazily, and ``pixxel_geo/io/quicklook.py``
    defines it: once that submodule is imported, Python sets the package attribute ``quicklook``
    to the module. ``__all__`` means the function.
    """
    value = getattr(module, name)
    if (
        isinstance(value, types.ModuleType)
        and value.__name__ == f"{module.__name__}.{name}"
        and not hasattr(value, "__path__")
        and hasattr(value, name)
    ):
        return getattr(value, name)
    return value


def _summary(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().split("\n\n", 1)[0].replace("\n", " ").replace("|", "\\|")


def _griffe_class(identifier: str) -> Any:
    obj = _griffe_package()[identifier.removeprefix(PACKAGE + ".")]
    if obj.is_alias:
        obj = obj.final_target
    return obj if obj.is_class else None


def _documented(name: str) -> bool:
    """A member mkdocstrings shows: public, or ``__init__`` (merged into the class)."""
    return name == "__init__" or not name.startswith("_")


def inherited_members(identifier: str) -> tuple[str, ...]:
    """The public members the class at ``identifier`` inherits from a same-named base it extends.

    ``pixxel_geo.transfer.client.Client`` extends ``pixxel_geo.api.Client`` (it adds ``download``);
    its page shows the base's own public members too. Other inheritance is documented on the base.
    """
    obj = _griffe_class(identifier)
    if obj is None:
        return ()
    names: list[str] = []
    for base in obj.resolved_bases:
        if base.name == obj.name and base.path != obj.path:
            names += [n for n in base.members if _documented(n) and n not in obj.members and n not in names]
    return tuple(names)


def attribute_classes(identifier: str) -> tuple[tuple[str, str], ...]:
    """Public instance attributes of the class at ``identifier`` made by calling a pixxel_geo class.

    Found statically (``self.catalogs = Catalogs(self)`` in ``__init__``), in the class or in
    the same-named base it extends (see :func:`inherited_members`).
    """
    obj = _griffe_class(identifier)
    if obj is None:
        return ()
    inherited = set(inherited_members(identifier))
    found = []
    for name, member in obj.all_members.items():
        if name not in obj.members:
            if name not in inherited:
                continue
            member = member.final_target  # an inherited member is an alias of the base's
        if name.startswith("_") or member.is_alias or not member.is_attribute:
            continue
        function = getattr(member.value, "function", None)
        path = getattr(function, "canonical_path", "") or ""
        if path.startswith(PACKAGE + ".") and is_public_path(path) and resolvable(path):
            found.append((name, path))
    return tuple(found)


def reference_pages() -> list[ReferencePage]:
    """The pages, in order: ``pixxel_geo`` first, so its names are rendered there."""
    packages = public_packages()
    pages: list[ReferencePage] = []
    rendered: dict[int, str] = {}  # id(object) -> identifier it is rendered under
    keep_alive: list[Any] = []
    for module_name in packages:
        module = importlib.import_module(module_name)
        page = ReferencePage(module_name, _summary(module))
        for name in module.__all__:
            value = _public_value(module, name)
            keep_alive.append(value)
            if isinstance(value, types.ModuleType):
                page.entries.append(Entry(name, page=f"{value.__name__}.md", summary=_summary(value)))
                continue
            plain = isinstance(value, str | int | float)
            summary = "" if plain else _summary(value)
            if not plain and id(value) in rendered:
                page.entries.append(Entry(name, link=rendered[id(value)], summary=summary))
                continue
            identifier = _identifier(module_name, name, value)
            if not plain:
                rendered[id(value)] = identifier
            page.entries.append(
                Entry(
                    name,
                    identifier=identifier,
                    summary=summary,
                    attributes=attribute_classes(identifier),
                    inherited=inherited_members(identifier),
                )
            )
        pages.append(page)
    return pages


def render(page: ReferencePage) -> str:
    """The page's Markdown: a table of its names, then each rendered object."""
    lines = [f"# `{page.module}`", "", page.summary, "", "| name | what it is |", "|---|---|"]
    for entry in page.entries:
        public = f"`{page.module}.{entry.name}`"
        if entry.identifier:
            lines.append(f"| [{public}][{entry.identifier}] | {entry.summary} |")
        elif entry.link:
            lines.append(f"| {public} | the same as [`{entry.link}`][{entry.link}] |")
        else:
            lines.append(f"| [{public}]({entry.page}) | {entry.summary} |")
    lines.append("")
    for entry in page.entries:
        if not entry.identifier:
            continue
        lines += [f"::: {entry.identifier}"]
        if entry.inherited:
            lines += ["    options:", f"      inherited_members: [{', '.join(entry.inherited)}]"]
        lines.append("")
        for attribute, identifier in entry.attributes:
            owner = entry.identifier.rsplit(".", 1)[-1]
            lines += [
                f"`{owner}.{attribute}` is a `{identifier.rsplit('.', 1)[-1]}`:",
                "",
                f"::: {identifier}",
                "    options:",
                "      heading_level: 3",
                "",
            ]
    return "\n".join(lines) + "\n"


def render_index(pages: list[ReferencePage]) -> str:
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings of the public API: the names in `pixxel_geo.__all__` and in each",
        "public subpackage's `__all__`, nothing else. Anything not listed here is internal and may change.",
        "",
        "| package | what it is |",
        "|---|---|",
    ]
    for page in pages:
        lines.append(f"| [`{page.module}`]({page.module}.md) | {page.summary} |")
    return "\n".join(lines) + "\n"


_pages: list[ReferencePage] = []


def on_config(config: Any) -> Any:
    _pages[:] = reference_pages()
    children: list[Any] = [{"Overview": "reference/index.md"}]
    children += [{page.module: page.path} for page in _pages]
    nav = [item for item in (config["nav"] or []) if not (isinstance(item, dict) and SECTION in item)]
    config["nav"] = [*nav, {SECTION: children}]
    return config


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    files.append(File.generated(config, "reference/index.md", content=render_index(_pages)))
    for page in _pages:
        files.append(File.generated(config, page.path, content=render(page)))
    return files


_ANCHOR = re.compile(r'\bid="(pixxel_geo[\w.]*)"')


def check_rendered(html: str, page: ReferencePage) -> list[str]:
    """Problems in a rendered reference page: a name not rendered, or a private one rendered."""
    anchors = set(_ANCHOR.findall(html))
    problems = [f"{e.identifier} is not rendered" for e in page.entries if e.identifier and e.identifier not in anchors]
    problems += [f"private {a} is rendered" for a in sorted(anchors) if not is_public_path(a)]
    return problems


def on_post_build(config: Any) -> None:
    site = Path(config["site_dir"])
    for page in _pages:
        built = site / "reference" / page.module / "index.html"
        if not built.exists():
            built = site / "reference" / f"{page.module}.html"
        html = built.read_text(encoding="utf-8") if built.exists() else ""
        for problem in check_rendered(html, page) if html else [f"{built} was not built"]:
            log.warning("API reference %s: %s", page.module, problem)
