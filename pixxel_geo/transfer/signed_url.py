"""A signed URL that can be renewed once per expiry, shared between threads."""

from __future__ import annotations

import threading
from collections.abc import Callable

from pixxel_geo.api.errors import PixxelError, SignedURLError
from pixxel_geo.api.redact import redact_url

__all__ = ["RenewableURL"]


class RenewableURL:
    """The current signed URL and a generation number that grows with each renewal.

    When many threads see 403 on the same expired URL, only the first calls
    ``refresh``; the others find a newer generation and use it (check, lock,
    check again).

    Example:
        >>> urls = iter(["http://h/f?sig=2"])
        >>> url = RenewableURL("http://h/f?sig=1", refresh=lambda: next(urls))
        >>> current, generation = url.get()
        >>> url.renew(generation)
        'http://h/f?sig=2'
        >>> url.renew(generation)   # a second thread with the same stale URL
        'http://h/f?sig=2'
    """

    def __init__(self, url: str, refresh: Callable[[], str] | None = None) -> None:
        self._url = url
        self._refresh = refresh
        self._generation = 0
        self._lock = threading.Lock()

    def get(self) -> tuple[str, int]:
        """``(url, generation)`` to use for the next request."""
        return self._url, self._generation

    @property
    def safe(self) -> str:
        """The URL without its query string, for messages."""
        return redact_url(self._url)

    def renew(self, stale_generation: int) -> str:
        """A URL newer than ``stale_generation``, calling ``refresh`` if nobody did yet.

        Raises:
            SignedURLError: there is no ``refresh``, or it failed.
        """
        if self._generation != stale_generation:
            return self._url
        with self._lock:
            if self._generation != stale_generation:
                return self._url
            if self._refresh is None:
                raise SignedURLError(
                    f"The signed URL for {self.safe} was refused (403: expired or invalid) "
                    "and no way to renew it was given: get a fresh URL and run again."
                )
            try:
                url = self._refresh()
            except PixxelError as exc:
                raise SignedURLError(
                    f"The signed URL for {self.safe} was refused (403) and renewing it failed: {exc}"
                ) from exc
            if not url:
                raise SignedURLError(
                    f"The signed URL for {self.safe} was refused (403) and the API "
                    "returned no new URL: run again later."
                )
            self._url = url
            self._generation += 1
            return url
