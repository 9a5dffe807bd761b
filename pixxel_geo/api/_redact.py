"""Keep secrets out of logs, reprs and exception messages."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["mask_token", "redact_url"]


def redact_url(url: str | None) -> str:
    """Return ``url`` without its query string and fragment (signatures live there).

    Example:
        >>> redact_url("https://host/files/a.zip?X-Signature=abc")
        'https://host/files/a.zip?…'
    """
    if not url:
        return ""
    parts = urlsplit(str(url))
    redacted = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
    return redacted + ("?…" if parts.query else "")


def mask_token(token: str | None) -> str:
    """A token's shape for messages, never its value: ``'<set, 40 characters>'``."""
    if not token:
        return "<not set>"
    return f"<set, {len(token)} characters>"
