"""System GDAL (Debian's 3.6) through the local range server vs the signed-URL path, and GDAL 3.10.

Runs a sandbox with one product, sets the WAN profile (40 ms to first byte, 25 MB/s per
connection), then times Debian's ``gdalinfo`` / ``gdal_translate`` (fresh processes) on the
local server's paths and on the brace ``/vsizip/{/vsicurl?use_head=no&url=<signed>}`` path,
and rasterio's GDAL (3.10, tuned options, a fresh Python process each) on the signed-URL path.
Requests and bytes come from the sandbox's request log. Prints a Markdown table
(benchmarks/README.md, "System GDAL 3.6 through the local range server").

Usage:
    .venv/bin/python benchmarks/gdal36_localserver.py [--bands 32] [--size 1024] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

import pixxel_geo as px
from pixxel_geo.io.gdal_options import vsizip_path
from pixxel_geo.io.localserver import LocalRangeServer
from pixxel_geo.sandbox import Sandbox, SandboxSettings

ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
RASTERIO = """
import sys, time, rasterio
from pixxel_geo.io.gdal_options import TUNED_OPTIONS
t = time.perf_counter()
with rasterio.Env(**TUNED_OPTIONS), rasterio.open(sys.argv[1]) as src:
    if sys.argv[2] == "quicklook":
        src.read([1, 2, 3], out_shape=(3, int(sys.argv[3]), int(sys.argv[3])))
print(time.perf_counter() - t)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bands", type=int, default=32)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    out = args.size // 2
    settings = SandboxSettings(bands=args.bands, width=args.size, height=args.size, count=1, download_seconds=0.1)
    with (
        tempfile.TemporaryDirectory() as data_dir,
        Sandbox.launch(data_dir=data_dir, settings=settings) as sb,
        px.Client(api_key=sb.token, base_url=sb.url) as client,
    ):
        catalog = next(iter(client.catalogs.search(max_items=1)))
        download = client.downloads.wait(client.downloads.create(catalog_ids=[catalog.id]).id, timeout=60)
        signed = str(download.signed_url)
        with LocalRangeServer(client=client) as server:
            member = max((m for m in server.members(catalog.id) if m.endswith(".tif")), key=len)
            size = server._product("catalogs", catalog.id).size()
            sb.set_faults(latency=0.04, bandwidth=25e6)
            quick = ["gdal_translate", "-q", "-b", "1", "-b", "2", "-b", "3", "-outsize", str(out), "0"]
            local, local_zip = server.gdal_path(catalog.id, member), server.gdal_path(catalog.id, member, stored=False)
            brace = vsizip_path(signed, member)
            rows = [
                ("3.6", "`gdalinfo`", "local server (member)", ["gdalinfo", local]),
                ("3.6", "`gdalinfo`", "local server (`/vsizip/`)", ["gdalinfo", local_zip]),
                ("3.6", "`gdalinfo`", "signed URL, `use_head=no`", ["gdalinfo", brace]),
                ("3.6", f"3-band quicklook at {out} px", "local server (member)", [*quick, local, "/tmp/pxq.tif"]),
                ("3.6", f"3-band quicklook at {out} px", "signed URL, `use_head=no`", [*quick, brace, "/tmp/pxq.tif"]),
                ("3.10", "open", "signed URL, tuned", [sys.executable, "-c", RASTERIO, brace, "open", "0"]),
                ("3.10", f"3-band quicklook at {out} px", "signed URL, tuned",
                 [sys.executable, "-c", RASTERIO, brace, "quicklook", str(out)]),
            ]  # fmt: skip
            print(f"archive: {size / 1e6:.1f} MB\n")
            print("| GDAL | what | path | WAN s | requests | % of archive moved |\n|---|---|---|---|---|---|")
            for gdal, what, path, command in rows:
                times = []
                for _ in range(args.repeat):
                    sb.reset_requests()
                    started = time.perf_counter()
                    run = subprocess.run(command, capture_output=True, text=True, env=None if gdal == "3.10" else ENV)
                    elapsed = time.perf_counter() - started
                    if run.returncode:
                        raise SystemExit(f"{what} failed: {run.stderr[-500:]}")
                    times.append(float(run.stdout.split()[-1]) if gdal == "3.10" else elapsed)
                    served = sb.requests(path_prefix="/files/")
                moved = sum(r["bytes"] for r in served)
                print(f"| {gdal} | {what} | {path} | {statistics.median(times):.2f} | {len(served)} | "
                      f"{100 * moved / size:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
