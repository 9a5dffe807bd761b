"""Status vocabularies of deliveries and download resources, normalised.

The API speaks two vocabularies (deliveries ``CREATED | IN_PROGRESS | SUCCESS |
FAILED | UNSPECIFIED``, downloads ``created | in_progress | success | failed``)
and some documents show synonyms (``SUCCESSFUL``). A status keeps the raw value
and maps it onto one canonical name; anything unrecognised becomes ``UNKNOWN``,
which is never taken for success or failure.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = ["DeliveryStatus", "DownloadStatus", "Status"]

_SYNONYMS = {
    "SUCCESSFUL": "SUCCESS",
    "SUCCEEDED": "SUCCESS",
    "COMPLETED": "SUCCESS",
    "DONE": "SUCCESS",
    "INPROGRESS": "IN_PROGRESS",
    "RUNNING": "IN_PROGRESS",
    "PENDING": "CREATED",
    "QUEUED": "CREATED",
    "FAILURE": "FAILED",
    "ERROR": "FAILED",
}


class Status:
    """A normalised status: ``value`` is canonical, ``raw`` is what the API sent.

    Example:
        >>> s = DeliveryStatus("successful")
        >>> s.value, s.raw, s.is_success
        ('SUCCESS', 'successful', True)
        >>> DeliveryStatus("ARCHIVED").value, DeliveryStatus("ARCHIVED").is_final
        ('UNKNOWN', False)
        >>> s == "SUCCESS", s == DeliveryStatus("SUCCESS"), hash(s) == hash("SUCCESS")
        (True, True, True)
    """

    KNOWN: ClassVar[frozenset[str]] = frozenset()
    __slots__ = ("raw", "value")

    def __init__(self, raw: object) -> None:
        text = "" if raw is None else str(raw)
        key = text.strip().upper().replace("-", "_").replace(" ", "_")
        key = _SYNONYMS.get(key, key)
        object.__setattr__(self, "raw", text)
        object.__setattr__(self, "value", key if key in self.KNOWN else "UNKNOWN")

    raw: str
    value: str

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    @property
    def is_success(self) -> bool:
        return self.value == "SUCCESS"

    @property
    def is_failure(self) -> bool:
        return self.value == "FAILED"

    @property
    def is_final(self) -> bool:
        return self.is_success or self.is_failure

    @property
    def is_unknown(self) -> bool:
        return self.value == "UNKNOWN"

    def __eq__(self, other: object) -> bool:
        """Equal to a status of the same kind that means the same: the same canonical ``value``, and for
        two unknown statuses the same ``raw`` text (``ARCHIVING`` is not ``EXPIRED``); equal to a string
        that is its canonical ``value`` (``status == "SUCCESS"``), never when unknown.

        Equal objects hash equal (both hash the canonical ``value``), so statuses and their names mix
        in sets and dict keys. A string is not normalised for the comparison (``"success"`` is not
        ``"SUCCESS"``): compare with the canonical name, or use :attr:`is_success` and friends.
        """
        if isinstance(other, Status):
            return (
                type(other) is type(self)
                and other.value == self.value
                and (not self.is_unknown or other.raw == self.raw)
            )
        if isinstance(other, str):
            return not self.is_unknown and other == self.value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.value)

    def __str__(self) -> str:
        return self.value if not self.is_unknown else f"UNKNOWN({self.raw!r})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.raw!r})"


class DeliveryStatus(Status):
    """A delivery's status: CREATED, IN_PROGRESS, SUCCESS, FAILED, UNSPECIFIED or UNKNOWN."""

    KNOWN = frozenset({"UNSPECIFIED", "CREATED", "IN_PROGRESS", "SUCCESS", "FAILED"})


class DownloadStatus(Status):
    """A download resource's status: CREATED, IN_PROGRESS, SUCCESS, FAILED or UNKNOWN.

    The API sends these in lower case; ``value`` is upper case like deliveries'.
    """

    KNOWN = frozenset({"CREATED", "IN_PROGRESS", "SUCCESS", "FAILED"})
