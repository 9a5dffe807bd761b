"""mkdocs hook: keep the site offline.

nbconvert's page template always adds MathJax and Mermaid from a CDN (and the ipywidgets
HTML manager when a notebook saved widget state). The notebooks use neither maths nor
diagrams, and the site must not fetch anything from the internet, so those tags are removed;
widgets show their text form. After the build, every page is checked again: anything that
would still load from the internet is a warning, which fails ``mkdocs build --strict``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority

log = logging.getLogger("mkdocs.hooks.offline")

_EXTERNAL_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=[\"']https?://[^\"']*[\"'][^>]*>\s*</script>", re.IGNORECASE)
_EXTERNAL_MODULE = re.compile(
    r"<script\b[^>]*>(?:(?!</script>).)*?(?:\bfrom\s+|\bimport\s*\(\s*)[\"']https?://(?:(?!</script>).)*</script>",
    re.IGNORECASE | re.DOTALL,
)
_EXTERNAL_STYLESHEET = re.compile(r"<link\b[^>]*\bhref=[\"']https?://[^\"']*[\"'][^>]*>", re.IGNORECASE)


def strip_external_assets(html: str) -> str:
    """Remove ``<script src="http…">``, scripts importing from ``http…`` and external stylesheets."""
    for pattern in (_EXTERNAL_SCRIPT, _EXTERNAL_MODULE):
        html = pattern.sub("", html)
    return _EXTERNAL_STYLESHEET.sub(
        lambda m: "" if re.search(r"rel=[\"']?stylesheet", m.group(0), re.IGNORECASE) else m.group(0), html
    )


@event_priority(-100)  # after every plugin has written its output
def on_post_page(output: str, page: Any, config: Any) -> str:
    return strip_external_assets(output)


_ANY_EXTERNAL = re.compile(
    r"<script\b[^>]*\bsrc=[\"']https?://|<link\b[^>]*rel=[\"']?stylesheet[^>]*href=[\"']https?://"
    r"|<link\b[^>]*href=[\"']https?://[^>]*rel=[\"']?stylesheet|\bimport\s[^;]*?from\s+[\"']https?://"
    r"|\bimport\s*\(\s*[\"']https?://"
    r"|@import\s+url\([\"']?https?://|<img\b[^>]*\bsrc=[\"']https?://",
    re.IGNORECASE,
)


def external_assets(html: str) -> list[str]:
    """What in ``html`` would be fetched from the internet when the page is shown."""
    return [m.group(0) for m in _ANY_EXTERNAL.finditer(html)]


def on_post_build(config: Any) -> None:
    for page in sorted(Path(config["site_dir"]).rglob("*.html")):
        found = external_assets(page.read_text(encoding="utf-8", errors="replace"))
        if found:
            log.warning("%s loads assets from the internet: %s", page, ", ".join(sorted(set(found)))[:300])
