"""Faults the sandbox can inject, set at run time (all off by default).

Set them with ``POST /_sandbox/faults`` (JSON body of the fields below; fields not given keep
their value), clear them with ``DELETE /_sandbox/faults``, or use
:meth:`pixxel_geo.sandbox.Sandbox.set_faults` / ``clear_faults``.

=========================  ===================================================================
field                      effect
=========================  ===================================================================
``latency``                seconds slept before answering every ``/v0`` and ``/files`` request
``bandwidth``              bytes per second per file response (``/files``); ``None`` = no cap.
                           The WAN profile is ``latency=0.04, bandwidth=25e6``.
``rate_limit``             the next N ``/v0`` requests answer 429 with ``Retry-After``
``retry_after``            the ``Retry-After`` value (whole seconds) sent with those 429s
``server_errors``          the next N requests whose path starts with ``server_error_prefix``
                           answer ``server_error_status`` (e.g. 503) with the error envelope
``server_error_status``    the 5xx status used by ``server_errors`` and ``error_rate``
``server_error_prefix``    path prefix for ``server_errors`` and ``error_rate`` (default ``/v0/``)
``error_rate``             probability (0..1) that a matching request answers a 5xx, drawn from
                           a generator seeded with ``error_seed`` (reproducible sequences)
``error_seed``             seed for ``error_rate``
``cut_after``              file responses close the connection after N body bytes
``cut_count``              how many file responses are cut (``None`` = every one while set)
``no_range``               file responses ignore ``Range`` and answer 200 with the whole file
``url_lifetime``           seconds a signed URL handed out from now on stays valid
``download_seconds``       seconds new download resources take to reach ``success``
``delivery_seconds``       seconds new deliveries take to reach ``SUCCESS``
``fail_next_downloads``    the next N download resources created end ``failed``
``fail_next_deliveries``   the next N deliveries created end ``FAILED``
``drop_create_response``   the next N creates (POST stores / deliveries / download) are carried
                           out, but the response is dropped: headers are sent, then the
                           connection closes mid-body
``non_json_errors``        the next N ``/v0`` requests answer 502 with an HTML body, like a proxy
``expired_tokens``         tokens answered 403 "expired" (the launch token included if listed)
``extra_tokens``           more tokens accepted besides the launch token
``file_rate_limit``        the next N ``/files`` requests answer 429 ``SlowDown`` with
                           ``Retry-After`` (``retry_after`` seconds), like a throttled bucket
``hash_headers``           which checksum headers file responses carry: ``"repr-digest"``
                           (default: RFC 9530 ``Repr-Digest: sha-256``), ``"gcs"``
                           (``x-goog-hash: crc32c=…, md5=…`` and GCS's headers, no
                           ``Repr-Digest``), ``"s3"`` (an MD5 ``ETag`` and S3's headers, no
                           ``Repr-Digest``) or ``"none"`` (no checksum at all)
``part_digests``           206 responses also carry ``Content-Digest: sha-256`` of their body
``flip_byte``              file responses covering this offset of the file send that byte
                           inverted (a bit error in transit; the checksum headers stay right)
``flip_count``             how many responses are corrupted (``None`` = every one while set)
=========================  ===================================================================
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Faults:
    """The current fault settings (mutable; one instance per server)."""

    latency: float = 0.0
    bandwidth: float | None = None
    rate_limit: int = 0
    retry_after: int = 1
    server_errors: int = 0
    server_error_status: int = 503
    server_error_prefix: str = "/v0/"
    error_rate: float = 0.0
    error_seed: int = 0
    cut_after: int | None = None
    cut_count: int | None = None
    no_range: bool = False
    url_lifetime: float | None = None
    download_seconds: float | None = None
    delivery_seconds: float | None = None
    fail_next_downloads: int = 0
    fail_next_deliveries: int = 0
    drop_create_response: int = 0
    non_json_errors: int = 0
    expired_tokens: list[str] = field(default_factory=list)
    extra_tokens: list[str] = field(default_factory=list)
    file_rate_limit: int = 0
    hash_headers: str = "repr-digest"
    part_digests: bool = False
    flip_byte: int | None = None
    flip_count: int | None = None


FAULT_NAMES = tuple(f.name for f in dataclasses.fields(Faults))
_COUNTERS = (
    "rate_limit",
    "server_errors",
    "fail_next_downloads",
    "fail_next_deliveries",
    "drop_create_response",
    "non_json_errors",
    "file_rate_limit",
)
HASH_HEADERS = ("repr-digest", "gcs", "s3", "none")


class FaultState:
    """Holds the faults and consumes their counters as requests arrive.

    Example:
        >>> state = FaultState()
        >>> state.update({"rate_limit": 1})
        >>> state.take("rate_limit"), state.take("rate_limit")
        (True, False)
    """

    def __init__(self) -> None:
        self.faults = Faults()
        self._rng = random.Random(0)

    def update(self, values: dict[str, Any]) -> None:
        """Change the given fields (validated), keeping the others.

        Raises:
            ValueError: an unknown field name or a value of the wrong kind.
        """
        unknown = sorted(set(values) - set(FAULT_NAMES))
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; valid names are: {', '.join(FAULT_NAMES)}")
        candidate = dataclasses.replace(self.faults)
        for name, value in values.items():
            setattr(candidate, name, _check(name, value))
        self.faults = candidate
        if "error_seed" in values or "error_rate" in values:
            self._rng = random.Random(self.faults.error_seed)

    def clear(self) -> None:
        """Turn every fault off."""
        self.faults = Faults()
        self._rng = random.Random(0)

    def as_dict(self) -> dict[str, Any]:
        """Return the current faults as a JSON-ready dict."""
        return dataclasses.asdict(self.faults)

    def take(self, counter: str) -> bool:
        """Consume one unit of a counter fault; True when it fired."""
        if counter not in _COUNTERS:
            raise KeyError(counter)
        remaining = getattr(self.faults, counter)
        if remaining > 0:
            setattr(self.faults, counter, remaining - 1)
            return True
        return False

    def server_error_for(self, path: str) -> int | None:
        """Return the 5xx status to answer for ``path``, or None to answer normally."""
        faults = self.faults
        if not path.startswith(faults.server_error_prefix):
            return None
        if self.take("server_errors"):
            return faults.server_error_status
        if faults.error_rate > 0 and self._rng.random() < faults.error_rate:
            return faults.server_error_status
        return None

    def take_cut(self) -> int | None:
        """Return the byte count after which this file response is cut, or None."""
        faults = self.faults
        if faults.cut_after is None:
            return None
        if faults.cut_count is None:
            return faults.cut_after
        if faults.cut_count <= 0:
            return None
        faults.cut_count -= 1
        return faults.cut_after

    def take_flip(self, first: int, last: int) -> int | None:
        """Return the file offset to corrupt in a response sending bytes ``first..last``, or None."""
        faults = self.faults
        if faults.flip_byte is None or not first <= faults.flip_byte <= last:
            return None
        if faults.flip_count is None:
            return faults.flip_byte
        if faults.flip_count <= 0:
            return None
        faults.flip_count -= 1
        return faults.flip_byte


def _check(name: str, value: Any) -> Any:
    if name in ("expired_tokens", "extra_tokens"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"fault {name!r} must be a list of strings")
        return list(value)
    if name == "server_error_prefix":
        if not isinstance(value, str) or not value.startswith("/"):
            raise ValueError("fault 'server_error_prefix' must be a path starting with '/'")
        return value
    if name in ("no_range", "part_digests"):
        if not isinstance(value, bool):
            raise ValueError(f"fault {name!r} must be true or false")
        return value
    if name == "hash_headers":
        if value not in HASH_HEADERS:
            raise ValueError(f"fault 'hash_headers' must be one of: {', '.join(HASH_HEADERS)}")
        return value
    optional = name in (
        "bandwidth",
        "cut_after",
        "cut_count",
        "url_lifetime",
        "download_seconds",
        "delivery_seconds",
        "flip_byte",
        "flip_count",
    )
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"fault {name!r} must be a number, got {value!r}")
    if value < 0:
        raise ValueError(f"fault {name!r} must not be negative")
    if name == "server_error_status" and not 500 <= value <= 599:
        raise ValueError("fault 'server_error_status' must be a 5xx status")
    if name == "error_rate" and value > 1:
        raise ValueError("fault 'error_rate' is a probability between 0 and 1")
    if name == "bandwidth" and value == 0:
        raise ValueError("fault 'bandwidth' must be positive (or null for no cap)")
    is_int = name in (*_COUNTERS, "retry_after", "server_error_status", "error_seed")
    is_int = is_int or name in ("cut_after", "cut_count", "flip_byte", "flip_count")
    return int(value) if is_int else float(value)
