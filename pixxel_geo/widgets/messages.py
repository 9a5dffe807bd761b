"""The panel's message area: errors shown as what went wrong and what to do.

Every failure in the widgets ends here instead of as a traceback lost in a log.
Known errors (the toolkit's own, network and file errors) get a plain message and
advice; anything else is a bug: it is shown too, and logged with its traceback.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from pixxel_geo.api import errors

__all__ = ["MessageArea", "advice_for"]

logger = logging.getLogger(__name__)

_ADVICE: list[tuple[type[BaseException], str]] = [
    (errors.ConfigurationError, "Set PIXXEL_API_KEY (or pass client=px.Client(api_key=...)) and try again."),
    (errors.AuthenticationError, "Check your API key: it is unknown or malformed."),
    (errors.PermissionDeniedError, "Your key lacks access, or has expired: create a new key and try again."),
    (errors.NotFoundError, "It no longer exists: press Refresh to reload the catalog."),
    (errors.RateLimitError, "The API is busy: wait a moment and try again."),
    (errors.ServerError, "The Pixxel API failed: try again in a minute."),
    (errors.TransportError, "Could not reach the API: check your network (or PIXXEL_API_URL) and retry."),
    (errors.WaitTimeoutError, "It is taking longer than usual: check again later with Refresh."),
    (
        errors.DeliveryFailedError,
        "The delivery failed: check the store's bucket and credentials, then retry.",
    ),
    (errors.DownloadFailedError, "The download could not be prepared: try again, or contact Pixxel support."),
    (errors.SignedURLError, "The download link expired: press Get link or Download again."),
    (errors.TransferCancelled, "Cancelled. Press Download again to resume where it stopped."),
    (errors.IntegrityError, "The file arrived damaged and was discarded: press Download again."),
    (
        errors.TransferError,
        "The transfer failed: check free disk space and the destination folder, then retry.",
    ),
    (errors.InvalidInputError, "Change the input as described and try again."),
    (errors.MemberNotFoundError, "The product lacks that file: it may not be a Pixxel L2A product."),
    (errors.APIError, "The API refused the request: see the message above."),
    (PermissionError, "Check the permissions of the destination folder."),
    (OSError, "Check the destination folder and free disk space, then retry."),
    (ValueError, "Change the input as described and try again."),
]


def advice_for(error: BaseException) -> tuple[str, bool]:
    """What to tell the user about ``error``.

    Args:
        error: the exception.

    Returns:
        ``(advice, known)``; ``known`` is False for unexpected errors (bugs).

    Example:
        >>> advice_for(errors.RateLimitError("429", status_code=429))[0]
        'The API is busy: wait a moment and try again.'
    """
    for kind, advice in _ADVICE:
        if isinstance(error, kind):
            return advice, True
    return "This is a bug in pixxel-geo: please report it with the steps that led here.", False


class MessageArea(widgets.HTML):
    """An HTML line showing the latest error (red) or notice (grey).

    Example:
        >>> area = MessageArea()
        >>> area.show_error(ValueError("cloud cover must be 0-100"))
        >>> area.kind
        'error'
    """

    def __init__(self) -> None:
        super().__init__(value="")
        self.add_class("pixxel-messages")
        self.kind = ""
        self.text = ""

    def show_error(self, error: BaseException, action: str = "") -> None:
        """Show ``error`` with advice; unexpected errors are also logged with their traceback.

        Args:
            error: the exception.
            action: what was being done, e.g. ``"Download"``.
        """
        advice, known = advice_for(error)
        if not known:
            logger.error("unexpected error in the Pixxel panel", exc_info=error)
        prefix = f"{action} failed: " if action else ""
        message = str(error) or type(error).__name__
        self.kind = "error"
        self.text = f"{prefix}{message} {advice}"
        self.value = (
            '<div class="pixxel-error" style="color:#b00020">'
            f"<b>{html.escape(prefix)}</b>{html.escape(message)}<br>{html.escape(advice)}</div>"
        )

    def show_info(self, text: str) -> None:
        """Show a neutral notice."""
        self.kind = "info"
        self.text = text
        self.value = f'<div class="pixxel-info" style="color:#555">{html.escape(text)}</div>'

    def guard(self, action: str, function: Callable[[], Any]) -> Callable[..., None]:
        """A widget callback that runs ``function()`` and shows any error here.

        Args:
            action: what the callback does, for the message (``"Download"``).
            function: takes no arguments.

        Returns:
            A callback accepting (and ignoring) whatever the widget passes.
        """

        def callback(*_: Any, **__: Any) -> None:
            try:
                function()
            except Exception as exc:
                self.show_error(exc, action)

        return callback

    def clear(self) -> None:
        """Remove the message."""
        self.kind = ""
        self.text = ""
        self.value = ""
