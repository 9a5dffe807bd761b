"""Re-signing on 403 as an ``httpx.Auth`` flow, httpx's own re-challenge mechanism.

The flow signs each request with the current URL of a :class:`~pixxel_geo.ranged.renewable.RenewableURL`
(for a signed URL the signature *is* the URL), and when the answer is a 403 (an expired
signature) it renews the URL (once per expiry for all threads) and sends the request again,
as httpx's digest auth answers a 401 challenge. Both httpx clients drive it: ``client.send(request,
auth=ResignOn403(url))`` or ``client.stream("GET", url.get().url, auth=…)``.

Example:
    >>> import httpx
    >>> def files(request):
    ...     ok = request.url.params.get("sig") == "2"
    ...     return httpx.Response(206 if ok else 403, content=b"PK" if ok else b"")
    >>> url = RenewableURL("http://files.test/a.zip?sig=1", refresh=lambda: "http://files.test/a.zip?sig=2")
    >>> with httpx.Client(transport=httpx.MockTransport(files)) as client:
    ...     client.get("http://files.test/a.zip", auth=ResignOn403(url)).status_code
    206
"""

from __future__ import annotations

from collections.abc import Generator

import httpx

from pixxel_geo.ranged.renewable import RenewableURL

__all__ = ["ResignOn403"]


class ResignOn403(httpx.Auth):
    """Send each request to the current signed URL; on 403 renew it and send again.

    A 403 still there after ``renewals`` renewals is returned to the caller, who
    raises its own error (the flow never reads or logs the URL's query).

    Args:
        url: the renewable URL shared by every request on this file (and every thread).
        renewals: how many renewals one request may use before its 403 is returned.

    Raises:
        SignedURLError: (from ``send``) the URL cannot be renewed (see :meth:`RenewableURL.renew`).

    Example:
        >>> auth = ResignOn403(RenewableURL("http://files.test/a.zip?sig=1"), renewals=3)
        >>> auth.renewals
        3
    """

    requires_request_body = False
    requires_response_body = False

    def __init__(self, url: RenewableURL, *, renewals: int = 1) -> None:
        self.url = url
        self.renewals = renewals

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign ``request``, and sign it again after each 403 while renewals remain."""
        signed = self.url.get()
        response = yield _to(request, signed.url)
        for _ in range(self.renewals):
            if response.status_code != 403:
                return
            signed = self.url.renew(signed.generation)
            response = yield _to(request, signed.url)


def _to(request: httpx.Request, url: str) -> httpx.Request:
    """``request`` sent to ``url`` (a new request: the one before may be held by the transport)."""
    if str(request.url) == url:
        return request
    headers = [(name, value) for name, value in request.headers.raw if name.lower() != b"host"]
    return httpx.Request(request.method, url, headers=headers, extensions=request.extensions)
