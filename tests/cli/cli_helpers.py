"""Running the CLI in-process and capturing what it prints."""

from __future__ import annotations

from pixxel_geo.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``pixxel-geo *argv``: exit code, standard output, standard error."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
