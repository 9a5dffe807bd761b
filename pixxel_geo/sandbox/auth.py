"""API authentication: ``Authorization: Bearer <token>`` or the bare token.

A missing or malformed header answers 401; a well-formed token that is unknown or listed as
expired answers 403. ``/ping`` needs no token.
"""

from __future__ import annotations

import hmac
import re

from pixxel_geo.sandbox.errors import ApiError

_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{8,512}$")


def token_from_header(header: str | None) -> str:
    """Return the token carried by an ``Authorization`` header value.

    Raises:
        ApiError: 401 when the header is missing or malformed.

    Example:
        >>> token_from_header("Bearer abcdefgh1234")
        'abcdefgh1234'
    """
    if header is None or not header.strip():
        raise ApiError(
            401,
            "missing Authorization header: send 'Authorization: Bearer <personal access token>'",
        )
    value = header.strip()
    scheme, _, rest = value.partition(" ")
    if rest:
        if scheme.lower() != "bearer":
            raise ApiError(401, f"unsupported authorization scheme {scheme!r}: use 'Bearer'")
        value = rest.strip()
    if not _TOKEN.match(value):
        raise ApiError(401, "malformed token in the Authorization header")
    return value


def check_token(header: str | None, valid: list[str], expired: list[str]) -> str:
    """Authenticate a request.

    Args:
        header: the ``Authorization`` header value.
        valid: accepted tokens.
        expired: tokens to refuse as expired.

    Returns:
        The token.

    Raises:
        ApiError: 401 (missing/malformed) or 403 (unknown/expired).
    """
    token = token_from_header(header)
    if any(hmac.compare_digest(token, t) for t in expired):
        raise ApiError(403, "the token has expired: create a new personal access token")
    if not any(hmac.compare_digest(token, t) for t in valid):
        raise ApiError(403, "the token is not valid for this workspace")
    return token
