"""mkdocs hook: the repository's ``notebooks/`` become site pages under ``notebooks/``.

The notebooks stay where they are (``pytest --nbmake notebooks`` runs them there); this hook
adds them to the build before mkdocs-jupyter looks at the files, so they are executed and
rendered like pages kept in ``docs/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


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
