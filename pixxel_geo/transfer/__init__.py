"""Downloads: parallel ranged GETs, resume, verification, safe extraction.

Public names:
    fetch: any (signed) URL to a file, resumable and verified.
    download_products / adownload_products: Pixxel products (download
        resources) to files, optionally extracted.
    safe_extract: unpack a zip refusing zip-slip, links and zip bombs.
    FileFinished: the event closing a file transfer, with numbers for summaries.
"""

from __future__ import annotations

from pixxel_geo.api.retry import RetryPolicy
from pixxel_geo.transfer.engine import fetch
from pixxel_geo.transfer.extract import safe_extract
from pixxel_geo.transfer.products import adownload_products, download_products, product_file_name
from pixxel_geo.transfer.progress import FileFinished

__all__ = [
    "FileFinished",
    "RetryPolicy",
    "adownload_products",
    "download_products",
    "fetch",
    "product_file_name",
    "safe_extract",
]
