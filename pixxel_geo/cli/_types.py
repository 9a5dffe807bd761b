"""Argument types that refuse bad numbers at parse time (a usage error, exit 2, before any request)."""

from __future__ import annotations

import argparse
import math

__all__ = ["count", "percent", "positive_seconds", "seconds"]


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number ({what})") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number ({what})")
    return value


def seconds(text: str) -> float:
    """Seconds to wait: a finite number >= 0."""
    value = _number(text, "seconds >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative: give seconds >= 0")
    return value


def positive_seconds(text: str) -> float:
    """Seconds a request may take: a finite number > 0."""
    value = _number(text, "seconds > 0")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not above 0: give seconds > 0")
    return value


def percent(text: str) -> float:
    """A percentage from 0 to 100."""
    value = _number(text, "a percentage from 0 to 100")
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text} is outside 0-100: give a percentage")
    return value


def count(text: str) -> int:
    """A whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is below 1: give a whole number >= 1")
    return value
