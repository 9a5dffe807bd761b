"""Streaming benchmark: pixxel-geo's range reader vs GDAL (tuned, defaults) vs download-then-read.

Runs a sandbox (a child process) with two realistic products of the same size, one
band-interleaved and one pixel-interleaved (``SandboxSettings(interleave="mixed")``), then
each read in a fresh child process (cold caches), on loopback and on the WAN profile (40 ms
to first byte, 25 MB/s per connection). Requests and bytes come from the sandbox's request
log (bytes the client got: a dropped response counts only what went out before the close);
peak RSS from the child's rusage. Ratios are against "GDAL tuned" on the same product and
profile, measured in the same run.

Usage:
    .venv/bin/python benchmarks/streaming.py [--bands 45] [--size 1024] [--repeat 1]
        [--layouts band,pixel] [--baseline-root DIR] [--methods pixxel_geo,pixxel_geo_base,gdal_tuned]

``--baseline-root DIR`` adds the contestant ``pixxel_geo_base``: the same read with the checkout at
DIR (e.g. ``main``), run in the same rounds as this checkout's, alternating, to tell a change from
the machine's noise. With ``--repeat`` above 1 the contestants' order rotates between rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
READS = ("window_3_bands", "window_all_bands", "quicklook")
METHODS = ("pixxel_geo", "gdal_tuned", "gdal_defaults", "download_then_read")
WAN = {"latency": 0.04, "bandwidth": 25e6}


def _read(src: Any, read: str, size: int) -> Any:
    """The three reads, identical for every method (``src`` is a rasterio dataset)."""
    window = ((size // 4, size // 4 + 512), (size // 4, size // 4 + 512))
    if read == "window_3_bands":
        bands = [max(1, src.count * k // 15) for k in (2, 7, 12)]
        return src.read(bands, window=window)
    if read == "window_all_bands":
        return src.read(window=window)
    bands = [max(1, src.count * k // 15) for k in (2, 7, 12)]
    q = size // 2
    return src.read(bands, out_shape=(3, q, q))


def child(method: str, read: str, url: str, member: str, size: int, workdir: str) -> None:
    """Run one read in this (fresh) process and print wall time and peak RSS as JSON."""
    sys.path.insert(0, str(ROOT))
    import httpx
    import rasterio

    from pixxel_geo.io.gdal_options import tuned_env, vsizip_path
    from pixxel_geo.io.raster import gdal_path, open_raster

    start = time.perf_counter()
    if method == "pixxel_geo":
        with open_raster(url, member) as src:
            _read(src, read, size)
    elif method == "gdal_tuned":
        path = gdal_path(url, member)
        with tuned_env(), rasterio.open(path) as src:
            _read(src, read, size)
    elif method == "gdal_defaults":
        path = vsizip_path(url, member)
        with rasterio.Env(), rasterio.open(path) as src:
            _read(src, read, size)
    else:
        import zipfile

        zpath = Path(workdir) / "product.zip"
        with httpx.stream("GET", url, timeout=600) as response, zpath.open("wb") as f:
            for chunk in response.iter_bytes(1 << 20):
                f.write(chunk)
        with zipfile.ZipFile(zpath) as zf:
            zf.extract(member, workdir)
        with rasterio.open(Path(workdir) / member) as src:
            _read(src, read, size)
    wall = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall": wall, "rss_mb": rss_mb}))


def run_one(
    sb: Any, method: str, read: str, url: str, member: str, size: int, baseline_root: Path | None = None
) -> dict[str, Any]:
    root, script = ROOT, Path(__file__)
    if method == "pixxel_geo_base" and baseline_root is not None:
        # The other checkout's own copy of this script, so its child reads with that checkout's code.
        root, script, method = baseline_root, baseline_root / "benchmarks" / "streaming.py", "pixxel_geo"
    with tempfile.TemporaryDirectory() as workdir:
        sb.reset_requests()
        out = subprocess.run(
            [sys.executable, str(script), "--child", method, read, url, member, str(size), workdir],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        log = sb.requests("/files/")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["requests"] = len(log)
    result["bytes"] = sum(int(r.get("bytes") or 0) for r in log)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bands", type=int, default=45)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--layouts", default="band,pixel", help="products to read: band, pixel or both")
    parser.add_argument("--baseline-root", type=Path, help="also read with the checkout at this path")
    parser.add_argument("--methods", help="comma-separated contestants to run (default: all)")
    parser.add_argument("--child", nargs=6, metavar="ARG")
    args = parser.parse_args()
    if args.child:
        method, read, url, member, size, workdir = args.child
        child(method, read, url, member, int(size), workdir)
        return

    sys.path.insert(0, str(ROOT))
    import pixxel_geo as px
    from pixxel_geo.io.archive import ZipArchive
    from pixxel_geo.io.reader import StaticURLSource
    from pixxel_geo.sandbox import Sandbox, SandboxSettings

    layouts = [name.strip() for name in args.layouts.split(",") if name.strip()]
    if not layouts or set(layouts) - {"band", "pixel"}:
        parser.error(f"--layouts takes band, pixel or band,pixel; got {args.layouts!r}")
    # "mixed": catalog 0 is band-interleaved, catalog 1 the same scene size pixel-interleaved.
    settings = SandboxSettings(bands=args.bands, width=args.size, height=args.size, count=2, interleave="mixed")
    data_dir = Path(tempfile.gettempdir()) / f"pixxel-bench-{args.bands}-{args.size}"
    rows = []
    sizes: dict[str, int] = {}
    with Sandbox.launch(data_dir=data_dir, token="bench-token-0123456789", settings=settings) as sb:
        client = px.Client(api_key=sb.token, base_url=sb.url)
        catalog_ids = sb.info()["catalog_ids"]
        for layout in layouts:
            catalog_id = catalog_ids[0 if layout == "band" else 1]
            download = client.downloads.wait(client.downloads.create(catalog_ids=[catalog_id]).id)
            url = download.signed_url
            archive = ZipArchive(StaticURLSource(url))
            member = next(n for n in archive.names() if n.endswith(".tif"))
            sizes[layout] = archive.size
            for profile in ("loopback", "wan"):
                if profile == "wan":
                    sb.set_faults(**WAN)
                else:
                    sb.clear_faults()
                methods = list(METHODS)
                if args.baseline_root is not None:
                    methods.insert(1, "pixxel_geo_base")
                if args.methods:
                    methods = [m for m in methods if m in args.methods.split(",")]
                for read in READS:
                    by_method: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
                    for round_ in range(args.repeat):  # rotate, so no method always runs first
                        for method in methods[round_ % len(methods) :] + methods[: round_ % len(methods)]:
                            by_method[method].append(
                                run_one(sb, method, read, url, member, args.size, args.baseline_root)
                            )
                    for method, runs in by_method.items():
                        row = {
                            "layout": layout,
                            "profile": profile,
                            "read": read,
                            "method": method,
                            "wall": statistics.median(r["wall"] for r in runs),
                            "requests": runs[0]["requests"],
                            "bytes": runs[0]["bytes"],
                            "rss_mb": max(r["rss_mb"] for r in runs),
                        }
                        rows.append(row)
                        print(json.dumps(row), file=sys.stderr, flush=True)
            sb.clear_faults()
    for layout, size in sizes.items():
        print(f"product ({layout}-interleaved): {args.bands} bands x {args.size}^2; zip {size / 1e6:.1f} MB")
    print()
    print("| layout | profile | read | method | wall s | x GDAL tuned | requests | % of file moved | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        tuned = next(
            (
                r for r in rows
                if (r["layout"], r["profile"], r["read"]) == (row["layout"], row["profile"], row["read"])
                and r["method"] == "gdal_tuned"
            ),
            None,
        )  # fmt: skip
        ratio = f"{row['wall'] / tuned['wall']:.2f}" if tuned is not None else "-"
        print(
            f"| {row['layout']} | {row['profile']} | {row['read']} | {row['method']} | {row['wall']:.2f} | "
            f"{ratio} | {row['requests']} | "
            f"{100 * row['bytes'] / sizes[row['layout']]:.2f} | {row['rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
