"""Error answers: the API's JSON envelope, and S3-style XML for signed-URL refusals."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from starlette.responses import JSONResponse, Response

CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}


class ApiError(Exception):
    """Raised by handlers to answer an error envelope.

    Example:
        >>> ApiError(404, "catalog 'x' not found").status
        404
    """

    def __init__(
        self,
        status: int,
        message: str,
        details: Any = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.code = code or CODES.get(status, "ERROR")
        self.headers = headers


def envelope(status: int, message: str, details: Any = None, code: str | None = None) -> dict:
    """Return the body ``{"error": {"code", "message", "details"}}``."""
    return {
        "error": {
            "code": code or CODES.get(status, "ERROR"),
            "message": message,
            "details": details,
        }
    }


def error_response(
    status: int,
    message: str,
    details: Any = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Return a JSON error envelope response."""
    return JSONResponse(envelope(status, message, details, code), status_code=status, headers=headers)


def s3_error_body(code: str, message: str, extra: dict[str, str] | None = None) -> bytes:
    """Return an S3-style XML error document.

    Example:
        >>> b"<Code>AccessDenied</Code>" in s3_error_body("AccessDenied", "Request has expired")
        True
    """
    fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in (extra or {}).items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>{fields}</Error>"
    ).encode()


def s3_error(status: int, code: str, message: str, extra: dict[str, str] | None = None) -> Response:
    """Return an S3-style XML error response."""
    return Response(s3_error_body(code, message, extra), status_code=status, media_type="application/xml")


PROXY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)
