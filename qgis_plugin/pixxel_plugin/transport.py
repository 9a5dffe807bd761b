"""An httpx transport on QGIS's network stack (``QgsBlockingNetworkRequest``).

Requests made through it honour QGIS's proxy, SSL (custom CAs, client
certificates) and network-timeout settings, like every other QGIS network
access, and it works from ``QgsTask`` worker threads. The core client uses it
unchanged: ``px.Client(api_key=..., base_url=..., transport=QgisTransport())``.

Replies are buffered by Qt (fine for the API's JSON); large files are fetched
by :mod:`pixxel_plugin.filefetch` in ranged pieces instead.
"""

from __future__ import annotations

from qgis.core import QgsBlockingNetworkRequest, QgsFeedback
from qgis.PyQt.QtCore import QByteArray, QUrl
from qgis.PyQt.QtNetwork import QNetworkReply, QNetworkRequest

from ._vendor import httpx
from ._vendor.pixxel_geo import redact_urls

__all__ = ["QgisTransport"]

# Qt and QGIS set these themselves; passing httpx's Accept-Encoding would also stop
# Qt from decompressing replies for us.
_SKIPPED_REQUEST_HEADERS = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding"}
# Qt has already decoded the body: httpx must not decode it again or check its length.
_SKIPPED_RESPONSE_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}
_CONNECT_ERRORS = {
    QNetworkReply.ConnectionRefusedError,
    QNetworkReply.HostNotFoundError,
    QNetworkReply.ProxyConnectionRefusedError,
    QNetworkReply.ProxyNotFoundError,
    QNetworkReply.SslHandshakeFailedError,
    QNetworkReply.UnknownProxyError,
}


def _safe_url(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}{url.path}"


class QgisTransport(httpx.BaseTransport):
    """Send httpx requests with ``QgsBlockingNetworkRequest``.

    Args:
        feedback: a ``QgsFeedback`` (e.g. a task's) whose cancellation aborts the
            request in flight.
        authcfg: an optional QGIS auth config applied by QGIS to each request
            (the plugin sets the API token itself, so it leaves this empty).

    Example:
        >>> from pixxel_plugin._vendor import pixxel_geo as px  # doctest: +SKIP
        >>> client = px.Client(api_key=token, base_url=url, transport=QgisTransport())  # doctest: +SKIP
        >>> client.ping()  # doctest: +SKIP
        'pong'
    """

    def __init__(self, feedback: QgsFeedback | None = None, authcfg: str = "") -> None:
        self._feedback = feedback
        self._authcfg = authcfg

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request through QGIS and return its answer.

        Raises:
            httpx.ConnectError: the host could not be reached (refused, unknown, proxy, TLS).
            httpx.ReadTimeout: QGIS's network timeout passed or the request was cancelled.
            httpx.ReadError: the connection broke while answering.
            httpx.UnsupportedProtocol: a method QGIS's network stack cannot send.
        """
        qrequest = QNetworkRequest(QUrl.fromEncoded(QByteArray(bytes(str(request.url), "ascii"))))
        for name, value in request.headers.raw:
            if name.decode("latin-1").lower() not in _SKIPPED_REQUEST_HEADERS:
                qrequest.setRawHeader(QByteArray(name), QByteArray(value))
        qrequest.setAttribute(QNetworkRequest.CacheLoadControlAttribute, QNetworkRequest.AlwaysNetwork)
        qrequest.setAttribute(QNetworkRequest.CacheSaveControlAttribute, False)

        blocking = QgsBlockingNetworkRequest()
        if self._authcfg:
            blocking.setAuthCfg(self._authcfg)
        method = request.method.upper()
        body = request.read()
        if method == "GET":
            code = blocking.get(qrequest, True, self._feedback)
        elif method == "POST":
            code = blocking.post(qrequest, QByteArray(body), True, self._feedback)
        elif method == "PUT":
            code = blocking.put(qrequest, QByteArray(body), self._feedback)
        elif method == "DELETE":
            code = blocking.deleteResource(qrequest, self._feedback)
        elif method == "HEAD":
            code = blocking.head(qrequest, True, self._feedback)
        else:
            raise httpx.UnsupportedProtocol(
                f"QGIS's network stack cannot send {method} requests (GET, POST, PUT, DELETE, HEAD only).",
                request=request,
            )
        return self._response(blocking, code, request)

    def _response(self, blocking: QgsBlockingNetworkRequest, code: int, request: httpx.Request) -> httpx.Response:
        reply = blocking.reply()
        status = reply.attribute(QNetworkRequest.HttpStatusCodeAttribute)
        if status is None or int(status) == 0:
            self._raise_transport_error(blocking, code, reply.error(), request)
        headers: list[tuple[bytes, bytes]] = []
        for raw_name in reply.rawHeaderList():
            name = bytes(raw_name)
            if name.decode("latin-1").lower() in _SKIPPED_RESPONSE_HEADERS:
                continue
            headers.append((name, bytes(reply.rawHeader(raw_name))))
        return httpx.Response(
            int(status),
            headers=headers,
            content=bytes(reply.content()),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    def _raise_transport_error(
        self, blocking: QgsBlockingNetworkRequest, code: int, qt_error: int, request: httpx.Request
    ) -> None:
        where = _safe_url(request.url)
        detail = redact_urls(blocking.errorMessage() or "no answer")
        cancelled = self._feedback is not None and self._feedback.isCanceled()
        if cancelled:
            raise httpx.ReadTimeout(f"The request to {where} was cancelled.", request=request)
        if code == QgsBlockingNetworkRequest.TimeoutError or qt_error in (
            QNetworkReply.TimeoutError,
            QNetworkReply.OperationCanceledError,
        ):
            raise httpx.ReadTimeout(
                f"No answer from {where} within QGIS's network timeout (Settings > Options > Network). {detail}",
                request=request,
            )
        if qt_error in _CONNECT_ERRORS:
            raise httpx.ConnectError(f"Cannot connect to {where}: {detail}", request=request)
        raise httpx.ReadError(f"The connection to {where} failed: {detail}", request=request)
