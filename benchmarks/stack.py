"""Stack benchmark: px.stack on dask.distributed vs odc-stac through GDAL's /vsizip/{/vsicurl?…} paths.

Runs a sandbox (a child process) with its season over one farm (``SandboxSettings(timeseries=True)``):
six dates, two band sets that only partly overlap. The job: per-pixel NDVI averaged over the six dates,
over a bbox covering the south-west quarter of each product, clouds and cloud shadows masked with each
product's quality mask, on a ``LocalCluster(processes=True)``, on the WAN profile (40 ms to first byte,
25 MB/s per connection). Each contestant runs in a fresh child process (cold caches, its own cluster).

- ``pixxel_geo``: ``px.stack(catalog ids, bbox=…)`` then ``px.indices(…, "NDVI")``, mean over time.
  It starts from catalog ids: the downloads it creates are counted (POSTs in the sandbox's log).
- ``odc_stac``: ``odc.stac.load`` of the same STAC items (the catalogs' ``details``) whose image and
  mask assets point at ``/vsizip/{/vsicurl?use_head=no&list_dir=no&url=…}/member`` paths of signed
  URLs made beforehand, with the tuned GDAL options (``odc.stac.configure_rio`` on the workers),
  ``groupby="solar_day"``; the red and NIR bands picked by index, one load per band set (odc-stac names
  bands per asset index, so it cannot align two band sets itself), masked and averaged the same way.

Figures: wall time (and its ratio to odc-stac), bytes moved (``/files/`` bytes in the request log)
against the bytes of the tiles the answer needs (the red, NIR and mask tiles under the bbox, from the
products' tile byte counts), download resources created, and whether both answers agree.

Usage:
    .venv/bin/python benchmarks/stack.py [--bands 45] [--size 1024] [--workers 2] [--profile wan]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WAN = {"latency": 0.04, "bandwidth": 25e6}
METHODS = ("pixxel_geo", "odc_stac")


def _cluster(workers: int) -> Any:
    from dask.distributed import LocalCluster

    return LocalCluster(n_workers=workers, threads_per_worker=2, processes=True, dashboard_address=":0")


def child_pixxel(job: dict[str, Any]) -> dict[str, Any]:
    """px.stack on a process cluster: NDVI time-mean over the bbox."""
    import numpy as np
    from dask.distributed import Client as DaskClient

    import pixxel_geo as px

    start = time.perf_counter()
    with _cluster(job["workers"]) as cluster, DaskClient(cluster), px.Client(**job["api"]) as client:
        cube = px.stack(job["catalog_ids"], bbox=job["bbox"], client=client)
        ndvi = px.indices(cube, ["NDVI"]).sel(index="NDVI").mean("time")
        values = ndvi.compute().values
    wall = time.perf_counter() - start
    np.save(job["out"], values)
    return {"wall": wall, "bands": px.indices(cube, ["NDVI"]).attrs["bands"]}


def child_odc_stac(job: dict[str, Any]) -> dict[str, Any]:
    """odc-stac through GDAL /vsizip/{/vsicurl?…} paths on a process cluster, the same answer."""
    import numpy as np
    import pystac
    import xarray as xr
    from dask.distributed import Client as DaskClient
    from odc.stac import configure_rio, load

    from pixxel_geo.io.gdal_options import TUNED_OPTIONS

    start = time.perf_counter()
    with _cluster(job["workers"]) as cluster, DaskClient(cluster) as dask_client:
        configure_rio(cloud_defaults=False, client=dask_client, **TUNED_OPTIONS)
        configure_rio(cloud_defaults=False, **TUNED_OPTIONS)
        steps = []
        for group in job["odc_groups"]:
            items = [pystac.Item.from_dict(item) for item in group["items"]]
            data = load(
                items,
                bands=[f"image.{group['red']}", f"image.{group['nir']}", "mask"],
                bbox=job["bbox"],
                groupby="solar_day",
                chunks={"x": 512, "y": 512},
                resampling="nearest",
                stac_cfg={"*": {"assets": {"mask": {"data_type": "uint8", "nodata": 255}}}},
            )
            red = data[f"image.{group['red']}"].astype("float32")
            nir = data[f"image.{group['nir']}"].astype("float32")
            clear = (data["mask"] & job["mask_bits"]) == 0
            valid = clear & (red != 0) & (nir != 0)
            steps.append(((nir - red) / (nir + red)).where(valid))
        ndvi = xr.concat(steps, dim="time").mean("time")
        values = ndvi.compute().values
    wall = time.perf_counter() - start
    np.save(job["out"], values)
    return {"wall": wall}


def run_child(sb: Any, method: str, job: dict[str, Any], workdir: Path) -> dict[str, Any]:
    job_path = workdir / f"{method}.json"
    job = {**job, "out": str(workdir / f"{method}.npy")}
    job_path.write_text(json.dumps(job))
    sb.reset_requests()
    out = subprocess.run(
        [sys.executable, __file__, "--child", method, str(job_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if out.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{out.stderr[-4000:]}")
    files = sb.requests("/files/")
    posts = [r for r in sb.requests("/v0/catalogs/download") if r["method"] == "POST"]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(
        method=method,
        requests=len(files),
        bytes=sum(int(r.get("bytes") or 0) for r in files),
        downloads_created=len(posts),
        statuses=sorted({r["status"] for r in files}),
    )
    return result


def _tile_bytes(src: Any, band: int, rows: tuple[int, int], cols: tuple[int, int]) -> int:
    """Compressed bytes of the tiles of ``band`` that intersect the pixel window."""
    bh, bw = src.block_shapes[band - 1]
    total = 0
    for i in range(rows[0] // bh, math.ceil(rows[1] / bh)):
        for j in range(cols[0] // bw, math.ceil(cols[1] / bw)):
            total += src.block_size(band, i, j)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bands", type=int, default=45)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", choices=("wan", "loopback"), default="wan")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "JOB"))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.child:
        method, job_path = args.child
        job = json.loads(Path(job_path).read_text())
        result = (child_pixxel if method == "pixxel_geo" else child_odc_stac)(job)
        print(json.dumps(result))
        return

    import numpy as np

    import pixxel_geo as px
    from pixxel_geo.io.gdal_options import vsizip_path
    from pixxel_geo.io.indices import index_bands
    from pixxel_geo.io.quality import mask_value
    from pixxel_geo.sandbox import Sandbox, SandboxSettings

    settings = SandboxSettings(
        bands=args.bands, width=args.size, height=args.size, count=1, timeseries=True, download_seconds=0.2
    )
    data_dir = Path(tempfile.gettempdir()) / f"pixxel-bench-stack-{args.bands}-{args.size}"
    with Sandbox.launch(data_dir=data_dir, token="bench-token-0123456789", settings=settings) as sb:
        api = {"api_key": sb.token, "base_url": sb.url}
        with px.Client(**api) as client:
            season = sorted(
                (c for c in client.catalogs.search(limit=50) if c.details["id"].startswith("FF04_")),
                key=lambda c: c.properties["datetime"],
            )
            days: dict[str, Any] = {}
            for catalog in season:
                days.setdefault(catalog.properties["datetime"][:10], catalog)  # one scene per date
            catalogs = list(days.values())
            west, south, east, north = catalogs[0].details["bbox"]
            bbox = [west, south, (west + east) / 2, (south + north) / 2]  # the south-west quarter
            # What the answer needs, and the odc-stac items: from the products themselves.
            shared = sorted(
                set.intersection(*[set(px.open_dataset(c, client=client)["band"].values.tolist()) for c in catalogs])
            )
            picked = index_bands("NDVI", shared)
            needed = 0
            groups: dict[tuple[int, int], list[dict[str, Any]]] = {}
            for catalog in catalogs:
                cube = px.open_dataset(catalog, client=client)
                wavelengths = cube["band"].values.tolist()
                red, nir = wavelengths.index(picked["R"]) + 1, wavelengths.index(picked["N"]) + 1
                download = client.downloads.wait(client.downloads.create(catalog_ids=[catalog.id]).id)
                item = json.loads(json.dumps(catalog.details))
                for key in ("image", "mask"):
                    item["assets"][key]["href"] = vsizip_path(download.signed_url, item["assets"][key]["href"])
                    item["assets"][key]["roles"] = ["data"]
                groups.setdefault((red, nir), []).append(item)
                h, w = cube.sizes["y"], cube.sizes["x"]
                rows, cols = (h // 2, h), (0, w // 2)
                with px.open_raster(catalog, client=client) as src:
                    needed += _tile_bytes(src, red, rows, cols) + _tile_bytes(src, nir, rows, cols)
                mask_member = catalog.details["assets"]["mask"]["href"]
                with px.open_raster(catalog, mask_member, client=client) as src:
                    needed += _tile_bytes(src, 1, rows, cols)
        job = {
            "api": api,
            "catalog_ids": [c.id for c in catalogs],
            "bbox": bbox,
            "workers": args.workers,
            "mask_bits": mask_value(("cloud", "cloud_shadow")),
            "odc_groups": [{"red": r, "nir": n, "items": items} for (r, n), items in groups.items()],
        }
        if args.profile == "wan":
            sb.set_faults(**WAN)
        results = []
        with tempfile.TemporaryDirectory() as tmp:
            for method in METHODS:
                results.append(run_child(sb, method, job, Path(tmp)))
                print(json.dumps(results[-1]), file=sys.stderr, flush=True)
            ours, theirs = (np.load(Path(tmp) / f"{m}.npy") for m in METHODS)
        sb.clear_faults()
    # The two grids may differ by a pixel row at the bbox edge (snapping): compare the answers' means.
    mean_ours, mean_theirs = float(np.nanmean(ours)), float(np.nanmean(theirs))
    baseline = next(r for r in results if r["method"] == "odc_stac")
    print(
        f"{len(catalogs)} products ({args.bands} bands x {args.size}^2, two band sets), bbox = SW quarter, "
        f"{args.workers} process workers, profile {args.profile}; tiles needed {needed / 1e6:.2f} MB; "
        f"NDVI bands {picked}; mean NDVI {mean_ours:.4f} (pixxel_geo, {ours.shape}) vs {mean_theirs:.4f} "
        f"(odc-stac, {theirs.shape})"
    )
    print()
    print("| method | wall s | x odc-stac | MB moved | moved / tiles needed | requests | downloads created |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['method']} | {r['wall']:.2f} | {r['wall'] / baseline['wall']:.2f} | {r['bytes'] / 1e6:.2f} | "
            f"{r['bytes'] / needed:.2f} | {r['requests']} | {r['downloads_created']} |"
        )


if __name__ == "__main__":
    main()
