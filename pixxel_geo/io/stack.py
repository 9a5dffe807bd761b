"""Many products as one lazily loaded cube ``(time, band, y, x)`` on a common grid.

:func:`stack` opens each product with :func:`~pixxel_geo.io.dataset.open_dataset`
(calibrated, wavelengths on ``band``), masks it with its quality mask, keeps only the
tiles that intersect the area asked for, aligns the products on wavelength (Pixxel sells
band subsets: two products may share only some bands), reprojects them onto one odc-geo
``GeoBox`` (nearest neighbour by default) and merges products of the same solar day
(first valid pixel, as odc-stac's ``groupby="solar_day"``).

The cube computes on any dask scheduler, ``dask.distributed`` included: each product is
resolved once, in the calling process (one download resource per product), and the
tasks carry the download's id, so a worker whose URL expires re-signs it with
``GET /v0/catalogs/download/{id}``.

Opening is arranged for latency: every product's download is created first and polled
soon; its STAC item, zip directory and member heads are then read side by side; a
``dask.distributed`` cluster's workers import their readers meanwhile and get the
archives (and sign their URLs) before the first task (:func:`warm_workers`). Reads are
chunked as coarsely as the window's tile alignment allows, so one task fetches several
tiles at once and never a tile outside the window.

Example:
    >>> import pixxel_geo as px
    >>> cube = px.stack(["cat_a", "cat_b"], bbox=(75.0, 30.1, 75.05, 30.15))  # doctest: +SKIP
    >>> cube.sel(band=860, method="nearest").mean(("y", "x")).compute()  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pixxel_geo.api.errors import InvalidInputError
from pixxel_geo.io.quality import normalise_mask_request

if TYPE_CHECKING:
    import xarray as xr
    from odc.geo.geobox import GeoBox

__all__ = ["DEFAULT_MASK", "match_wavelengths", "stack", "warm_workers"]

log = logging.getLogger(__name__)

DEFAULT_MASK = ("cloud", "cloud_shadow")
"""Quality flags masked by default."""

MAX_PIXELS = 1 << 28
"""Largest common grid (pixels per band) :func:`stack` builds without a ``bbox``."""

SNAP_TOLERANCE = 0.01
"""Fraction of a pixel by which a bbox may cross a pixel edge and still stop at it (as odc-geo's ``tol``)."""

OPEN_THREADS = 8
"""Products opened at once by :func:`stack` (each open waits on the API and reads headers)."""

READ_CHUNK = 256
"""Pixels per chunk side when a product is first opened (rounded up to whole tiles by ``open_dataset``)."""

MAX_READ_CHUNK = 1024
"""Largest read chunk side: a window whose edges fall on a larger chunk grid is read in larger chunks
(up to this), so one task fetches several tiles side by side instead of one per task."""

MAX_READ_CHUNK_BYTES = 64 * 1024 * 1024
"""Largest read chunk (float32 bytes, all the bands a chunk holds)."""

_ITEM_DATE = re.compile(r"(?:^|_)(\d{8})(?:_(\d{6}))?(?:_|$)")


@dataclass
class _Product:
    """One opened product: its calibrated cube and what the stack needs to know about it."""

    source: Any
    label: str
    time: dt.datetime
    cube: xr.DataArray
    geobox: GeoBox
    wavelengths: list[float]
    fwhm: list[float | None]


def stack(
    sources: Iterable[Any],
    *,
    bbox: Sequence[float] | None = None,
    crs: Any | None = None,
    resolution: float | None = None,
    bands: Sequence[float] | None = None,
    mask: Any = DEFAULT_MASK,
    chunks: int | dict[str, int] | None = None,
    groupby: str | None = "solar_day",
    resampling: str = "nearest",
    tolerance: float = 1.0,
    client: Any | None = None,
) -> xr.DataArray:
    """Stack products into one lazy cube ``(time, band, y, x)`` on a common grid.

    Args:
        sources: catalog ids, ``Catalog`` objects, ``Download`` objects, signed URLs,
            ``pixxel://`` paths or bucket deliveries (anything
            :func:`~pixxel_geo.open_dataset` reads).
        bbox: ``(west, south, east, north)`` in longitude/latitude (EPSG:4326), like
            STAC's ``bbox``; only the tiles intersecting it are read. Default: the
            union of the products.
        crs: the output CRS (default: the first product's).
        resolution: the output pixel size in units of ``crs`` (default: the first
            product's when ``crs`` is its CRS; required otherwise).
        bands: wavelengths (nm) to keep; each product contributes its band nearest to
            each, within half that band's FWHM. Default: the bands every product shares
            (centres within half the narrower FWHM), at the first product's wavelengths.
        mask: quality-mask flags whose pixels become NaN (``None``: none; ``True``:
            cloud and cloud shadow); names as in the mask's own table or
            ``px.QUALITY_FLAGS`` (cloud, cloud_shadow, haze, water, snow_ice, saturated,
            no_data).
        chunks: output chunk side in pixels, or ``{"y": …, "x": …}`` (default: the
            reprojection's, whole read tiles).
        groupby: ``"solar_day"`` merges products acquired on the same local solar day
            (first valid pixel wins, earliest product first); ``None`` keeps each one.
        resampling: odc-geo resampling for the reprojection (``"nearest"`` keeps the
            products' own values).
        tolerance: nm; how far band centres may differ when a band has no FWHM.
        client: a ``px.Client`` (default: one from the environment).

    Returns:
        A dask-backed DataArray ``(time, band, y, x)`` of float32 reflectance (or the
        products' quantity), NaN where masked or outside a product. Coordinates: ``time``
        (UTC, first acquisition of the group), ``band`` (wavelength, nm), ``fwhm``,
        ``label`` (per time: the products merged, ``+``-joined), ``source_wavelength``
        (per time and band: the product's own centre wavelength), ``y``, ``x``,
        ``spatial_ref``. Attributes say what was matched (``band_matching``), the
        mask applied (``mask_flags``) and the grouping.

    Raises:
        InvalidInputError: no sources; bad ``bbox``/``crs``/``resolution``/``mask``;
            no band shared by all products; a wavelength in ``bands`` that a product
            lacks; no product intersecting ``bbox``.

    Example:
        >>> cube = stack(catalog_ids, bbox=(74.9, 30.1, 75.0, 30.2))  # doctest: +SKIP
        >>> ndvi = px.indices(cube, ["NDVI"])  # doctest: +SKIP
    """
    with _quiet_odc():
        return _stack(sources, bbox, crs, resolution, bands, mask, chunks, groupby, resampling, tolerance, client)


@contextmanager
def _quiet_odc() -> Iterator[None]:
    """Silence odc-geo 0.5's use of APIs its dependencies deprecated (nothing for the user to do)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Use `@` matmul", PendingDeprecationWarning)  # Affine `*`
        warnings.filterwarnings("ignore", "The 'shapely.ops.transform", DeprecationWarning)
        yield


def _stack(
    sources: Iterable[Any],
    bbox: Sequence[float] | None,
    crs: Any | None,
    resolution: float | None,
    bands: Sequence[float] | None,
    mask: Any,
    chunks: int | dict[str, int] | None,
    groupby: str | None,
    resampling: str,
    tolerance: float,
    client: Any | None,
) -> xr.DataArray:
    items = list(sources) if not isinstance(sources, (str, bytes)) else [sources]
    if not items:
        raise InvalidInputError("stack() needs at least one product (catalog ids, Catalogs, Downloads or URLs)")
    if groupby not in (None, "solar_day"):
        raise InvalidInputError(f"groupby must be 'solar_day' or None, not {groupby!r}")
    flags = normalise_mask_request(mask)
    out_chunks = _output_chunks(chunks)
    products = sorted(_open_all(items, client), key=lambda p: p.time)
    quantities = {str(p.cube.attrs.get("quantity", "reflectance")) for p in products}
    if len(quantities) > 1:
        raise InvalidInputError(
            f"the products hold different quantities ({', '.join(sorted(quantities))}): stack products of one "
            "processing level (e.g. all L2A reflectance)"
        )
    geobox = _target_geobox(products, bbox, crs, resolution)
    products = [p for p in products if _intersects(p.geobox, geobox)]
    if not products:
        raise InvalidInputError(f"no product intersects bbox {tuple(bbox) if bbox else None}")
    picks, wavelengths, matching = match_wavelengths(
        [list(zip(p.wavelengths, p.fwhm, strict=True)) for p in products],
        wanted=bands,
        tolerance=tolerance,
        labels=[p.label for p in products],
    )
    layers = []
    for product, pick in zip(products, picks, strict=True):
        layers.append(_product_on_grid(product, pick, wavelengths, geobox, flags, resampling, client))
    groups = _groups(products, groupby)
    return _assemble(products, layers, groups, picks, wavelengths, matching, flags, groupby, out_chunks)


def match_wavelengths(
    bands_per_product: Sequence[Sequence[tuple[float, float | None]]],
    *,
    wanted: Sequence[float] | None = None,
    tolerance: float = 1.0,
    labels: Sequence[str] | None = None,
) -> tuple[list[list[int]], list[float], str]:
    """Which band of each product serves each output wavelength.

    Two bands match when their centres differ by at most half the narrower FWHM (or
    ``tolerance`` nm when a FWHM is unknown).

    Args:
        bands_per_product: per product, its bands as ``(centre nm, fwhm nm or None)``.
        wanted: output wavelengths; default: the first product's bands that every
            product has.
        tolerance: nm, for bands without FWHM.
        labels: product names for error messages.

    Returns:
        ``(picks, wavelengths, description)``: ``picks[i][k]`` is product ``i``'s band
        index for output wavelength ``wavelengths[k]``.

    Raises:
        InvalidInputError: no shared band, or a wanted wavelength a product lacks.

    Example:
        >>> match_wavelengths([[(500.0, 10.0), (600.0, 10.0)], [(601.0, 10.0), (700.0, 10.0)]])[:2]
        ([[1], [0]], [600.0])
    """
    names = list(labels) if labels else [f"product {i + 1}" for i in range(len(bands_per_product))]

    def nearest(bands: Sequence[tuple[float, float | None]], target: float, fwhm: float | None) -> int | None:
        best: int | None = None
        for j, (centre, width) in enumerate(bands):
            widths = [w for w in (fwhm, width) if w is not None and w > 0 and not math.isnan(w)]
            limit = 0.5 * min(widths) if widths else tolerance
            if abs(centre - target) <= limit and (best is None or abs(centre - target) < abs(bands[best][0] - target)):
                best = j
        return best

    if not bands_per_product or any(not b for b in bands_per_product):
        raise InvalidInputError("every product needs wavelengths on its bands to be stacked")
    if wanted is not None:
        targets = [float(w) for w in wanted]
        if not targets:
            raise InvalidInputError("bands= is empty: give wavelengths in nm, or None for the shared bands")
        picks: list[list[int]] = [[] for _ in bands_per_product]
        for target in targets:
            for i, product_bands in enumerate(bands_per_product):
                j = nearest(product_bands, target, None)
                if j is None:
                    closest = min(product_bands, key=lambda b: abs(b[0] - target))[0]
                    raise InvalidInputError(
                        f"{names[i]} has no band at {target:g} nm (nearest: {closest:g} nm, farther than half "
                        "its FWHM): choose wavelengths every product has, or leave bands=None for the shared ones"
                    )
                picks[i].append(j)
        return picks, targets, "requested wavelengths; each product's nearest band within half its FWHM"
    reference = bands_per_product[0]
    picks = [[] for _ in bands_per_product]
    wavelengths: list[float] = []
    for k, (centre, width) in enumerate(reference):
        row = [k]
        for product_bands in bands_per_product[1:]:
            j = nearest(product_bands, centre, width)
            if j is None:
                break
            row.append(j)
        else:
            if all(row[i] not in picks[i] for i in range(len(row))):
                for i, j in enumerate(row):
                    picks[i].append(j)
                wavelengths.append(float(centre))
    if not wavelengths:
        raise InvalidInputError(
            f"the {len(bands_per_product)} products share no band (centres within half the narrower FWHM): "
            "stack products of compatible band sets, or pass bands=[...] wavelengths they all have"
        )
    description = (
        f"bands shared by all {len(bands_per_product)} products (centres within half the narrower FWHM), "
        f"at the wavelengths of {names[0]}"
    )
    return picks, wavelengths, description


def _output_chunks(chunks: int | dict[str, int] | None) -> dict[str, int] | None:
    """``chunks=`` as a dict for ``DataArray.chunk`` (y/x only), checked before anything is opened."""
    if chunks is None:
        return None
    size = {"y": chunks, "x": chunks} if isinstance(chunks, int) else chunks
    if not isinstance(size, dict) or set(size) - {"y", "x"} or not all(isinstance(v, int) for v in size.values()):
        raise InvalidInputError(f"chunks must be an int or a dict like {{'y': 512, 'x': 512}}, not {chunks!r}")
    return dict(size)


def _open_all(items: list[Any], client: Any | None) -> list[_Product]:
    """Open the products side by side.

    Each product's download is created first thing on its thread; while the API prepares
    them, this thread imports the readers and a ``dask.distributed`` cluster's workers
    import theirs (:func:`warm_workers`).
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(OPEN_THREADS, len(items)), thread_name_prefix="px-stack") as pool:
        opening = [pool.submit(_open_product, source, client) for source in items]
        warm_workers()
        _import_readers()
        products = [future.result() for future in opening]
    from pixxel_geo.io.resolve import resolve_source

    # The archives (directory and heads) go to each worker now, and each signs its URLs once,
    # side by side, before the first task needs them.
    warm_workers([resolve_source(p.source, client).archive for p in products])
    return products


