"""Stack benchmark: px.stack on dask.distributed vs odc-stac through GDAL's /vsizip/{/vsicurl?…} paths.

Runs a sandbox (a child process) with its season over one farm (``SandboxSettings(timeseries=True)``):
six dates, two band sets that only partly overlap. The job: per-pixel NDVI averaged over the six dates,
over a bbox covering the south-west quarter of each product, clouds and cloud shadows masked with each
product's quality mask, on a ``LocalCluster(processes=True)``, on the WAN profile (40 ms to first byte,
25 MB/s per connection). Each contestant runs in a fresh child process with its own cluster.

The timed region (the same for both): from catalog ids, on a running cluster whose workers have run
nothing yet, with each library's modules imported, to the answer in memory. Both create and wait for
one download resource per product inside it, concurrently:

- ``pixxel_geo``: ``px.stack(catalog ids, bbox=…)`` then ``px.indices(…, "NDVI")``, mean over time
  (the downloads are px.stack's own).
- ``odc_stac``: per catalog id, concurrently, ``client.catalogs.get`` and ``client.downloads.create`` +
  ``client.downloads.wait`` (the px.Client calls a user makes), then ``odc.stac.load`` of the catalogs'
  STAC items with the image and mask assets pointed at ``/vsizip/{/vsicurl?use_head=no&list_dir=no&url=…}
  /member`` paths of the signed URLs, the tuned GDAL options set on the workers
  (``odc.stac.configure_rio``), ``groupby="solar_day"``, the red and NIR bands picked by index, one load
  per band set (odc-stac names bands per asset index, so it cannot align two band sets itself), masked
  and averaged the same way.

Cluster start-up is timed apart for both. The old definition (runs 1-3 of benchmarks/README.md: cluster
start-up inside the timer, odc-stac's signed URLs and STAC items made before it) is printed too, derived
from the same run's timers (it leaves out pixxel_geo's first-call imports, which runs 1-3 timed).

Figures: wall time (and its ratio to odc-stac), bytes moved (``/files/`` bytes in the request log)
against the bytes of the tiles the answer needs (the red, NIR and mask tiles under the bbox, from the
products' tile byte counts), download resources created, whether both answers agree, and each
contestant's phases (the request log and the child's timers and dask task stream).

Usage:
    .venv/bin/python benchmarks/stack.py [--bands 45] [--size 1024] [--workers 2] [--profile wan] [--log FILE]
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


def _tasks(stream: Any) -> dict[str, Any]:
    """First task start, last task end (epoch seconds) and compute seconds, from dask's task stream."""
    starts, stops, busy, warm = [], [], 0.0, []
    for task in stream.data:
        key = task["key"] if isinstance(task["key"], str) else str(task["key"][0])
        for span in task.get("startstops", ()):
            if span.get("action") != "compute":
                continue
            if key.startswith("_warm_worker"):  # px.stack's background warm-up (imports, URLs)
                warm.append((span["start"], span["stop"]))
                continue
            starts.append(span["start"])
            stops.append(span["stop"])
            busy += span["stop"] - span["start"]
    return {
        "first_task": min(starts, default=0.0),
        "last_task": max(stops, default=0.0),
        "task_seconds": busy,
        "warm": sorted(warm),
    }


def child_pixxel(job: dict[str, Any]) -> dict[str, Any]:
    """px.stack on a running process cluster: NDVI time-mean over the bbox, from catalog ids."""
    import numpy as np
    import odc.geo.xr  # noqa: F401  # what px.stack imports on first use (as odc.stac is imported below)
    import rioxarray  # noqa: F401
    from dask.distributed import Client as DaskClient
    from dask.distributed import get_task_stream

    import pixxel_geo as px
    import pixxel_geo.io.dataset

    marks: dict[str, float] = {"cluster_start": time.time()}
    with _cluster(job["workers"]) as cluster, DaskClient(cluster), get_task_stream() as stream:
        marks["start"] = time.time()  # the timed region: catalog ids on a running cluster
        start = time.perf_counter()
        with px.Client(**job["api"]) as client:
            cube = px.stack(job["catalog_ids"], bbox=job["bbox"], client=client)
            marks["opened"] = time.time()
            ndvi = px.indices(cube, ["NDVI"]).sel(index="NDVI").mean("time")
            marks["graph"] = time.time()
            values = ndvi.compute().values
            marks["end"] = time.time()
        wall = time.perf_counter() - start
    np.save(job["out"], values)
    return {"wall": wall, "marks": marks, "tasks": _tasks(stream), "bands": cube.attrs.get("band_matching", "")}


