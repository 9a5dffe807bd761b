"""Settings of one sandbox server: product sizes and layout, lifecycle durations, URL lifetime."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

INTERLEAVES = ("band", "pixel", "mixed")
"""Accepted values of :attr:`SandboxSettings.interleave`."""
LEVELS = ("L2A", "L1C", "L1B")
"""Accepted values of :attr:`SandboxSettings.level`."""
CRS_KINDS = ("EPSG:4326", "utm")
"""Accepted values of :attr:`SandboxSettings.crs`."""
LAYOUTS = ("flat", "folder")
"""Accepted values of :attr:`SandboxSettings.layout`."""


@dataclass(frozen=True)
class SandboxSettings:
    """How the sandbox builds its products and moves its resources through their states.

    Args:
        bands: spectral bands per synthetic product.
        width: product width in pixels.
        height: product height in pixels.
        count: number of catalogs in the seeded workspace (at most ``len(default_specs())``).
        url_lifetime: seconds a signed URL stays valid after it is handed out.
        download_seconds: seconds a download resource takes from ``created`` to ``success``.
        delivery_seconds: seconds a delivery takes from ``CREATED`` to ``SUCCESS``.
        head_status: status answered to ``HEAD`` on a signed URL (403 like a GET-only
            presigned URL; set 200 to allow HEAD).
        stores: store servers to run beside the sandbox (``"s3"``, ``"gcs"``, ``"azure"``):
            deliveries into stores of those types land in moto, gcp-storage-emulator or
            Azurite; others in local folders. See :mod:`pixxel_geo.sandbox.emulators`.
        interleave: layout of the products' GeoTIFFs: ``"band"`` (the default, as Pixxel
            delivers), ``"pixel"``, or ``"mixed"`` (catalogs alternate: the first
            band-interleaved, the second pixel-interleaved, and so on).
        deflate_members: pack the products' zip members DEFLATED instead of STORED (for
            tests of readers that must cope with archives without random access).
        level: processing level of the products: ``"L2A"`` (surface reflectance, uint16
            0-50000, the default), ``"L1C"`` (top-of-atmosphere reflectance, same scaling) or
            ``"L1B"`` (float32 radiance, W m-2 sr-1 um-1).
        crs: ``"EPSG:4326"`` (the default: Pixxel says L2A/L1C are "projected to WGS84") or
            ``"utm"`` (each scene's UTM zone).
        layout: the zip's layout: ``"flat"`` (members at the root) or ``"folder"`` (a folder per
            product). A download of several catalogs holds several products either way.
        header: ship the ENVI ``.hdr`` member (wavelengths, FWHM, reflectance scale factor).
        stac_bands: catalogs' STAC ``details`` carry ``eo:bands`` and ``raster:bands``.
        gdal_metadata: the GeoTIFFs carry GDAL band scale/offset and wavelength metadata.
        mask_flag_metadata: the quality mask names its bits (``flag_masks`` / ``flag_meanings``).
        wavelength_units: wavelengths in STAC and the header: ``"nm"`` (as in Pixxel's example)
            or ``"um"`` (as STAC's eo extension says).
        timeseries: also seed a season of repeat acquisitions over one farm (crop growth and
            harvest, clouds that come and go, two band sets that partly overlap, two
            neighbouring scenes on one day); see :func:`pixxel_geo.sandbox.products.season_specs`.

    Example:
        >>> SandboxSettings(bands=16, width=256, height=256).bands
        16
    """

    bands: int = 45
    width: int = 1024
    height: int = 1024
    count: int = 6
    url_lifetime: float = 3600.0
    download_seconds: float = 2.0
    delivery_seconds: float = 3.0
    head_status: int = 403
    stores: tuple[str, ...] = ()
    interleave: str = "band"
    deflate_members: bool = False
    level: str = "L2A"
    crs: str = "EPSG:4326"
    layout: str = "flat"
    header: bool = True
    stac_bands: bool = True
    gdal_metadata: bool = False
    mask_flag_metadata: bool = True
    wavelength_units: str = "nm"
    timeseries: bool = False

    def __post_init__(self) -> None:
        for name, allowed in (
            ("level", LEVELS),
            ("crs", CRS_KINDS),
            ("layout", LAYOUTS),
            ("wavelength_units", ("nm", "um")),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"SandboxSettings.{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}"
                )
        if self.interleave not in INTERLEAVES:
            raise ValueError(
                f"SandboxSettings.interleave must be one of {', '.join(INTERLEAVES)}, got {self.interleave!r}"
            )
        for flag in ("deflate_members", "header", "stac_bands", "gdal_metadata", "mask_flag_metadata", "timeseries"):
            object.__setattr__(self, flag, bool(getattr(self, flag)))
        for name in ("bands", "width", "height", "count"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"SandboxSettings.{name} must be at least 1")
        for name in ("url_lifetime", "download_seconds", "delivery_seconds"):
            if float(getattr(self, name)) < 0:
                raise ValueError(f"SandboxSettings.{name} must not be negative")
        from pixxel_geo.sandbox.emulators import parse_store_kinds

        object.__setattr__(self, "stores", parse_store_kinds(self.stores))

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxSettings:
        """Build settings from a dict, ignoring unknown keys."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        if "stores" in values:
            values["stores"] = tuple(values["stores"] or ())
        return cls(**values)

    def product_options(self) -> dict[str, Any]:
        """The product fields every seeded product takes from these settings.

        Example:
            >>> SandboxSettings(level="L1B").product_options()["level"]
            'L1B'
        """
        return {
            "level": self.level,
            "crs": self.crs,
            "layout": self.layout,
            "header": self.header,
            "stac_bands": self.stac_bands,
            "gdal_metadata": self.gdal_metadata,
            "mask_flag_metadata": self.mask_flag_metadata,
            "wavelength_units": self.wavelength_units,
            "deflate_members": self.deflate_members,
        }

    def interleave_of(self, index: int) -> str:
        """The interleave of the ``index``-th seeded catalog (0-based): ``"band"`` or ``"pixel"``.

        Example:
            >>> [SandboxSettings(interleave="mixed").interleave_of(i) for i in range(3)]
            ['band', 'pixel', 'band']
        """
        if self.interleave == "mixed":
            return "pixel" if index % 2 else "band"
        return self.interleave