def _import_readers() -> None:
    """Import what opening and reprojecting a product need (about a second, once per process)."""
    import odc.geo.xr  # noqa: F401  # registers the .odc accessor
    import rioxarray  # noqa: F401
    from odc.geo.xr import xr_reproject  # noqa: F401

    import pixxel_geo.io.dataset  # noqa: F401


def _warm_worker(archives: Sequence[Any] = ()) -> int:
    """Run on a worker: import the readers, let GDAL register its drivers, sign the archives' URLs."""
    from concurrent.futures import ThreadPoolExecutor

    import odc.geo.warp  # the reprojection tasks
    import odc.geo.xr  # noqa: F401
    import rasterio

    import pixxel_geo.io.lazy_array  # the read tasks (not rioxarray: only the driver opens)
    import pixxel_geo.io.raster  # noqa: F401

    with rasterio.Env():
        pass
    if archives:  # unpickled through archive_for: the worker's own archives, directories and heads known
        with ThreadPoolExecutor(max_workers=min(OPEN_THREADS, len(archives))) as pool:
            list(pool.map(lambda archive: archive.reader.current_url(), archives))
    return len(archives)


def warm_workers(archives: Sequence[Any] = ()) -> int:
    """Have the workers of the current ``dask.distributed`` client get ready for a stack, in the background.

    A fresh worker process spends a second or two importing xarray, rasterio and odc-geo
    when its first task arrives, then asks the API for each product's signed URL when a
    task first reads it. :func:`stack` calls this before it waits on the API (imports) and
    once the products are open (their archives: each worker signs their URLs side by side,
    with ``GET /v0/catalogs/download/{id}``, never a new download). Nothing happens
    without a running synchronous client; failures are left for the tasks to report.

    Args:
        archives: product archives (:class:`~pixxel_geo.io.archive.ZipArchive`) the tasks will read.

    Returns:
        The number of workers asked (0 without a cluster).

    Example:
        >>> from dask.distributed import Client  # doctest: +SKIP
        >>> with Client(n_workers=2):  # doctest: +SKIP
        ...     warm_workers()
        2
    """
    import sys

    if "distributed" not in sys.modules:
        return 0
    from distributed import default_client, fire_and_forget

    try:
        cluster = default_client()
    except ValueError:
        return 0
    if getattr(cluster, "asynchronous", False) or getattr(cluster, "status", "running") != "running":
        return 0
    try:
        workers = list(cluster.scheduler_info().get("workers") or {})
        for address in workers:
            future = cluster.submit(
                _warm_worker, list(archives), workers=[address], allow_other_workers=False, pure=False
            )
            fire_and_forget(future)
    except Exception:  # an optimisation only: a client in any odd state never fails the stack
        log.debug("could not warm the dask workers", exc_info=True)
        return 0
    return len(workers)


