"""Creating without duplicates, written once.

The API has no idempotency key: a POST whose answer was lost (a timeout, a 5xx, a
dropped connection) may or may not have created something. Sending it again blindly
could create a second one, so :func:`create_once` looks first for what the lost
attempt made, and sends again only when it finds nothing (or only for what is still
missing: ``send`` and ``find`` may share state, as deliveries' do).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pixxel_geo.api._base import AmbiguousRequestError
from pixxel_geo.api._steps import Operation, Sleep
from pixxel_geo.api.errors import PixxelError
from pixxel_geo.api.retry import RetryPolicy

__all__ = ["create_once"]

T = TypeVar("T")


def create_once(
    send: Callable[[], Operation[T]],
    find: Callable[[], Operation[T | None]] | None,
    policy: RetryPolicy,
    gave_up: Callable[[PixxelError], PixxelError] = lambda error: error,
) -> Operation[T]:
    """Run ``send`` (the create request); after an ambiguous failure, run ``find`` before sending again.

    Args:
        send: the create request's operation (the request itself is sent with ``idempotent=False``).
        find: looks for what lost attempts created: the result to return, or ``None`` to send
            again (after the policy's backoff). ``None`` when the API offers no way to look:
            the first ambiguous failure is then final.
        policy: how many attempts in all, and the pause between them.
        gave_up: turns the last failure into the error to raise (to say what was found).

    Raises:
        PixxelError: ``gave_up(last failure)``, once the attempts are spent or nothing can be looked up.
    """
    for attempt in range(policy.max_attempts):
        try:
            return (yield from send())
        except AmbiguousRequestError as ambiguous:
            if find is None:
                raise gave_up(ambiguous.error) from None
            found = yield from find()
            if found is not None:
                return found
            if attempt + 1 >= policy.max_attempts:
                raise gave_up(ambiguous.error) from None
            yield Sleep(policy.delay(attempt))
    raise AssertionError("unreachable: RetryPolicy.max_attempts is at least 1")  # pragma: no cover
