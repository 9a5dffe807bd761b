"""The ranged-HTTP toolkit that streaming (``pixxel_geo.io``), downloads (``pixxel_geo.transfer``) and
the QGIS plugin share: re-signing on 403 as an ``httpx.Auth`` flow, one retry loop, one
``Content-Range`` parser and one digest parser.

It needs httpx, the standard library and the public modules of ``pixxel_geo.api`` only (the QGIS
plugin vendors it); ``google-crc32c`` is used when installed.

Example:
    >>> from pixxel_geo.ranged import RenewableURL, ResignOn403
    >>> auth = ResignOn403(RenewableURL("http://files.test/a.zip?sig=1"))
    >>> parse_content_range("bytes 0-0/1234").total
    1234
"""

from pixxel_geo.ranged.content_range import ContentRange, parse_content_range
from pixxel_geo.ranged.digest import (
    ExpectedDigest,
    HashObject,
    announced_digest,
    parse_digest_header,
    parse_goog_hash,
    part_digest,
    s3_etag_md5,
)
from pixxel_geo.ranged.renewable import RenewableURL, Signed
from pixxel_geo.ranged.resign import ResignOn403
from pixxel_geo.ranged.retrying import MAX_RETRY_AFTER, Attempts, Failure, GiveUp

__all__ = [
    "MAX_RETRY_AFTER",
    "Attempts",
    "ContentRange",
    "ExpectedDigest",
    "Failure",
    "GiveUp",
    "HashObject",
    "RenewableURL",
    "ResignOn403",
    "Signed",
    "announced_digest",
    "parse_content_range",
    "parse_digest_header",
    "parse_goog_hash",
    "part_digest",
    "s3_etag_md5",
]