def _open_product(source: Any, client: Any | None) -> _Product:
    """Open one product lazily (dask, whole tiles) and find its grid, bands and date."""
    from pixxel_geo.io.resolve import resolve_source

    resolved = resolve_source(source, client)  # in this process: the one download of this job
    # Create (and wait for) the download first: the API works on it while this process imports
    # the readers. Outside the archive's lazily read directory: on Python 3.11
    # functools.cached_property serialises first reads across all archives.
    resolved.archive.source.signed_url()
    _read_heads(source, client)
    import numpy as np
    import odc.geo.xr  # noqa: F401  # registers the .odc accessor

    cube = _open_cube(source, client, READ_CHUNK, READ_CHUNK)
    if "fwhm" in cube.coords:
        fwhm = [None if np.isnan(v) else float(v) for v in cube["fwhm"].values]
    else:
        fwhm = [None] * cube.sizes["band"]
    if cube["band"].attrs.get("units") != "nm":
        raise InvalidInputError(
            f"{source!r} has no wavelengths on its bands (no STAC eo:bands, ENVI header or band metadata): "
            "products are stacked by wavelength"
        )
    wavelengths = [float(v) for v in cube["band"].values]
    label, when = _identity(source, cube, client)
    return _Product(source, label, when, cube, cube.odc.geobox, wavelengths, fwhm)


