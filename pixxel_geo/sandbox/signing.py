"""Signed URLs: HMAC-SHA256 over path and expiry with a secret kept in the data dir."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from enum import Enum
from pathlib import Path
from urllib.parse import urlencode

EXPIRES_PARAM = "X-Pixxel-Expires"
SIGNATURE_PARAM = "X-Pixxel-Signature"


class Verdict(Enum):
    """Outcome of checking a signed URL."""

    VALID = "valid"
    MISSING = "missing"
    EXPIRED = "expired"
    BAD_SIGNATURE = "bad_signature"


def load_secret(data_dir: Path) -> bytes:
    """Return the data dir's signing secret, creating it (mode 0600) on first use.

    Args:
        data_dir: the sandbox data directory.

    Returns:
        32 secret bytes.

    Example:
        >>> import tempfile
        >>> len(load_secret(Path(tempfile.mkdtemp())))
        32
    """
    path = data_dir / "signing.key"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
        os.replace(tmp, path)
    return path.read_bytes()


def _signature(secret: bytes, path: str, expires: int) -> str:
    message = f"GET\n{path}\n{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign(secret: bytes, base_url: str, path: str, lifetime: float, now: float | None = None) -> str:
    """Return a signed URL for ``path`` valid for ``lifetime`` seconds.

    Args:
        secret: the signing secret.
        base_url: scheme and authority, e.g. ``http://127.0.0.1:8000``.
        path: the file path, e.g. ``/files/<download_id>/catalogs.zip``.
        lifetime: seconds until expiry.
        now: the current epoch time (for tests).

    Returns:
        The full URL with ``X-Pixxel-Expires`` and ``X-Pixxel-Signature``.

    Example:
        >>> sign(b"k", "http://h", "/files/x/catalogs.zip", 60, now=0)[:40]
        'http://h/files/x/catalogs.zip?X-Pixxel-E'
    """
    expires = int((time.time() if now is None else now) + lifetime)
    query = urlencode({EXPIRES_PARAM: expires, SIGNATURE_PARAM: _signature(secret, path, expires)})
    return f"{base_url.rstrip('/')}{path}?{query}"


def verify(secret: bytes, path: str, params: dict[str, str], now: float | None = None) -> tuple[Verdict, int | None]:
    """Check the signature and expiry of a request for ``path``.

    Args:
        secret: the signing secret.
        path: the requested path (without query).
        params: the query parameters.
        now: the current epoch time (for tests).

    Returns:
        The verdict and the expiry time when it could be read.

    Example:
        >>> from urllib.parse import urlsplit, parse_qsl
        >>> url = sign(b"k", "http://h", "/p", 60, now=0)
        >>> verify(b"k", "/p", dict(parse_qsl(urlsplit(url).query)), now=1)[0]
        <Verdict.VALID: 'valid'>
    """
    raw_expires = params.get(EXPIRES_PARAM)
    signature = params.get(SIGNATURE_PARAM)
    if not raw_expires or not signature:
        return Verdict.MISSING, None
    try:
        expires = int(raw_expires)
    except ValueError:
        return Verdict.BAD_SIGNATURE, None
    if not hmac.compare_digest(_signature(secret, path, expires), signature):
        return Verdict.BAD_SIGNATURE, expires
    if (time.time() if now is None else now) >= expires:
        return Verdict.EXPIRED, expires
    return Verdict.VALID, expires
