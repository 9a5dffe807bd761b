"""A signed URL that is renewed once per expiry, however many threads see it refused."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import NamedTuple

from pixxel_geo.api.errors import PixxelError, SignedURLError
from pixxel_geo.api.redact import redact_url

__all__ = ["RenewableURL", "Signed"]


class Signed(NamedTuple):
    """A signed URL and its generation (how many renewals came before it). The URL is a secret."""

    url: str
    generation: int


class RenewableURL:
    """The current signed URL and a generation number that grows with each renewal.

    When many threads see 403 on the same expired URL, only the first calls
    ``refresh``; the others find a newer generation and use it (check, lock,
    check again). The first URL may be given as a callable, asked on first use
    (it may cost an API call).

    Args:
        url: the signed URL, or a callable that gives it on first use.
        refresh: gives a fresh URL when the current one is refused (``None``: it cannot be renewed).
        advice: what to tell the user when the URL cannot be renewed.

    Example:
        >>> urls = iter(["http://h/f?sig=2"])
        >>> url = RenewableURL("http://h/f?sig=1", refresh=lambda: next(urls))
        >>> stale = url.get()
        >>> url.renew(stale.generation).url
        'http://h/f?sig=2'
        >>> url.renew(stale.generation).url   # a second thread with the same stale URL
        'http://h/f?sig=2'
    """

    def __init__(
        self,
        url: str | Callable[[], str],
        refresh: Callable[[], str] | None = None,
        *,
        advice: str = "get a fresh URL and run again",
    ) -> None:
        self._signed: Signed | None = Signed(url, 0) if isinstance(url, str) else None
        self._first: Callable[[], str] | None = None if isinstance(url, str) else url
        self._refresh = refresh
        self._advice = advice
        self.lock = threading.Lock()
        """Held while the URL is asked for or renewed (replace it in a forked child)."""

    def get(self) -> Signed:
        """The URL to use for the next request, and its generation.

        Raises:
            PixxelError: asking for the first URL failed.
        """
        signed = self._signed  # one read: the URL and its generation always match
        if signed is None:
            with self.lock:
                if self._signed is None:
                    assert self._first is not None
                    self._signed = Signed(self._first(), 0)
                signed = self._signed
        return signed

    @property
    def safe(self) -> str:
        """The URL without its query string, for messages (``""`` before the first URL is known)."""
        signed = self._signed
        return redact_url(signed.url) if signed is not None else ""

    def renew(self, stale_generation: int) -> Signed:
        """A URL newer than ``stale_generation``, calling ``refresh`` if nobody did yet.

        Args:
            stale_generation: the generation of the URL that was refused.

        Returns:
            The renewed URL and its generation.

        Raises:
            SignedURLError: there is no ``refresh``, it failed, or it gave the refused URL again.
        """
        current = self._signed
        if current is not None and current.generation != stale_generation:
            return current
        with self.lock:
            current = self._signed
            if current is None or current.generation != stale_generation:
                pass  # renewed meanwhile (or never asked: the first URL is fresh)
            elif self._refresh is None:
                raise SignedURLError(
                    f"The signed URL for {self.safe} was refused (403: expired or invalid) "
                    f"and cannot be renewed: {self._advice}."
                )
            else:
                try:
                    url = self._refresh()
                except PixxelError as exc:
                    raise SignedURLError(
                        f"The signed URL for {self.safe} was refused (403) and renewing it failed: {exc}"
                    ) from exc
                if not url:
                    raise SignedURLError(
                        f"The signed URL for {self.safe} was refused (403) and the API returned no new URL: "
                        "run again later."
                    )
                if url == current.url:
                    raise SignedURLError(
                        f"The signed URL for {self.safe} was refused (403: expired or invalid) and its source "
                        f"gave the same URL again: {self._advice}."
                    )
                self._signed = Signed(url, current.generation + 1)
        return self.get()
