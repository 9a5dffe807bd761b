"""Keep secrets out of logs, reprs and exception messages."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["mask_token", "redact_url"]


def redact_url(url: str | None) -> str:
    """Return ``url`` without user info, query string and fragment (signatures live there).

    A signed URL's query string is a bearer credential: only scheme, host, port and
    path may appear in exceptions, events and logs.

    Example:
        >>> redact_url("https://user:pw@host:8443/files/a.zip?X-Signature=abc")
        'https://host:8443/files/a.zip?…'
    """
    if not url:
        return ""
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "<unparseable URL>"
    redacted = urlunsplit((parts.scheme, host, parts.path, "", ""))
    return redacted + ("?…" if parts.query else "")


def mask_token(token: str | None) -> str:
    """A token's shape for messages, never its value: ``'<set, 40 characters>'``."""
    if not token:
        return "<not set>"
    return f"<set, {len(token)} characters>"
