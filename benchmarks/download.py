"""Download benchmark: pixxel-geo's engine vs ``curl -o`` vs one httpx stream.

Runs a sandbox (a child process) with one realistic product (several hundred MB),
creates a download resource, then fetches its signed URL three ways, each in a fresh
child process so peak RSS is its own (from ``os.wait4``'s rusage), on loopback and on
the WAN profile (40 ms to first byte, 25 MB/s per connection). Ratios are against the
baselines measured in the same run.

Targets: WAN >= 7x one stream; loopback >= 0.6x curl; engine peak RSS <= 120 MB.

Usage:
    .venv/bin/python benchmarks/download.py [--bands 150] [--size 1536] [--connections 8]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WAN = {"latency": 0.04, "bandwidth": 25e6}
METHODS = ("engine", "curl", "one_stream")

ONE_STREAM = """
import sys, httpx
url, out = sys.argv[1], sys.argv[2]
with httpx.Client(timeout=60) as c, c.stream("GET", url) as r, open(out, "wb") as f:
    r.raise_for_status()
    for chunk in r.iter_bytes(1 << 20):
        f.write(chunk)
"""

ENGINE = """
import sys
sys.path.insert(0, sys.argv[4])
from pixxel_geo.transfer import fetch
fetch(sys.argv[1], sys.argv[2], connections=int(sys.argv[3]))
"""


def run_child(argv: list[str]) -> tuple[float, float]:
    """Run ``argv``; return (wall seconds, peak RSS in MB) of that child alone."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited with {process.returncode}")
    return seconds, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def sha256_of(path: Path) -> str:
    """Stream the file: reading it whole would inflate the next child's RSS (fork copies it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def measure(method: str, url: str, out: Path, connections: int) -> tuple[float, float]:
    for leftover in out.parent.iterdir():
        if leftover.is_file():
            leftover.unlink()
    if method == "curl":
        return run_child(["curl", "-s", "--fail", "-o", str(out), url])
    if method == "one_stream":
        return run_child([sys.executable, "-c", ONE_STREAM, url, str(out)])
    return run_child([sys.executable, "-c", ENGINE, url, str(out), str(connections), str(ROOT)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bands", type=int, default=150)
    parser.add_argument("--size", type=int, default=1536, help="product width and height in pixels")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--data-dir", help="sandbox data dir (reuse to keep the generated product)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per method; the median is kept")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("curl") is None:
        parser.error("curl is needed as the baseline: apt-get install curl")

    sys.path.insert(0, str(ROOT))
    import pixxel_geo as px
    from pixxel_geo.sandbox import Sandbox, SandboxSettings

    settings = SandboxSettings(bands=args.bands, width=args.size, height=args.size, count=1, download_seconds=0.1)
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="pixxel-bench-") as tmp:
        data_dir = Path(args.data_dir) if args.data_dir else Path(tmp) / "sandbox"
        out_dir = Path(tmp) / "out"
        out_dir.mkdir()
        with Sandbox.launch(data_dir=data_dir, settings=settings) as sandbox:
            with px.Client(api_key=sandbox.token, base_url=sandbox.url) as client:
                catalog = next(iter(client.catalogs.search(limit=1)))
                download = client.downloads.create(catalog_ids=[catalog.id])
                url = client.downloads.wait(download.id).signed_url or ""
            # warm the server's page cache so no method pays for the first read from disk
            subprocess.run(["curl", "-s", "--fail", "-o", os.devnull, url], check=True)
            size = 0
            digests: set[str] = set()
            for profile, faults in (("loopback", {}), ("wan", WAN)):
                sandbox.clear_faults()
                if faults:
                    sandbox.set_faults(**faults)
                runs: dict[str, list[tuple[float, float]]] = {m: [] for m in METHODS}
                for round_ in range(args.repeat):
                    order = METHODS[round_ % len(METHODS) :] + METHODS[: round_ % len(METHODS)]
                    for method in order:  # rotate, so no method always runs first
                        out = out_dir / "product.zip"
                        runs[method].append(measure(method, url, out, args.connections))
                        size = out.stat().st_size
                        digests.add(sha256_of(out))
                results[profile] = {}
                for method, measured in runs.items():
                    seconds = statistics.median(t for t, _ in measured)
                    results[profile][method] = {
                        "seconds": seconds,
                        "mb_per_s": size / seconds / 1e6,
                        "peak_rss_mb": max(rss for _, rss in measured),
                    }
            sandbox.clear_faults()
    if len(digests) != 1:
        raise RuntimeError("the three methods did not produce identical files")
    report: dict[str, Any] = {"size_mb": size / 1e6, "connections": args.connections, "results": results}
    for profile, by_method in results.items():
        engine = by_method["engine"]["mb_per_s"]
        report[f"{profile}_vs_curl"] = engine / by_method["curl"]["mb_per_s"]
        report[f"{profile}_vs_one_stream"] = engine / by_method["one_stream"]["mb_per_s"]
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"product: {size / 1e6:.0f} MB, engine with {args.connections} connections, median of {args.repeat} runs")
    print(f"{'profile':<10}{'method':<12}{'seconds':>9}{'MB/s':>9}{'peak RSS MB':>13}")
    for profile, by_method in results.items():
        for method, r in by_method.items():
            print(f"{profile:<10}{method:<12}{r['seconds']:>9.2f}{r['mb_per_s']:>9.1f}{r['peak_rss_mb']:>13.0f}")
    for profile in results:
        print(
            f"{profile}: engine = {report[f'{profile}_vs_curl']:.2f}x curl, "
            f"{report[f'{profile}_vs_one_stream']:.2f}x one stream"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