def child_odc_stac(job: dict[str, Any]) -> dict[str, Any]:
    """odc-stac through GDAL /vsizip/{/vsicurl?…} paths on a running process cluster, the same answer.

    From the same catalog ids: the catalogs' STAC items and one download resource per product are
    asked for concurrently with the px.Client calls a user makes (``catalogs.get``,
    ``downloads.create``, ``downloads.wait``), inside the timed region.
    """
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import pystac
    import xarray as xr
    from dask.distributed import Client as DaskClient
    from dask.distributed import get_task_stream
    from odc.stac import configure_rio, load

    import pixxel_geo as px
    from pixxel_geo.io.gdal_options import TUNED_OPTIONS, vsizip_path

    marks: dict[str, float] = {"cluster_start": time.time()}
    with _cluster(job["workers"]) as cluster, DaskClient(cluster) as dask_client, get_task_stream() as stream:
        marks["start"] = time.time()
        start = time.perf_counter()
        configure_rio(cloud_defaults=False, client=dask_client, **TUNED_OPTIONS)
        configure_rio(cloud_defaults=False, **TUNED_OPTIONS)
        with px.Client(**job["api"]) as client:

            def item_of(catalog_id: str) -> pystac.Item:
                catalog = client.catalogs.get(catalog_id)
                download = client.downloads.wait(client.downloads.create(catalog_ids=[catalog_id]).id)
                item = json.loads(json.dumps(catalog.details))
                for key in ("image", "mask"):
                    item["assets"][key]["href"] = vsizip_path(download.signed_url, item["assets"][key]["href"])
                    item["assets"][key]["roles"] = ["data"]
                return pystac.Item.from_dict(item)

            with ThreadPoolExecutor(max_workers=8) as pool:
                items = dict(zip(job["catalog_ids"], pool.map(item_of, job["catalog_ids"]), strict=True))
        marks["opened"] = time.time()
        steps = []
        for group in job["odc_groups"]:
            data = load(
                [items[i] for i in group["ids"]],
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
        marks["graph"] = time.time()
        values = ndvi.compute().values
        marks["end"] = time.time()
        wall = time.perf_counter() - start
    np.save(job["out"], values)
    return {"wall": wall, "marks": marks, "tasks": _tasks(stream)}


def run_child(sb: Any, method: str, job: dict[str, Any], workdir: Path) -> dict[str, Any]:
    job_path = workdir / f"{method}.json"
    job = {**job, "out": str(workdir / f"{method}.npy")}
    job_path.write_text(json.dumps(job))
    sb.reset_requests()
    load = os.getloadavg()[0]  # the machine may be shared: say how busy it was
    out = subprocess.run(
        [sys.executable, __file__, "--child", method, str(job_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if out.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{out.stderr[-4000:]}")
    files = sb.requests("/files/")
    api = sb.requests("/v0/")
    posts = [r for r in api if r["path"] == "/v0/catalogs/download" and r["method"] == "POST"]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    marks = result["marks"]
    timed = [r for r in files if r["time"] >= marks["start"]]
    cluster_start = marks["start"] - marks["cluster_start"]
    # The old definition (runs 1-3): cluster start-up inside the timer; odc-stac's signed URLs
    # (and STAC items) made beforehand, outside it.
    old = result["wall"] + cluster_start - (marks["opened"] - marks["start"] if method == "odc_stac" else 0.0)
    result.update(
        method=method,
        requests=len(timed),
        bytes=sum(int(r.get("bytes") or 0) for r in timed),
        downloads_created=len(posts),
        statuses=sorted({r["status"] for r in files}),
        cluster_start=cluster_start,
        old_wall=old,
        load=load,
        log={"files": files, "api": api},
    )
    return result


def _span(text: str | None) -> tuple[int, int] | None:
    """``(start, end)`` (end exclusive) of an explicit ``bytes=a-b`` Range header; None for a suffix range."""
    if not text or not text.startswith("bytes=") or text.startswith("bytes=-"):
        return None
    first = text[6:].split(",")[0]
    a, _, b = first.partition("-")
    return int(a), int(b) + 1


def breakdown(result: dict[str, Any], layout: dict[str, Any]) -> list[tuple[str, float, int, int]]:
    """Phase by phase: (what, seconds, requests, bytes), from the child's marks and the request log."""
    marks, tasks = result["marks"], result["tasks"]
    files, api = result["log"]["files"], result["log"]["api"]
    opened = [r for r in files if marks["start"] <= r["time"] <= marks["opened"]]
    computed = [r for r in files if r["time"] > marks["graph"]]

    # The run's zips are its own downloads (other paths than the parent's): know each by a member's
    # local header offset, which the product's own reads start at.
    zips: dict[str, Any] = {}
    for r in files:
        span = _span(r.get("range"))
        if span and r["path"] not in zips:
            for candidate in layout.values():
                if any(0 < h == span[0] for h, _, _ in candidate["members"].values()):
                    zips[r["path"]] = candidate

    def kind(r: dict[str, Any]) -> str:
        span = _span(r.get("range"))
        if span is None:
            return "zip directory (suffix read)"
        zip_ = zips.get(r["path"])
        if zip_ is None:
            return "unclassified"
        start = span[0]
        if start >= zip_["directory"]:
            return "zip directory"
        for name, (header, data, size) in zip_["members"].items():
            if header <= start < data + size:
                role = "image" if name == zip_["image"] else "mask" if name == zip_["mask"] else "other member"
                return f"{role} header + head" if start <= data else f"{role} directories/tiles"
        return "unclassified"

    rows: list[tuple[str, float, int, int]] = []
    gets = [r for r in api if r["path"].startswith("/v0/catalogs/download/") and r["method"] == "GET"]
    # A download's polls end when its zip is first read; later GETs are (re-)signs by the workers.
    first_read: dict[str, float] = {}
    for r in files:
        download = r["path"].split("/")[2]
        first_read[download] = min(first_read.get(download, r["time"]), r["time"])

    def polled(r: dict[str, Any]) -> bool:
        return r["time"] <= first_read.get(r["path"].rsplit("/", 1)[-1], math.inf)

    groups = (
        ("API: POST download", [r for r in api if r["path"] == "/v0/catalogs/download" and r["method"] == "POST"]),
        ("API: GET download, polls until ready", [r for r in gets if polled(r)]),
        ("API: GET download, workers signing", [r for r in gets if not polled(r)]),
        ("API: GET catalog", [r for r in api if r["path"].startswith("/v0/catalogs/") and "download" not in r["path"]]),
    )
    for what, group in groups:
        timed = [r for r in group if r["time"] >= marks["start"]]
        last = max((r["time"] for r in timed), default=marks["start"]) - marks["start"]
        rows.append((f"{what} (last answer at +s)", last, len(timed), 0))
    kinds: dict[str, list[dict[str, Any]]] = {}
    for r in opened:
        kinds.setdefault(kind(r), []).append(r)
    for what, group in sorted(kinds.items()):
        rows.append((f"open: /files/ {what}", 0.0, len(group), sum(int(r["bytes"] or 0) for r in group)))
    reads = [r["time"] for r in opened] + [r["time"] for r in api if marks["start"] <= r["time"] <= marks["opened"]]
    after = marks["opened"] - max(reads, default=marks["start"])
    rows.append(("open: after its last request (GDAL opens, grid, graph; odc-stac: building items)", after, 0, 0))
    rows.append(("open phase total (to the cube)", marks["opened"] - marks["start"], len(opened), 0))
    rows.append(("graph building", marks["graph"] - marks["opened"], 0, 0))
    first = tasks["first_task"] - marks["graph"] if tasks["first_task"] else 0.0
    rows.append(("compute: until the first task starts (worker imports, deserialisation)", first, 0, 0))
    kinds = {}
    for r in computed:
        kinds.setdefault(kind(r), []).append(r)
    for what, group in sorted(kinds.items()):
        rows.append((f"compute: /files/ {what}", 0.0, len(group), sum(int(r["bytes"] or 0) for r in group)))
    for i, (begin, end) in enumerate(tasks.get("warm", [])):
        what = f"worker warm-up task {i + 1}: starts at +{begin - marks['start']:.2f} s, runs"
        rows.append((what, end - begin, 0, 0))
    rows.append(("compute: tasks running (first start to last end)", tasks["last_task"] - tasks["first_task"], 0, 0))
    rows.append(("compute phase total", marks["end"] - marks["graph"], len(computed), 0))
    return rows


def _tile_bytes(src: Any, band: int, rows: tuple[int, int], cols: tuple[int, int]) -> int:
    """Compressed bytes of the tiles of ``band`` that intersect the pixel window."""
    bh, bw = src.block_shapes[band - 1]
    total = 0
    for i in range(rows[0] // bh, math.ceil(rows[1] / bh)):
        for j in range(cols[0] // bw, math.ceil(cols[1] / bw)):
            total += src.block_size(band, i, j)
    return total


def _layout(archive: Any, image: str, mask: str) -> dict[str, Any]:
    """Where a product zip's directory and members lie (to name each logged range)."""
    members = {}
    for name in archive.names():
        member = archive.member(name)
        offset, size = archive.data_range(name)
        members[name] = (member.header_offset, offset, size)
    directory = max((o + s for _, o, s in members.values()), default=0)  # the central directory follows the data
    return {"directory": directory, "members": members, "image": image, "mask": mask}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bands", type=int, default=45)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", choices=("wan", "loopback"), default="wan")
    parser.add_argument("--log", help="write both contestants' request logs and marks to this JSON file")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "JOB"))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.child:
        method, job_path = args.child
        job = json.loads(Path(job_path).read_text())
        result = (child_pixxel if method == "pixxel_geo" else child_odc_stac)(job)
        print(json.dumps(result))
        return

    from urllib.parse import urlsplit

    import numpy as np

    import pixxel_geo as px
    from pixxel_geo.io.indices import index_bands
    from pixxel_geo.io.quality import mask_value
    from pixxel_geo.io.resolve import resolve_source
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
            # What the answer needs, and which band indices odc-stac must load: from the products.
            shared = sorted(
                set.intersection(*[set(px.open_dataset(c, client=client)["band"].values.tolist()) for c in catalogs])
            )
            picked = index_bands("NDVI", shared)
            needed = 0
            groups: dict[tuple[int, int], list[str]] = {}
            layout: dict[str, Any] = {}
            for catalog in catalogs:
                cube = px.open_dataset(catalog, client=client)
                wavelengths = cube["band"].values.tolist()
                red, nir = wavelengths.index(picked["R"]) + 1, wavelengths.index(picked["N"]) + 1
                groups.setdefault((red, nir), []).append(catalog.id)
                h, w = cube.sizes["y"], cube.sizes["x"]
                rows, cols = (h // 2, h), (0, w // 2)
                with px.open_raster(catalog, client=client) as src:
                    needed += _tile_bytes(src, red, rows, cols) + _tile_bytes(src, nir, rows, cols)
                mask_member = catalog.details["assets"]["mask"]["href"]
                with px.open_raster(catalog, mask_member, client=client) as src:
                    needed += _tile_bytes(src, 1, rows, cols)
                archive = resolve_source(catalog, client).archive
                image_member = catalog.details["assets"]["image"]["href"]
                path = urlsplit(archive.reader.current_url()).path
                layout[path] = _layout(archive, image_member, mask_member)
        job = {
            "api": api,
            "catalog_ids": [c.id for c in catalogs],
            "bbox": bbox,
            "workers": args.workers,
            "mask_bits": mask_value(("cloud", "cloud_shadow")),
            "odc_groups": [{"red": r, "nir": n, "ids": ids} for (r, n), ids in groups.items()],
        }
        if args.profile == "wan":
            sb.set_faults(**WAN)
        results = []
        with tempfile.TemporaryDirectory() as tmp:
            for method in METHODS:
                results.append(run_child(sb, method, job, Path(tmp)))
                brief = {k: v for k, v in results[-1].items() if k != "log"}
                print(json.dumps(brief), file=sys.stderr, flush=True)
            ours, theirs = (np.load(Path(tmp) / f"{m}.npy") for m in METHODS)
        sb.clear_faults()
    if args.log:
        Path(args.log).write_text(json.dumps({"layout": layout, "results": results}))
    # The two grids may differ by a pixel row at the bbox edge (snapping): compare the answers' means.
    mean_ours, mean_theirs = float(np.nanmean(ours)), float(np.nanmean(theirs))
    report(results, needed, layout)
    print()
    print(
        f"{len(catalogs)} products ({args.bands} bands x {args.size}^2, two band sets), bbox = SW quarter, "
        f"{args.workers} process workers, profile {args.profile}; tiles needed {needed / 1e6:.2f} MB; "
        f"NDVI bands {picked}; mean NDVI {mean_ours:.4f} (pixxel_geo, {ours.shape}) vs {mean_theirs:.4f} "
        f"(odc-stac, {theirs.shape})"
    )


def report(results: list[dict[str, Any]], needed: int, layout: dict[str, Any]) -> None:
    """The figures (both definitions), the goals, and pixxel_geo's phase breakdown."""
    ours = next(r for r in results if r["method"] == "pixxel_geo")
    baseline = next(r for r in results if r["method"] == "odc_stac")
    print("Like-for-like: both from catalog ids on a running cluster (downloads created and waited for inside).")
    print()
    print(
        "| method | wall s | x odc-stac | MB moved | moved / tiles needed | requests | downloads created "
        "| cluster start s | old definition: wall s | x odc-stac | load average at start |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['method']} | {r['wall']:.2f} | {r['wall'] / baseline['wall']:.2f} | {r['bytes'] / 1e6:.2f} | "
            f"{r['bytes'] / needed:.2f} | {r['requests']} | {r['downloads_created']} | {r['cluster_start']:.2f} | "
            f"{r['old_wall']:.2f} | {r['old_wall'] / baseline['old_wall']:.2f} | {r.get('load', float('nan')):.1f} |"
        )
    print()
    goals = (
        ("bytes <= 1.1x tiles needed", ours["bytes"] / needed <= 1.1, f"{ours['bytes'] / needed:.2f}x"),
        ("one download per product", ours["downloads_created"] == len(layout), f"{ours['downloads_created']}"),
        ("wall <= 0.5x odc-stac", ours["wall"] / baseline["wall"] <= 0.5, f"{ours['wall'] / baseline['wall']:.2f}x"),
        (
            "wall <= 0.5x odc-stac (old definition)",
            ours["old_wall"] / baseline["old_wall"] <= 0.5,
            f"{ours['old_wall'] / baseline['old_wall']:.2f}x",
        ),
    )
    for what, met, figure in goals:
        print(f"- {what}: {figure}: {'MET' if met else 'NOT MET'}")
    for r in results:
        print()
        print(f"{r['method']} phase by phase (seconds from the marks and the task stream; requests and bytes logged):")
        print()
        print("| phase | s | requests | bytes |")
        print("|---|---|---|---|")
        for what, seconds, count, size in breakdown(r, layout):
            print(f"| {what} | {seconds:.2f} | {count} | {size} |")


if __name__ == "__main__":
    main()
