"""read_vector: GDAL's error text never carries a signature; pyogrio's process-wide options."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import pixxel_geo as px
from pixxel_geo.api.errors import TransferError
from pixxel_geo.io.resolve import resolve_source
from pixxel_geo.io.vector import pyogrio_options


def test_gdal_quoting_the_decoded_signed_url_is_redacted(
    client: Any, catalog: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyogrio

    archive = resolve_source(catalog.id, client).archive
    url = archive.reader.current_url()
    signature = url.split("?", 1)[1]
    footprint = next(n for n in archive.names() if n.endswith("_footprint.geojson"))
    archive.data_range(footprint)

    def fails(path: str, **kwargs: Any) -> Any:
        # GDAL's /vsicurl warns "HTTP response code on %s: %d" with the URL decoded, and
        # pyogrio raises the last message; no sandbox fault makes GDAL choose that branch.
        raise pyogrio.errors.DataSourceError(f"HTTP response code on {url}: 500 ({path})")

    monkeypatch.setattr(pyogrio, "read_dataframe", fails)
    with pytest.raises(TransferError) as caught:
        px.read_vector(catalog.id, footprint, client=client)
    message = str(caught.value)
    assert "X-Pixxel-Signature" not in message and signature not in message
    assert url.split("?", 1)[0] in message  # where it failed is still said


def test_concurrent_option_blocks_do_not_undo_each_other() -> None:
    import pyogrio

    name = "PIXXEL_GEO_TEST_OPTION"
    assert pyogrio.get_gdal_config_option(name) is None
    first_inside, second_inside, first_done = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, Any] = {}

    def second() -> None:
        first_inside.wait(10)
        with pyogrio_options({name: "second"}):
            second_inside.set()
            first_done.wait(10)  # unlocked, the first block's exit would restore under us here
            seen["second"] = pyogrio.get_gdal_config_option(name)

    other = threading.Thread(target=second)
    other.start()
    with pyogrio_options({name: "first"}):
        first_inside.set()
        second_inside.wait(1)  # unlocked, the second block would set its value under us now
        seen["first"] = pyogrio.get_gdal_config_option(name)
    first_done.set()
    other.join()
    assert seen == {"first": "first", "second": "second"}
    assert pyogrio.get_gdal_config_option(name) is None
