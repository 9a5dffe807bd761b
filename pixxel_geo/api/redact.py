"""Keep secrets out of logs, reprs and exception messages."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["mask_token", "redact_httpx_logs", "redact_url", "redact_urls"]

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


class _QueryRedactingFilter(logging.Filter):
    """Rewrites a record's message with every URL's query string removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_urls(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_HTTPX_FILTER = _QueryRedactingFilter()


def redact_httpx_logs() -> None:
    """Keep signed URLs' query strings out of httpx's own log lines (idempotent).

    httpx logs every request at INFO as ``HTTP Request: GET <full URL> ...``;
    with a signed URL that line would carry the signature to whatever
    logging the application configured. Called when ``pixxel_geo`` is
    imported; it changes only what httpx's records say, never where they go.

    Example:
        >>> redact_httpx_logs()
        >>> _HTTPX_FILTER in logging.getLogger("httpx").filters
        True
    """
    logger = logging.getLogger("httpx")
    if _HTTPX_FILTER not in logger.filters:
        logger.addFilter(_HTTPX_FILTER)