def _read_heads(source: Any, client: Any | None) -> None:
    """Fetch what opening the product reads, side by side rather than one after another.

    Its STAC item (from the API) along with the zip's directory, then the heads of its image,
    mask and header members (GDAL then opens them with no request of its own). Network round
    trips, while the calling process imports the readers; errors are left for the open to report.
    Not through ``ProductRef``'s cached properties (``stac``, ``files``): on Python 3.11
    ``functools.cached_property`` computes one first value at a time across all products.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    from pixxel_geo.api.errors import PixxelError
    from pixxel_geo.api.models import Catalog
    from pixxel_geo.io.product import ProductRef, resolve_product
    from pixxel_geo.io.resolve import resolve_source

    resolved = resolve_source(source, client)
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="px-heads") as pool:
        futures: list[Future[Any]] = []
        if resolved.catalog_id and not isinstance(source, Catalog):  # a Catalog carries its item
            catalog_id = resolved.catalog_id
            # Cached where ProductRef.stac looks first (per archive and catalog).
            futures.append(pool.submit(ProductRef(resolved, client=client)._fetch_stac, catalog_id))
        try:
            resolved.archive.members  # noqa: B018  (the directory, read here: not under the lock)
            product = resolve_product(source, None, client)
            files = product.files
            names = [product.image] + [n for n in (files.mask, files.header) if n] if files else []
        except PixxelError:
            names = []
        futures += [pool.submit(resolved.archive.data_range, name) for name in names]
        for future in futures:
            with suppress(PixxelError):
                future.result()


def _identity(source: Any, cube: xr.DataArray, client: Any | None) -> tuple[str, dt.datetime]:
    """The product's name and acquisition time (UTC): its STAC item, GeoTIFF tags, or its name."""
    from pixxel_geo.io.product import resolve_product

    product = resolve_product(source, None, client)  # its archive and STAC item are cached by now
    item = product.stac or {}
    label = str(item.get("id") or product.name)
    when = (item.get("properties") or {}).get("datetime")
    for key in ("ACQUISITION_DATETIME", "TIFFTAG_DATETIME"):
        if not when and cube.attrs.get(key):
            when = str(cube.attrs[key])
    parsed = _parse_time(str(when)) if when else None
    if parsed is None:
        found = _ITEM_DATE.search(label.rsplit("/", 1)[-1])
        if found:
            parsed = dt.datetime.strptime(found.group(1) + (found.group(2) or "000000"), "%Y%m%d%H%M%S")
    if parsed is None:
        raise InvalidInputError(
            f"cannot tell when {label} was acquired (no STAC datetime, no ACQUISITION_DATETIME tag, no date in "
            "its name): pass its Catalog instead"
        )
    return label, parsed


