"""Quick-look benchmark: ``px.quicklook`` from the product's thumbnail vs from its overviews.

Runs a sandbox (a child process) with one default-shaped product (45 bands, L2A, with its JPEG
thumbnail), then each contestant in a fresh child process (cold caches), on loopback and on the
WAN profile (40 ms to first byte, 25 MB/s per connection):

- ``thumbnail``: ``px.quicklook(url, size=512)`` (reads the product's ``.jpeg``);
- ``overviews``: ``px.quicklook(url, size=512, thumbnail=False)`` (reads 3 bands from the COG's
  overviews, one stretch from a sample of pixels);
- ``overviews_full_stretch``: the same read, stretched as pixxel-geo did before (each channel
  on its own, percentiles of every pixel): the baseline for the stretch's cost.

Requests and bytes come from the sandbox's request log. Ratios are against ``overviews_full_stretch``.

Usage:
    .venv/bin/python benchmarks/quicklook.py [--bands 45] [--size 1024] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("thumbnail", "overviews", "overviews_full_stretch")
WAN = {"latency": 0.04, "bandwidth": 25e6}


def _full_stretch(data: Any) -> Any:
    """The old stretch: each band on its own, 2-98 percentiles of every valid pixel."""
    import numpy as np

    out = np.zeros(data.shape, dtype="uint8")
    for i in range(data.shape[0]):
        band = np.ma.masked_invalid(np.ma.asarray(data[i], dtype="float64"))
        valid = band.compressed()
        lo, hi = np.percentile(valid, [2, 98])
        out[i] = np.ma.clip((band - lo) / (hi - lo or 1.0) * 255.0, 0, 255).filled(0).astype("uint8")
    return out


def child(method: str, url: str) -> None:
    """One quick look in this (fresh) process; prints the wall time as JSON."""
    sys.path.insert(0, str(ROOT))
    import importlib

    import pixxel_geo as px

    for module in ("numpy", "rasterio", "PIL.Image", "pixxel_geo.io.quicklook", "pixxel_geo.io.dataset"):
        importlib.import_module(module)  # imports are not what is measured
    start = time.perf_counter()
    if method == "thumbnail":
        px.quicklook(url, size=512)
    elif method == "overviews":
        px.quicklook(url, size=512, thumbnail=False)
    else:
        import numpy as np

        ql = importlib.import_module("pixxel_geo.io.quicklook")

        original = ql.stretch
        ql.stretch = lambda data, low=2, high=98: _full_stretch(data)  # type: ignore[assignment]
        try:
            rgb = px.quicklook(url, size=512, thumbnail=False)
        finally:
            ql.stretch = original
        assert rgb.dtype == np.uint8
    print(json.dumps({"wall": time.perf_counter() - start}))


def run_one(sb: Any, method: str, url: str) -> dict[str, Any]:
    sb.reset_requests()
    out = subprocess.run(
        [sys.executable, __file__, "--child", method, url],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if out.returncode:
        raise RuntimeError(f"{method} failed:\n{out.stderr[-2000:]}")
    log = sb.requests("/files/")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result | {"requests": len(log), "bytes": sum(int(r.get("bytes") or 0) for r in log)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bands", type=int, default=45)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar="ARG")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sys.path.insert(0, str(ROOT))
    import pixxel_geo as px
    from pixxel_geo.sandbox import Sandbox, SandboxSettings

    settings = SandboxSettings(bands=args.bands, width=args.size, height=args.size, count=1, download_seconds=0.1)
    with tempfile.TemporaryDirectory() as data_dir, Sandbox.launch(data_dir=data_dir, settings=settings) as sb:
        with px.Client(api_key=sb.token, base_url=sb.url) as client:
            [catalog_id] = sb.info()["catalog_ids"]
            download = client.downloads.wait(client.downloads.create(catalog_ids=[catalog_id]).id)
        url = str(download.signed_url)
        size = int(sb.requests("/files/")[-1]["bytes"]) if sb.requests("/files/") else 0
        rows = []
        for profile, faults in (("loopback", {}), ("wan", WAN)):
            sb.clear_faults()
            if faults:
                sb.set_faults(**faults)
            results: dict[str, dict[str, Any]] = {}
            for method in METHODS:
                runs = [run_one(sb, method, url) for _ in range(args.repeat)]
                results[method] = {
                    "wall": statistics.median(r["wall"] for r in runs),
                    "requests": runs[-1]["requests"],
                    "bytes": runs[-1]["bytes"],
                }
            base = results["overviews_full_stretch"]["wall"]
            for method, result in results.items():
                rows.append(
                    (profile, method, result["wall"], result["wall"] / base, result["requests"], result["bytes"])
                )
    print(f"product: {args.bands} bands x {args.size}^2 (zip size from the log: {size or 'n/a'})\n")
    print("| profile | method | wall s (median) | x overviews_full_stretch | requests | bytes |")
    print("|---|---|---|---|---|---|")
    for profile, method, wall, ratio, requests, nbytes in rows:
        print(f"| {profile} | {method} | {wall:.3f} | {ratio:.2f} | {requests} | {nbytes} |")


if __name__ == "__main__":
    main()
