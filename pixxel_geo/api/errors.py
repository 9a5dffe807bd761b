"""One exception tree for the whole toolkit.

::

    PixxelError
    ├── InvalidInputError (ValueError)            bad arguments, caught before any request
    ├── ConfigurationError                         no API key, unreadable config file
    │   └── MissingDependencyError                 (ImportError) an optional extra is not installed
    ├── APIError                                   the API answered with an error status
    │   ├── BadRequestError             400
    │   ├── AuthenticationError         401       (PermissionError)
    │   ├── PermissionDeniedError       403       (PermissionError)
    │   ├── NotFoundError               404       (FileNotFoundError)
    │   ├── ConflictError               409
    │   ├── RateLimitError              429
    │   └── ServerError                 5xx
    │       └── MalformedResponseError              an answer the client cannot use (wrong shape, no id)
    ├── TransportError                             no usable answer from the server
    │   ├── NetworkError                           (ConnectionError)
    │   └── RequestTimeoutError                    (TimeoutError)
    ├── WaitTimeoutError                           (TimeoutError) a wait passed its deadline
    ├── ResourceFailedError                        the API reports a resource FAILED
    │   ├── DeliveryFailedError
    │   └── DownloadFailedError
    ├── SignedURLError                             (PermissionError) a signed URL was refused
    ├── TransferError                              a file transfer could not complete
    │   ├── IntegrityError                         size or checksum mismatch
    │   ├── TransferCancelled
    │   └── UnsafeArchiveError                     zip-slip, links, zip bombs
    └── MemberNotFoundError                        (FileNotFoundError) no such member in a product

Every message says what was wrong and what to do. No message ever holds the
API token or a signed URL's query string.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "DeliveryFailedError",
    "DownloadFailedError",
    "IntegrityError",
    "InvalidInputError",
    "MalformedResponseError",
    "MemberNotFoundError",
    "MissingDependencyError",
    "NetworkError",
    "NotFoundError",
    "PermissionDeniedError",
    "PixxelError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResourceFailedError",
    "ServerError",
    "SignedURLError",
    "TransferCancelled",
    "TransferError",
    "TransportError",
    "UnsafeArchiveError",
    "WaitTimeoutError",
]


class PixxelError(Exception):
    """Root of every error raised by pixxel-geo."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInputError(PixxelError, ValueError):
    """An argument is invalid; nothing was sent to the API."""


class ConfigurationError(PixxelError):
    """The client cannot be configured (e.g. no API key anywhere)."""


class MissingDependencyError(ConfigurationError, ImportError):
    """A feature needs an optional extra that is not installed; the message names the ``pip install``."""


class APIError(PixxelError):
    """The API answered with an error status.

    Attributes:
        status_code: the HTTP status.
        code: the API's short error code (``error.code`` in the envelope), if any.
        api_message: the API's own message (``error.message``), if any.
        details: the API's ``error.details``, if any.
        method, path: the request that failed (path only: never a query string).
        request_id: the server's request id header, when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        api_message: str | None = None,
        details: Any = None,
        method: str | None = None,
        path: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.api_message = api_message
        self.details = details
        self.method = method
        self.path = path
        self.request_id = request_id


class BadRequestError(APIError):
    """400: the API refused the request's content."""


class AuthenticationError(APIError, PermissionError):
    """401: the token is malformed or unknown."""


class PermissionDeniedError(APIError, PermissionError):
    """403: the token is missing, expired, revoked or lacks a role."""


class NotFoundError(APIError, FileNotFoundError):
    """404: no such resource."""


class ConflictError(APIError):
    """409: the request conflicts with the resource's current state."""


class RateLimitError(APIError):
    """429: too many requests. ``retry_after`` is in seconds when the server said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the API failed."""


class MalformedResponseError(ServerError):
    """The API answered, but with a body the client cannot use.

    Not JSON, a declared encoding the body does not have, JSON nested too
    deep, the wrong type where an object or list belongs, or a resource
    without a usable id. ``status_code`` is the answer's status.
    """


class TransportError(PixxelError):
    """No usable answer: the connection failed or timed out."""


class NetworkError(TransportError, ConnectionError):
    """The connection could not be made or was cut."""


class RequestTimeoutError(TransportError, TimeoutError):
    """The server did not answer in time."""


class WaitTimeoutError(PixxelError, TimeoutError):
    """A wait passed its deadline. ``resources`` maps ids to their last status."""

    def __init__(self, message: str, *, resources: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.resources = dict(resources or {})


class ResourceFailedError(PixxelError):
    """The API reports a resource as FAILED. ``resource_id`` names it."""

    def __init__(self, message: str, *, resource_id: str) -> None:
        super().__init__(message)
        self.resource_id = resource_id


class DeliveryFailedError(ResourceFailedError):
    """A delivery ended FAILED."""


class DownloadFailedError(ResourceFailedError):
    """A download resource ended failed."""


class SignedURLError(PixxelError, PermissionError):
    """A signed URL was refused (expired or bad signature) and could not be renewed."""


class TransferError(PixxelError):
    """A file transfer could not complete. ``path`` is the file concerned, if any."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class IntegrityError(TransferError):
    """The bytes received do not match the expected size or checksum."""


class TransferCancelled(TransferError):
    """The transfer was cancelled; the partial file is kept for resuming."""


class UnsafeArchiveError(TransferError):
    """An archive was refused: absolute or ``..`` member paths, links, or a zip bomb."""


class MemberNotFoundError(PixxelError, FileNotFoundError):
    """The product has no member of that name. ``members`` lists those it has."""

    def __init__(self, message: str, *, member: str, members: list[str] | None = None) -> None:
        super().__init__(message)
        self.member = member
        self.members = list(members or [])
