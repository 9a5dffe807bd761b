"""mkdocs hook: the repository's ``notebooks/`` become site pages under ``notebooks/``.

The notebooks stay where they are (``pytest --nbmake notebooks`` runs them there); this hook
adds them to the build before mkdocs-jupyter looks at the files, so they are executed and
rendered like pages kept in ``docs/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SECTION = "Notebooks"


def title(notebook: Path) -> str:
    """The notebook's first Markdown heading, else its file name."""
    for cell in json.loads(notebook.read_text(encoding="utf-8")).get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", [])).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return notebook.stem


def on_config(config: Any) -> Any:
    """The "Notebooks" section of the navigation: every notebook, in file order."""
    entries = [{title(n): f"notebooks/{n.name}"} for n in sorted(NOTEBOOKS.glob("*.ipynb"))]
    nav = config["nav"] or []
    for i, item in enumerate(nav):
        if isinstance(item, dict) and SECTION in item:
            nav[i] = {SECTION: entries}
            break
    else:
        nav.append({SECTION: entries})
    config["nav"] = nav
    return config


@event_priority(100)  # before mkdocs-jupyter's on_files
def on_files(files: Files, config: Any) -> Files:
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        files.append(
            File(
                f"notebooks/{notebook.name}",
                src_dir=str(NOTEBOOKS.parent),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files
