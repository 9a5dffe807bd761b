"""The code blocks of the documentation's Markdown pages, as the doc tests run them.

A fenced block is run if its language is ``python`` or ``bash``; other languages (``toml``,
``text``, ``console`` output, ...) are shown, never run. A runnable block opts out with a fence
attribute and a reason from :data:`NO_RUN_REASONS`::

    ```bash {.no-run reason="runs until stopped"}

Blocks may sit inside admonitions or tabs (indented); the indentation is removed.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
RUNNABLE = ("python", "bash")

NO_RUN_REASONS = {
    "installs software": "pip, apt or npm: scripts/_setup.sh installs what CI needs",
    "runs until stopped": "a server or a live preview that serves until Ctrl-C",
    "runs the whole demo or test suite": "the quickstart commands, run by CI as themselves",
    "needs a clone of the repository": "runs the repository's own scripts; scripts/test-qgis.sh builds the plugin",
    "needs QGIS": "QGIS's own Python console; qgis_plugin/tests run the algorithms with processing.run in real QGIS",
}
"""The only reasons a runnable block may give for not being run, with what they mean."""

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)[ \t]*(?P<attrs>\{[^}]*\})?[ \t]*$"
)


@dataclass(frozen=True)
class Block:
    """One fenced code block."""

    page: Path
    line: int
    """1-based line of the opening fence."""
    lang: str
    code: str
    classes: tuple[str, ...] = ()
    options: dict[str, str] = field(default_factory=dict)

    @property
    def runnable(self) -> bool:
        return self.lang in RUNNABLE and "no-run" not in self.classes

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(DOCS.parent)}:{self.line}"


def _attributes(text: str | None) -> tuple[tuple[str, ...], dict[str, str]]:
    if not text:
        return (), {}
    classes: list[str] = []
    options: dict[str, str] = {}
    for token in shlex.split(text.strip("{}")):
        if token.startswith("."):
            classes.append(token[1:])
        elif "=" in token:
            key, _, value = token.partition("=")
            options[key] = value
    return tuple(classes), options


def _dedent(lines: list[str], indent: str) -> str:
    return "\n".join(line[len(indent) :] if line.startswith(indent) else line.lstrip() for line in lines)


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of one Markdown page, in order."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}:
                break
            body.append(lines[j])
            j += 1
        classes, options = _attributes(opening["attrs"])
        found.append(Block(page, i + 1, opening["lang"].lower(), _dedent(body, indent) + "\n", classes, options))
        i = j + 1
    return found


def pages() -> list[Path]:
    """Every Markdown page written by hand under ``docs/`` (the API reference is generated)."""
    return sorted(p for p in DOCS.rglob("*.md") if "_hooks" not in p.parts)
