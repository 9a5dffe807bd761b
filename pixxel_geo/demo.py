"""``pixxel-geo demo``: the journey a new user cares about, on a local sandbox.

It starts the sandbox as a child process (never in this process: GDAL may call
back into a server thread while holding the interpreter lock), then, through
the public client API only: searches catalogs, creates a download and waits
with progress, reports the product and its link's expiry, creates a store and
a delivery and waits, says where it landed, and streams the imagery — a window,
a spectrum and a quicklook PNG — without downloading the product.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pixxel_geo as px
from pixxel_geo.api.redact import redact_url

__all__ = ["default_data_dir", "run_demo"]


def default_data_dir() -> Path:
    """Where the demo's sandbox keeps its products between runs (a cache, safe to delete)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pixxel-geo" / "demo-sandbox"


def _say(text: str = "") -> None:
    print(text, flush=True)


def _step(number: int, title: str) -> None:
    _say(f"\n[{number}] {title}")


def _progress(event: px.Event) -> None:
    if isinstance(event, px.StateChanged):
        _say(f"      {event.subject[:8]}…  {event.previous or '-'} → {event.status}")


def run_demo(data_dir: str | Path | None = None, out: str | Path = "pixxel-demo") -> int:
    """Run the demo; returns the exit code (0 when every step worked).

    Args:
        data_dir: the sandbox's data dir (products are generated there on first use).
        out: folder for the files the demo writes (the quicklook PNG).
    """
    from pixxel_geo.sandbox import Sandbox, SandboxSettings

    data_dir = Path(data_dir) if data_dir else default_data_dir()
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    _say("pixxel-geo demo: a local Pixxel API sandbox, no account and no network needed.")
    _say(f"Starting the sandbox (products in {data_dir}; the first run generates them)…")
    settings = SandboxSettings(download_seconds=1.5, delivery_seconds=2.0)
    with Sandbox.launch(data_dir=data_dir, settings=settings) as sandbox:
        _say(f"Sandbox up at {sandbox.url} after {time.monotonic() - started:.0f} s.")
        with px.Client(api_key=sandbox.token, base_url=sandbox.url) as client:
            _journey(client, sandbox.data_dir, out_dir)
    _say(f"\nDone in {time.monotonic() - started:.0f} s. The sandbox has stopped.")
    return 0


def _journey(client: px.Client, sandbox_dir: Path, out_dir: Path) -> None:
    _step(1, "Search the catalogs you own (all pages; the API pages by 2 by default)")
    catalogs = list(client.catalogs.search(sort_by="-datetime"))
    for c in catalogs:
        when = c.datetime.strftime("%Y-%m-%d") if c.datetime else "?"
        _say(f"      {c.id[:8]}…  {c.item_id}  {when}  cloud {c.cloud_cover or 0:4.1f} %  {len(c.bands)} bands")
    clearest = min(catalogs, key=lambda c: c.cloud_cover if c.cloud_cover is not None else 100)
    bands = clearest.bands
    _say(
        f"      Picked the clearest: {clearest.item_id}, {len(bands)} bands from "
        f"{bands[0].center_wavelength:g} to {bands[-1].center_wavelength:g} nm."
    )

    _step(2, "Create a download resource and wait for its signed URL")
    download = client.downloads.create(catalog_ids=[clearest.id])
    download = client.downloads.wait(download.id, timeout=300, on_event=_progress)
    expires = download.expires_at
    _say(f"      Link: {redact_url(download.signed_url)} (its query string is a credential: not shown)")
    _say(f"      Expires: {expires.isoformat() if expires else 'not stated'}")

    _step(3, "Create a store (or reuse the demo's) and deliver the catalog into it")
    store = next((s for s in client.stores.list() if s.name == "demo-store"), None)
    if store is None:
        store = client.stores.create(
            "demo-store", "S3", "demo-bucket", "us-east-1",
            {"access_key_id": "demo", "secret_access_key": "demo"}, path_prefix="pixxel/",
        )  # fmt: skip
    _say(f"      Store {store.name}: {store.type} bucket {store.configs.bucket}")
    deliveries = client.deliveries.create(store.id, catalog_ids=[clearest.id], path="deliveries")
    deliveries = client.deliveries.wait([d.delivery_id for d in deliveries], timeout=300, on_event=_progress)
    for delivery in deliveries:
        _say(f"      Delivered to {delivery.location(store)}")
        local = sandbox_dir / "buckets" / store.configs.bucket / delivery.object_key(store)
        if local.exists():
            _say(f"      (the sandbox's stand-in bucket: {local}, {local.stat().st_size / 1e6:.1f} MB)")

    _step(4, "Stream the imagery without downloading it")
    try:
        _stream(client, clearest, out_dir)
    except ImportError as exc:
        _say(f"      Skipped: streaming needs the io extra (pip install 'pixxel-geo[io]'): {exc}")


def _stream(client: px.Client, catalog: px.Catalog, out_dir: Path) -> None:
    from rasterio.windows import Window

    with px.open_raster(catalog, client=client) as dataset:
        unit = "°" if dataset.crs is not None and dataset.crs.is_geographic else " m"
        _say(
            f"      Opened {dataset.count} bands of {dataset.width}×{dataset.height} px "
            f"({dataset.crs}, pixels of {dataset.res[0]:.3g}{unit}) by range requests."
        )
        window = dataset.read([1, dataset.count // 2, dataset.count], window=Window(0, 0, 256, 256))
        _say(f"      Read a 256×256 window of 3 bands: mean DN {window.mean():.0f}.")
    geometry = catalog.geometry or {}
    ring = (geometry.get("coordinates") or [[]])[0]
    if ring:
        lon = sum(p[0] for p in ring[:-1]) / max(1, len(ring) - 1)
        lat = sum(p[1] for p in ring[:-1]) / max(1, len(ring) - 1)
        wavelengths, values = px.spectrum(catalog, lon, lat, client=client)
        peak = max(range(len(values)), key=lambda i: values[i])
        _say(
            f"      Spectrum at {lon:.4f}, {lat:.4f}: {len(values)} values, brightest at {wavelengths[peak]:g} nm "
            f"(reflectance {values[peak]:.3f}: the stored DN / 50000)."
        )
    _rgb, png = px.quicklook(catalog, size=512, png=True, client=client)
    path = out_dir / f"{catalog.item_id or catalog.id}_quicklook.png"
    path.write_bytes(png)
    _say(f"      Wrote a quicklook: {path} ({len(png) / 1e3:.0f} kB)")


if __name__ == "__main__":
    sys.exit(run_demo())
