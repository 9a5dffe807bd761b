"""What both clients share: building requests, retrying, mapping errors.

Nothing here does I/O. :meth:`BaseClient.request` is a generator (see
:mod:`pixxel_geo.api._steps`) that the sync and async clients drive.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from pixxel_geo._version import __version__
from pixxel_geo.api._answers import expect_resource
from pixxel_geo.api._auth import ApiKeyAuth
from pixxel_geo.api._steps import NOW, WALL, Operation, Sleep
from pixxel_geo.api.config import ClientConfig
from pixxel_geo.api.deadline import with_deadline
from pixxel_geo.api.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    MalformedResponseError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    PixxelError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)
from pixxel_geo.api.retry import parse_retry_after

if TYPE_CHECKING:
    from pixxel_geo.api._waiting import PollSchedule

__all__ = ["AmbiguousRequestError", "BaseClient", "DeadlineReached", "error_from_response"]

logger = logging.getLogger("pixxel_geo.api")

T = TypeVar("T")

_STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}
_REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-requestid", "x-correlation-id", "request-id")


class AmbiguousRequestError(Exception):
    """A non-idempotent request failed in a way that may have left it done on the server.

    Internal: create operations catch it, look for what the first attempt
    created, and only then decide to try again.
    """

    def __init__(self, error: PixxelError) -> None:
        super().__init__(str(error))
        self.error = error


class DeadlineReached(Exception):
    """Retrying a failed request would run past the caller's deadline.

    Internal: waits catch it and raise :class:`~pixxel_geo.api.errors.WaitTimeoutError`
    naming what they were waiting for; ``error`` is the last failure.
    """

    def __init__(self, error: PixxelError) -> None:
        super().__init__(str(error))
        self.error = error


def _advice(status: int, config: ClientConfig) -> str:
    if status == 401:
        return (
            f"The API key was refused as malformed or unknown (key {_key_origin(config)}). "
            "Check it, or create a Personal Access Token in the Pixxel platform "
            "(Settings → Personal Access Tokens)."
        )
    if status == 403:
        return (
            f"Access denied (key {_key_origin(config)}): the token may be missing, expired, "
            "revoked, or lack the role for this operation. Check it in the Pixxel platform."
        )
    if status == 404:
        return "Not found: check the id."
    if status == 429:
        return "Too many requests: slow down or try again later."
    if status >= 500:
        return "The Pixxel API failed; try again later."
    return "Check the request's arguments."


def _key_origin(config: ClientConfig) -> str:
    if not config.api_key:
        return "not set: pass api_key=, set PIXXEL_API_KEY, or add api_key to the config file"
    return f"read from {config.api_key_source}"


def error_from_response(response: httpx.Response, config: ClientConfig, now: float | None = None) -> APIError:
    """Map an error response to the exception tree, reading the API's envelope if present.

    ``now`` (epoch seconds) dates a ``Retry-After`` given as an HTTP-date.
    """
    status = response.status_code
    code = api_message = details = None
    try:
        body = response.json()
    except (ValueError, RecursionError):  # not JSON, or JSON nested too deep to read
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        envelope = body["error"]
        code = envelope.get("code")
        api_message = envelope.get("message")
        details = envelope.get("details")
    elif isinstance(body, dict) and isinstance(body.get("message"), str):
        api_message = body["message"]
    request = response.request
    path = request.url.path
    said = f": {api_message}" if api_message else ""
    if body is None and response.content:
        said = f" (a non-JSON {response.headers.get('content-type', 'body').split(';')[0]})"
    message = f"{request.method} {path} answered {status}{said}. {_advice(status, config)}"
    cls = _STATUS_ERRORS.get(status, ServerError if status >= 500 else APIError)
    request_id = next((response.headers[h] for h in _REQUEST_ID_HEADERS if h in response.headers), None)
    kwargs: dict[str, Any] = {
        "status_code": status,
        "code": code,
        "api_message": api_message,
        "details": details,
        "method": request.method,
        "path": path,
        "request_id": request_id,
    }
    if cls is RateLimitError:
        return RateLimitError(
            message, retry_after=parse_retry_after(response.headers.get("retry-after"), now), **kwargs
        )
    return cls(message, **kwargs)


def _transport_error(exc: httpx.RequestError, request: httpx.Request, timeout: float) -> TransportError:
    port = f":{request.url.port}" if request.url.port else ""
    where = f"{request.method} {request.url.scheme}://{request.url.host}{port}{request.url.path}"
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeoutError(
            f"{where} timed out ({type(exc).__name__}): no complete answer within the client's timeout of "
            f"{timeout:g} s. The server may be slow or unreachable; try again or raise the timeout."
        )
    if isinstance(exc, httpx.LocalProtocolError):
        return NetworkError(
            f"{where} could not be sent: {type(exc).__name__} (a header or URL the HTTP protocol does not allow). "
            "Check the API key and API URL for stray spaces, line breaks or other control characters."
        )
    return NetworkError(f"{where} failed: {type(exc).__name__}. Check the API URL and your network connection.")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _may_have_arrived(exc: httpx.RequestError) -> bool:
    """Whether a failed request could have reached the server before failing."""
    return not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | httpx.LocalProtocolError)


class BaseClient:
    """Configuration, request building and the retrying request generator."""

    _poll_schedule: PollSchedule
    """How waits poll (set by the driver, from its ``poll_schedule=``)."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._auth = ApiKeyAuth(config.api_key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.config.base_url!r})"

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "base_url": self.config.base_url,
            "timeout": httpx.Timeout(self.config.timeout, connect=min(10.0, self.config.timeout)),
            "headers": {"User-Agent": f"pixxel-geo/{__version__}", "Accept": "application/json"},
            "follow_redirects": False,
        }

    def build_request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        authenticated: bool = True,
    ) -> httpx.Request:
        if authenticated and not self.config.api_key:
            raise ConfigurationError(
                "No Pixxel API key: pass api_key=, set PIXXEL_API_KEY, or put api_key in "
                "the config file (see pixxel_geo.api.config)."
            )
        if authenticated and self._auth.malformed:
            raise ConfigurationError(
                f"The API key ({_key_origin(self.config)}) holds a space, a line break or another character "
                "no Personal Access Token has. Copy the token again, without quotes or line breaks."
            )
        url = httpx.URL(self.config.base_url + path)
        if authenticated and url.scheme == "http" and not _is_loopback(url.host):
            raise ConfigurationError(
                f"Refusing to send the API key in clear text over http:// to {url.host}. "
                "Use an https:// API URL (plain http is allowed only for 127.0.0.1, ::1 or localhost)."
            )
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        request = httpx.Request(
            method, url, params=clean or None, json=json_body, headers=self._client_kwargs()["headers"]
        )
        if authenticated:
            request.headers["Authorization"] = self._auth.header_value
        return request

    def get_resource(
        self, path: str, parse: Callable[[dict[str, Any]], T], what: str, *, deadline: float | None = None
    ) -> Operation[T]:
        """``GET path``: one resource, its answer checked (a JSON object with a usable id) and parsed."""
        answer = yield from self.request("GET", path, deadline=deadline)
        return parse(expect_resource(answer, f"GET {path}", what))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
        authenticated: bool = True,
        deadline: float | None = None,
        decode: bool = True,
    ) -> Operation[Any]:
        """Send one API request with retries; return its decoded JSON body (or None).

        Non-idempotent requests (POST) are retried only when the server surely
        did not act (connection refused, 429); otherwise an
        :class:`AmbiguousRequestError` lets the caller check before retrying.

        A retry never comes sooner than the server's ``Retry-After``; if that is
        longer than the policy's ``backoff_cap``, the error is raised at once
        (a :class:`RateLimitError` carries ``retry_after``). A DELETE whose
        earlier attempt may have reached the server counts a 404 as done. With
        ``deadline`` (a time on the client's clock, see :data:`~pixxel_geo.api._steps.NOW`), a retry that would wait
        past it raises :class:`DeadlineReached` instead. With ``decode=False`` a
        success's body is not read as JSON (a DELETE's answer says nothing more).
        """
        if idempotent is None:
            idempotent = method.upper() in {"GET", "HEAD", "OPTIONS", "DELETE", "PUT"}
        policy = self.config.retry
        # One deadline for the whole call, retries included: a server dripping bytes or
        # asking for retry after retry cannot hold the caller past the client's timeout.
        call_deadline = (yield NOW) + self.config.timeout
        limit = call_deadline if deadline is None else min(call_deadline, deadline)
        attempt = 0
        maybe_done = False  # an earlier attempt may have acted on the server
        while True:
            request = self.build_request(method, path, params=params, json_body=json_body, authenticated=authenticated)
            started = yield NOW
            with_deadline(request, limit, self.config.timeout, started)
            error: PixxelError
            retry_after: float | None = None
            try:
                response: httpx.Response = yield request
            except httpx.DecodingError as exc:
                raise _undecodable(request, exc) from None
            except httpx.RequestError as exc:
                error = _transport_error(exc, request, self.config.timeout)
                logger.debug("%s %s -> %s", method, path, type(exc).__name__)
                ambiguous = _may_have_arrived(exc)
                retryable = idempotent or not ambiguous
            else:
                elapsed_ms = ((yield NOW) - started) * 1000
                logger.debug("%s %s -> %d in %.0f ms", method, path, response.status_code, elapsed_ms)
                if response.is_success:
                    return _decode(response) if decode else None
                if response.status_code == 404 and maybe_done and method.upper() == "DELETE":
                    logger.debug("%s %s -> 404 after a lost answer: already deleted", method, path)
                    return None
                header = response.headers.get("retry-after")
                wall = (yield WALL) if header and not _is_number(header) else None  # an HTTP-date
                error = error_from_response(response, self.config, now=wall)
                retry_after = parse_retry_after(header, now=wall)
                status = response.status_code
                ambiguous = status >= 500
                retryable = status in policy.retry_statuses and (idempotent or status == 429)
            attempt += 1
            maybe_done = maybe_done or ambiguous
            if not retryable or attempt >= policy.max_attempts:
                if not idempotent and ambiguous:
                    raise AmbiguousRequestError(error)
                raise error
            delay = policy.delay(attempt - 1) if retry_after is None else retry_after
            now = yield NOW
            if deadline is not None and now + delay >= deadline:
                raise DeadlineReached(error)
            if retry_after is not None and retry_after > policy.backoff_cap:
                raise _asked_to_wait(error, retry_after)
            if now + delay >= call_deadline:
                _out_of_time(error, attempt, self.config.timeout)
                if not idempotent and ambiguous:
                    raise AmbiguousRequestError(error)
                raise error
            yield Sleep(delay)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _out_of_time(error: PixxelError, attempts: int, timeout: float) -> None:
    """Say in ``error`` that retrying would pass the client's timeout."""
    error.message += (
        f" Gave up after {attempts} attempt(s): another would end past the client's timeout of {timeout:g} s "
        "(raise it with timeout= or --timeout to let the client retry longer)."
    )
    error.args = (error.message,)