def _parse_time(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            value = dt.datetime.strptime(text, "%Y:%m:%d %H:%M:%S")
        except ValueError:
            return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _target_geobox(
    products: list[_Product], bbox: Sequence[float] | None, crs: Any | None, resolution: float | None
) -> GeoBox:
    """The output grid: the first product's pixel grid unless another CRS/resolution is asked."""
    from odc.geo import geom

    first = products[0].geobox
    if first.crs is None:
        raise InvalidInputError(f"{products[0].label} has no CRS: it cannot be placed on a common grid")
    target_crs: Any = first.crs if crs is None else _crs(crs)
    same_crs = target_crs == first.crs
    if resolution is None:
        if not same_crs:
            raise InvalidInputError(f"pass resolution= in units of {target_crs} (the products are in {first.crs})")
    elif not (isinstance(resolution, (int, float)) and resolution > 0):
        raise InvalidInputError(f"resolution must be a positive number, not {resolution!r}")
    if bbox is not None:
        if len(bbox) != 4 or not (bbox[0] < bbox[2] and bbox[1] < bbox[3]):
            raise InvalidInputError(f"bbox must be (west, south, east, north) in degrees, not {tuple(bbox)!r}")
        west, south, east, north = (float(v) for v in bbox)
        area: Any = geom.box(west, south, east, north, "epsg:4326").to_crs(target_crs)
    else:
        area = geom.unary_union([p.geobox.extent.to_crs(target_crs) for p in products])
    if area is None or area.is_empty:
        raise InvalidInputError("the area to stack is empty")
    geobox = _grid(first, area, target_crs, same_crs, resolution)
    if geobox.shape[0] * geobox.shape[1] > MAX_PIXELS:
        raise InvalidInputError(
            f"the common grid would be {geobox.shape[1]} x {geobox.shape[0]} pixels (the products lie far apart?): "
            "pass bbox= (and a coarser resolution=) to stack one area"
        )
    return geobox


def _grid(first: GeoBox, area: Any, target_crs: Any, same_crs: bool, resolution: float | None) -> GeoBox:
    from affine import Affine
    from odc.geo.geobox import GeoBox

    first_res = abs(first.resolution.x)
    if same_crs and (resolution is None or math.isclose(float(resolution), first_res, rel_tol=1e-9)):
        # Snap to the first product's own pixels: nearest resampling then copies its values.
        inverse = ~first.affine
        left, bottom, right, top = area.boundingbox
        cols, rows = zip(*[inverse @ (x, y) for x, y in _corners(left, bottom, right, top)], strict=True)
        # Within a hundredth of a pixel of an edge counts as on it (bboxes come rounded).
        c0, c1 = math.floor(min(cols) + SNAP_TOLERANCE), math.ceil(max(cols) - SNAP_TOLERANCE)
        r0, r1 = math.floor(min(rows) + SNAP_TOLERANCE), math.ceil(max(rows) - SNAP_TOLERANCE)
        return GeoBox((max(1, r1 - r0), max(1, c1 - c0)), first.affine @ Affine.translation(c0, r0), target_crs)
    assert resolution is not None
    return GeoBox.from_bbox(area.boundingbox, target_crs, resolution=float(resolution))


def _corners(left: float, bottom: float, right: float, top: float) -> list[tuple[float, float]]:
    return [(left, top), (right, top), (left, bottom), (right, bottom)]


def _crs(value: Any) -> Any:
    from odc.geo import CRS

    try:
        return CRS(value)
    except Exception as exc:  # pyproj/odc raise several types for a bad CRS
        raise InvalidInputError(f"crs {value!r} is not a CRS odc-geo understands (e.g. 'EPSG:32643')") from exc


def _intersects(source: GeoBox, target: GeoBox) -> bool:
    crs: Any = target.crs
    return bool(source.extent.to_crs(crs).intersects(target.extent))


def _window(product: _Product, target: GeoBox) -> tuple[slice, slice]:
    """The product's rows and columns under ``target`` (odc-geo's minimal ROI), grown to whole chunks."""
    from odc.geo.overlap import compute_reproject_roi

    height, width = product.geobox.shape
    chunk_y = product.cube.data.chunks[1][0]
    chunk_x = product.cube.data.chunks[2][0]
    rows, cols = compute_reproject_roi(product.geobox, target).roi_src
    if rows.stop <= rows.start or cols.stop <= cols.start:
        return slice(0, 0), slice(0, 0)
    r0, c0 = rows.start // chunk_y * chunk_y, cols.start // chunk_x * chunk_x
    r1 = min(height, -(-rows.stop // chunk_y) * chunk_y)
    c1 = min(width, -(-cols.stop // chunk_x) * chunk_x)
    return slice(r0, r1), slice(c0, c1)


def _read_chunks(product: _Product, rows: slice, cols: slice) -> tuple[int, int]:
    """Read chunk sides for the window: the largest (first chunk side times a power of two, at
    most :data:`MAX_READ_CHUNK`) whose grid has the window's edges on it, so no chunk reaches
    outside the window (and reads tiles the answer does not need)."""
    height, width = product.geobox.shape
    bands, first_y, first_x = (product.cube.data.chunks[i][0] for i in range(3))

    def side(window: slice, size: int, first: int) -> int:
        best = first
        while best * 2 <= MAX_READ_CHUNK and window.start % (best * 2) == 0:
            if window.stop % (best * 2) and window.stop != size:
                break
            best *= 2
        return min(best, max(size, first))  # a chunk as large as the image is the image

    side_y, side_x = side(rows, height, first_y), side(cols, width, first_x)
    while side_y * side_x * bands * 4 > MAX_READ_CHUNK_BYTES and max(side_y / first_y, side_x / first_x) > 1:
        if side_y / first_y >= side_x / first_x:
            side_y //= 2
        else:
            side_x //= 2
    return side_y, side_x


def _open_cube(source: Any, client: Any | None, side_y: int, side_x: int) -> xr.DataArray:
    """The product as a calibrated dask cube, one band per chunk (where its layout allows)."""
    from pixxel_geo.io.dataset import open_dataset

    return open_dataset(source, chunks={"band": 1, "y": side_y, "x": side_x}, client=client)


def _quality_flags(source: Any, client: Any | None, chunks: dict[str, int]) -> xr.DataArray:
    """The product's quality mask ``(y, x)`` (bit flags), lazily, chunked like its image."""
    from pixxel_geo.io.dataset import open_quality_mask

    return open_quality_mask(source, chunks, client=client)


def _flag_bits(flags: Sequence[str], mask: xr.DataArray) -> int:
    """The bits of the named flags in this mask (its own CF table, else ``px.QUALITY_FLAGS``)."""
    from pixxel_geo.io.quality import QUALITY_FLAGS, mask_value

    table = dict(QUALITY_FLAGS)
    meanings, values = mask.attrs.get("flag_meanings"), mask.attrs.get("flag_masks")
    if meanings and values is not None:
        names = str(meanings).split()
        numbers = [int(v) for v in (str(values).replace(",", " ").split() if isinstance(values, str) else values)]
        if len(names) == len(numbers) and all(n > 0 and n & (n - 1) == 0 for n in numbers):
            table = {name: n.bit_length() - 1 for name, n in zip(names, numbers, strict=True)}
    return mask_value(flags, table)


def _product_on_grid(
    product: _Product,
    pick: list[int],
    wavelengths: list[float],
    geobox: GeoBox,
    flags: tuple[str, ...],
    resampling: str,
    client: Any | None,
) -> xr.DataArray:
    """One product: picked bands, masked, the window under ``geobox``, reprojected onto it."""
    import numpy as np
    from odc.geo.xr import xr_reproject

    rows, cols = _window(product, geobox)
    cube = product.cube
    side_y, side_x = _read_chunks(product, rows, cols)
    if (side_y, side_x) != (cube.data.chunks[1][0], cube.data.chunks[2][0]):
        # Opened again (its metadata is cached: no request) with chunks that tile the window.
        cube = _open_cube(product.source, client, side_y, side_x)
    # Band-interleaved products keep one band per chunk through the reprojection: a later
    # selection (an index's two bands) then reads only those bands' tiles.
    cube = cube.isel(band=pick, y=rows, x=cols)
    if flags:
        quality = _quality_flags(product.source, client, {"y": side_y, "x": side_x})
        bits = _flag_bits(flags, quality)
        quality = quality.isel(y=rows, x=cols)
        cube = cube.where((quality.astype("uint16") & bits) == 0)
    cube = cube.assign_coords(band=("band", np.asarray(wavelengths, dtype="float64")))
    cube = cube.drop_vars([c for c in ("fwhm", "band_name") if c in cube.coords])
    out = xr_reproject(cube, geobox, resampling=resampling, dst_nodata=np.nan, always_yx=True)
    return out.astype("float32")


def _solar_day(product: _Product) -> dt.date:
    """The local solar date of the acquisition (UTC time shifted by the centre's longitude)."""
    lon = product.geobox.extent.to_crs("epsg:4326").centroid.coords[0][0]
    return (product.time + dt.timedelta(hours=lon / 15.0)).date()


def _groups(products: list[_Product], groupby: str | None) -> list[list[int]]:
    """Indices of the products merged into each time step (products are in time order)."""
    if groupby is None:
        return [[i] for i in range(len(products))]
    days: dict[dt.date, list[int]] = {}
    for i, product in enumerate(products):
        days.setdefault(_solar_day(product), []).append(i)
    return list(days.values())


def _assemble(
    products: list[_Product],
    layers: list[xr.DataArray],
    groups: list[list[int]],
    picks: list[list[int]],
    wavelengths: list[float],
    matching: str,
    flags: tuple[str, ...],
    groupby: str | None,
    chunks: dict[str, int] | None,
) -> xr.DataArray:
    import numpy as np
    import xarray as xr

    steps = []
    for group in groups:
        merged = layers[group[0]]
        for other in group[1:]:
            merged = merged.fillna(layers[other])  # the first valid pixel wins
        steps.append(merged)
    times = [np.datetime64(products[g[0]].time, "ns") for g in groups]
    cube = xr.concat(steps, dim="time", join="override", combine_attrs="drop")
    first = products[groups[0][0]]
    cube = cube.assign_coords(
        time=("time", np.asarray(times)),
        label=("time", ["+".join(products[i].label for i in g) for g in groups]),
        source_wavelength=(
            ("time", "band"),
            np.asarray([[products[g[0]].wavelengths[j] for j in picks[g[0]]] for g in groups], dtype="float64"),
        ),
        fwhm=("band", np.asarray([np.nan if first.fwhm[j] is None else first.fwhm[j] for j in picks[groups[0][0]]])),
    )
    cube = cube.transpose("time", "band", *[d for d in cube.dims if d not in ("time", "band")])
    cube["band"].attrs.update(long_name="center wavelength", units="nm")
    cube["fwhm"].attrs.update(long_name="full width at half maximum", units="nm")
    source_attrs = first.cube.attrs
    units = source_attrs.get("units")
    cube.attrs = {
        "quantity": source_attrs.get("quantity", "reflectance"),
        "units": units if isinstance(units, str) else "1",
        "band_matching": matching,
        "mask_flags": ",".join(flags) if flags else "none",
        "groupby": groupby or "none",
        "products": len(products),
    }
    cube.name = first.cube.name or "reflectance"
    if chunks is not None:
        cube = cube.chunk(chunks)
    return cube
