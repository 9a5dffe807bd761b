"""Streaming Pixxel products: range reads of zip members, ``pixxel://``, rasterio, xarray.

Needs the ``io`` extra (``pip install pixxel-geo[io]``). Submodules import their heavy
dependencies (numpy, rasterio, xarray, geopandas) only when their functions are used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [  # noqa: RUF022  (plainly sorted: tests/api/test_surface.py checks sorted())
    "Calibration",
    "DeflatedMemberWarning",
    "IOSession",
    "IOSettings",
    "MultipleProductsError",
    "PixxelFileSystem",
    "QUALITY_FLAGS",
    "RangeReader",
    "UncalibratedWarning",
    "ZipArchive",
    "gdal_path",
    "indices",
    "open_dataset",
    "open_quality_mask",
    "open_raster",
    "quicklook",
    "read_footprints",
    "read_vector",
    "spectrum",
    "stack",
]

_WHERE = {
    "QUALITY_FLAGS": "pixxel_geo.io.quality",
    "Calibration": "pixxel_geo.io.calibration",
    "DeflatedMemberWarning": "pixxel_geo.io.zipindex",
    "IOSession": "pixxel_geo.io.session",
    "IOSettings": "pixxel_geo.io.session",
    "MultipleProductsError": "pixxel_geo.io.members",
    "UncalibratedWarning": "pixxel_geo.io.calibration",
    "open_quality_mask": "pixxel_geo.io.dataset",
    "PixxelFileSystem": "pixxel_geo.io.filesystem",
    "RangeReader": "pixxel_geo.io.reader",
    "ZipArchive": "pixxel_geo.io.archive",
    "gdal_path": "pixxel_geo.io.raster",
    "indices": "pixxel_geo.io.indices",
    "open_dataset": "pixxel_geo.io.dataset",
    "open_raster": "pixxel_geo.io.raster",
    "quicklook": "pixxel_geo.io.quicklook",
    "read_footprints": "pixxel_geo.io.vector",
    "read_vector": "pixxel_geo.io.vector",
    "spectrum": "pixxel_geo.io.quicklook",
    "stack": "pixxel_geo.io.stack",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pixxel_geo.io' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