def _asked_to_wait(error: PixxelError, retry_after: float) -> PixxelError:
    """The error to raise when the server asks for a longer pause than the policy allows."""
    advice = (
        f" The server asked to retry after {retry_after:g} s, longer than the retry policy's "
        "backoff_cap; retry no sooner than that (or raise backoff_cap to let the client wait)."
    )
    error.message += advice
    error.args = (error.message,)
    if isinstance(error, RateLimitError):
        error.retry_after = retry_after
    return error


def _undecodable(request: httpx.Request, exc: httpx.DecodingError) -> MalformedResponseError:
    """A body that does not decode as its ``Content-Encoding`` says (a gzip header on plain bytes)."""
    return MalformedResponseError(
        f"{request.method} {request.url.path} answered with a body that does not decode as its "
        f"Content-Encoding header says ({type(exc).__name__}: {exc}). A proxy between you and the API may "
        "be altering answers; check the API URL, or try again later.",
        status_code=0,
        method=request.method,
        path=request.url.path,
    )


def _decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        problem = "JSON nested too deep to read" if isinstance(exc, RecursionError) else "a body that is not JSON"
        raise MalformedResponseError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code} with {problem}. Is the API URL right?",
            status_code=response.status_code,
            method=response.request.method,
            path=response.request.url.path,
        ) from None
