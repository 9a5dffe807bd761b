"""Keep secrets out of logs, reprs and exception messages."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["mask_token", "redact_url", "redact_urls"]

# A URL's query string, plain (https://h/p?sig) or percent-encoded inside another string, as in
# GDAL's /vsicurl?url=https%3A%2F%2Fh%2Fp%3Fsig paths and the messages that quote them.
_PLAIN_QUERY = re.compile(r"(https?://[^\s?#\"'<>]*)\?[^\s\"'<>)]*")
_ENCODED_QUERY = re.compile(r"(https?%3A%2F%2F(?:(?!%3F)[^\s&\"'<>])*)%3F[^\s&\"'<>)]*", re.IGNORECASE)


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


def redact_urls(text: str) -> str:
    """Remove the query string of every URL in ``text``, plain or percent-encoded.

    For messages that quote URLs (GDAL's, a proxy's): signatures live in query strings.

    Example:
        >>> redact_urls("HTTP 404 on https://h/f.zip?X-Sig=abc (/vsicurl?url=https%3A%2F%2Fh%2Ff.zip%3FX-Sig%3Dabc)")
        'HTTP 404 on https://h/f.zip?… (/vsicurl?url=https%3A%2F%2Fh%2Ff.zip?…)'
    """
    return _ENCODED_QUERY.sub(r"\1?…", _PLAIN_QUERY.sub(r"\1?…", text))


def mask_token(token: str | None) -> str:
    """A token's shape for messages, never its value: ``'<set, 40 characters>'``."""
    if not token:
        return "<not set>"
    return f"<set, {len(token)} characters>"
