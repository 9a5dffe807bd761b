"""The ``Authorization`` header from an API key (a Pixxel Personal Access Token)."""

from __future__ import annotations

__all__ = ["ApiKeyAuth"]


class ApiKeyAuth:
    """Holds the key and renders the header; accepts keys with or without ``Bearer ``.

    Example:
        >>> ApiKeyAuth("Bearer abc").header_value == ApiKeyAuth("abc").header_value
        True
    """

    __slots__ = ("_token",)

    def __init__(self, api_key: str | None) -> None:
        token = (api_key or "").strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        self._token = token

    @property
    def malformed(self) -> bool:
        """True if the token holds a character no token has (a space, a line break, non-ASCII)."""
        return any(not (33 <= ord(c) <= 126) for c in self._token)

    @property
    def header_value(self) -> str:
        return f"Bearer {self._token}"

    def __repr__(self) -> str:
        return "ApiKeyAuth(<hidden>)"
