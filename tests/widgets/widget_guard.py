"""Detect exceptions that ipywidgets swallowed: it logs a callback's exception instead of raising."""

from __future__ import annotations

import logging

SWALLOWED = ("Exception in callback", "Exception in widget method")


def swallowed(records: list[logging.LogRecord]) -> list[str]:
    """Log records that mean a widget callback crashed, or anything logged at ERROR."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in records
        if r.levelno >= logging.ERROR or any(text in r.getMessage() for text in SWALLOWED)
    ]
