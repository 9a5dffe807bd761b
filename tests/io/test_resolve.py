"""One way from a source to an archive: dispatch by type on the API's models, one table of path kinds."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest

import pixxel_geo as px
from pixxel_geo.api.models import Catalog, Download, DownloadStatus
from pixxel_geo.io.api_sources import CatalogURLSource, DownloadURLSource
from pixxel_geo.io.resolve import PATH_KINDS, PixxelPath, parse_pixxel_path, path_archive, resolve_source
from pixxel_geo.io.session import IOSession
from pixxel_geo.io.stores import DeliverySource


def test_path_kinds_are_a_read_only_table() -> None:
    assert set(PATH_KINDS) == {"catalogs", "order-items", "deliveries"}
    with pytest.raises(TypeError):
        PATH_KINDS["mine"] = lambda *a: None  # type: ignore[index]


def test_paths_are_taken_apart() -> None:
    assert parse_pixxel_path("pixxel://catalogs/c1/dir/a.tif") == PixxelPath("catalogs", "c1", "dir/a.tif")
    assert parse_pixxel_path("pixxel://") == PixxelPath("")
    with pytest.raises(FileNotFoundError, match="catalogs, deliveries, order-items"):
        parse_pixxel_path("pixxel://elsewhere/x")
    with pytest.raises(IsADirectoryError):
        path_archive(PixxelPath("catalogs"))


def test_a_catalog_subclass_is_still_a_catalog(client: Any, io_session: IOSession) -> None:
    """Dispatch is by type, not by the class's name."""
    catalog = next(iter(client.catalogs.search(limit=1)))

    class Mine(Catalog):
        pass

    mine = Mine(**{f.name: getattr(catalog, f.name) for f in dataclasses.fields(catalog)})
    resolved = resolve_source(mine, client)
    assert resolved.catalog_id == catalog.id
    assert isinstance(resolved.archive.source, CatalogURLSource)
    assert resolved.archive is resolve_source(catalog.id, client).archive  # one archive per catalog


def test_a_look_alike_of_another_type_is_refused() -> None:
    """An object merely *named* like a model is not one."""
    look_alike = type("Catalog", (), {"id": "c1", "details": {}})
    with pytest.raises(px.InvalidInputError, match="cannot read from a Catalog"):
        resolve_source(look_alike())


def test_a_download_reads_its_signed_url(client: Any, io_session: IOSession) -> None:
    catalog = next(iter(client.catalogs.search(limit=1)))
    made = client.downloads.wait(client.downloads.create(catalog_ids=[catalog.id]).id, timeout=60)
    download = Download(id=made.id, status=DownloadStatus("SUCCESS"), signed_url=made.signed_url)
    resolved = resolve_source(download, client)
    assert isinstance(resolved.archive.source, DownloadURLSource)
    assert resolved.archive.names()
    assert resolved.archive.session is io_session
    blob = pickle.dumps(resolved.archive)
    assert b"X-Pixxel-Signature" not in blob and made.signed_url.encode() not in blob


def test_a_delivery_resolves_through_the_api(client: Any) -> None:
    with pytest.raises(px.InvalidInputError, match="no delivery with id"):
        resolve_source(DeliverySource("no-such-delivery"), client)


def test_anything_else_is_refused_with_what_to_pass() -> None:
    with pytest.raises(px.InvalidInputError, match="pass a catalog id"):
        resolve_source(42)
    with pytest.raises(px.InvalidInputError, match="is not a catalog id"):
        resolve_source("not/an/id")
