"""Keeping signed URLs' secrets out of messages and logs."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def redact_url(url: str) -> str:
    """Return ``url`` without its query string, fragment or user info.

    A signed URL's query string is a bearer credential: only scheme, host and
    path may appear in exceptions, events and logs.

    Example:
        >>> redact_url("https://h.example/files/a.zip?X-Pixxel-Signature=abc")
        'https://h.example/files/a.zip'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
