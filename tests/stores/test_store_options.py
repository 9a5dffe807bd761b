"""storage_options given by the caller are never changed by the stores layer."""

from __future__ import annotations

import copy

from pixxel_geo.io.stores import StoreObjectSource, filesystem_for


def test_s3_endpoint_leaves_the_callers_options_unchanged() -> None:
    options = {
        "endpoint_url": "http://127.0.0.1:9",
        "key": "test-access-key",
        "secret": "test-secret-key",
        "client_kwargs": {"region_name": "us-east-1"},
    }
    given = copy.deepcopy(options)
    source = StoreObjectSource("s3://bucket/deliveries/d1/catalogs.zip", options)
    key = source.key
    fs = filesystem_for(source.url, source.storage_options)
    assert options == given
    assert source.storage_options == given and source.key == key
    # The endpoint still reaches s3fs, beside the caller's own client_kwargs.
    assert fs.client_kwargs == {"region_name": "us-east-1", "endpoint_url": "http://127.0.0.1:9"}
    assert filesystem_for(source.url, source.storage_options) is fs
