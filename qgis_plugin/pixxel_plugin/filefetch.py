"""Stream a signed URL to a file through QGIS's network stack, piece by piece.

``QgsBlockingNetworkRequest`` buffers a whole reply in memory, so the file is
fetched in ranged pieces (``Range: bytes=a-b``, 8 MiB by default): memory stays
bounded, progress is reported after each piece, cancellation takes effect
between pieces (and aborts the piece in flight). The bytes go to
``<dest>.part``, are checked against the size in ``Content-Range`` and the
server's ``Repr-Digest: sha-256`` when sent, then renamed into place.

A ``200`` (the whole file) is accepted only as the answer to the first piece: a
server that stops honouring ``Range`` mid-way would otherwise have its whole
file appended after the bytes already written.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

from qgis.core import QgsBlockingNetworkRequest, QgsFeedback
from qgis.PyQt.QtCore import QByteArray, QUrl
from qgis.PyQt.QtNetwork import QNetworkRequest

from ._vendor.pixxel_geo import redact_urls

__all__ = ["FetchError", "RangeIgnoredError", "fetch_to_file", "safe_file_stem"]

DEFAULT_PIECE = 8 * 1024 * 1024
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
MAX_STEM = 120
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_SHA256 = re.compile(r"sha-256=:([A-Za-z0-9+/=]+):")


class FetchError(RuntimeError):
    """The file could not be fetched (message without the URL's query)."""


class RangeIgnoredError(FetchError):
    """The server answered a later piece with the whole file (200): it stopped honouring ``Range``.

    The ``.part`` file, holding the valid bytes received before, is kept.
    """


def safe_file_stem(name: str | None, fallback: str = "product") -> str:
    """``name`` made safe as a file name inside a chosen folder (API-supplied ids are untrusted).

    Every run of characters other than letters, digits, ``.``, ``_``, ``-`` becomes
    ``_`` (so no ``/``, ``\\`` or drive colon survives), leading and trailing ``.`` and
    ``_`` are dropped (no ``..``, no hidden files), and the length is capped.

    Args:
        name: e.g. a catalog's ``item_id``.
        fallback: used when nothing of ``name`` is left.

    Returns:
        A non-empty name without path separators that is neither ``.`` nor ``..``.

    Example:
        >>> safe_file_stem("../../etc/passwd")
        'etc_passwd'
        >>> safe_file_stem("/abs/olute"), safe_file_stem("..", "cat-1")
        ('abs_olute', 'cat-1')
    """
    stem = _UNSAFE_CHARS.sub("_", name or "").strip("._")[:MAX_STEM].strip("._")
    if stem:
        return stem
    return _UNSAFE_CHARS.sub("_", fallback).strip("._")[:MAX_STEM].strip("._") or "product"


def _get_piece(url: QUrl, start: int, end: int, feedback: QgsFeedback | None) -> tuple[int, dict[str, str], bytes]:
    request = QNetworkRequest(url)
    request.setRawHeader(b"Range", f"bytes={start}-{end}".encode())
    request.setAttribute(QNetworkRequest.CacheLoadControlAttribute, QNetworkRequest.AlwaysNetwork)
    request.setAttribute(QNetworkRequest.CacheSaveControlAttribute, False)
    blocking = QgsBlockingNetworkRequest()
    code = blocking.get(request, True, feedback)
    reply = blocking.reply()
    status = reply.attribute(QNetworkRequest.HttpStatusCodeAttribute)
    if feedback is not None and feedback.isCanceled():
        raise FetchError("The download was cancelled.")
    if status is None:
        raise FetchError(f"No answer from the file server: {redact_urls(blocking.errorMessage() or str(code))}")
    headers = {
        bytes(n).decode("latin-1").lower(): bytes(reply.rawHeader(n)).decode("latin-1") for n in reply.rawHeaderList()
    }
    return int(status), headers, bytes(reply.content())


def fetch_to_file(
    signed_url: str,
    dest: Path,
    progress: Callable[[int, int], None] | None = None,
    feedback: QgsFeedback | None = None,
    piece_size: int | None = None,
) -> Path:
    """Download ``signed_url`` to ``dest`` by ranged GETs; return ``dest``.

    Args:
        signed_url: the download's signed URL.
        dest: the final file (its folder must exist); ``dest.part`` is used meanwhile.
        progress: called with ``(bytes_done, bytes_total)`` after each piece.
        feedback: cancelling it stops the download (the part file is removed).
        piece_size: bytes per request (default :data:`DEFAULT_PIECE`).

    Returns:
        ``dest``.

    Raises:
        FetchError: refused or expired URL (403), a broken answer, a size or
            checksum mismatch, or cancellation (the part file is removed).
        RangeIgnoredError: a later piece came back as the whole file (200); the
            part file is kept.

    Example:
        >>> fetch_to_file(download.signed_url, Path("/data/scene.zip"))  # doctest: +SKIP
    """
    piece_size = piece_size or DEFAULT_PIECE
    url = QUrl.fromEncoded(QByteArray(signed_url.encode("ascii")))
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    done, total = 0, None
    expected_sha: str | None = None
    try:
        with part.open("wb") as out:
            while total is None or done < total:
                status, headers, body = _get_piece(url, done, done + piece_size - 1, feedback)
                if status == 403:
                    raise FetchError("The file server refused the signed URL (403): it may have expired. Try again.")
                if status not in (200, 206):
                    raise FetchError(f"The file server answered {status} for {dest.name}.")
                match = _SHA256.search(headers.get("repr-digest", ""))
                expected_sha = expected_sha or (match.group(1) if match else None)
                if status == 200 and done:
                    raise RangeIgnoredError(
                        f"The file server stopped honouring range requests after {done} bytes of {dest.name} "
                        f"(it sent the whole file again), so the download cannot continue safely. "
                        f"The bytes received so far are kept in {part.name}; try again later."
                    )
                if status == 200:  # no range support: the whole file came at once
                    total = len(body)
                else:
                    cr = _CONTENT_RANGE.match(headers.get("content-range", ""))
                    if not cr or int(cr.group(1)) != done:
                        raise FetchError("The file server sent a piece that does not fit: try again.")
                    total = int(cr.group(3)) if cr.group(3) != "*" else None
                    if total is None:
                        raise FetchError("The file server did not say how large the file is.")
                if not body:
                    raise FetchError(f"The file server sent no bytes at offset {done} of {total}.")
                out.write(body)
                digest.update(body)
                done += len(body)
                if progress is not None:
                    progress(done, total)
        if expected_sha and base64.b64encode(digest.digest()).decode("ascii") != expected_sha:
            raise FetchError(f"{dest.name}: the SHA-256 does not match the server's digest; try again.")
        os.replace(part, dest)
    except RangeIgnoredError:
        raise
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return dest
