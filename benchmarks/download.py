"""Download benchmark: pixxel-geo's engine vs ``curl -o`` vs one httpx stream.

Runs a sandbox (a child process) with one realistic product (several hundred MB),
creates a download resource, then fetches its signed URL three ways, each in a fresh
child process so peak RSS is its own (from ``os.wait4``'s rusage), on loopback and on
the WAN profile (40 ms to first byte, 25 MB/s per connection). Before every run the
server's file is read into the page cache and dirty pages are synced, the order of the
contestants rotates between rounds, and the median of the runs is kept. Ratios are
against the baselines measured in the same run.

Two times are kept per run. *Process wall* is the child's whole life, so each Python
contestant pays its interpreter start and imports (~0.1-0.2 s) while curl starts in
~5 ms. *Transfer* is the fetch alone: curl's own ``-w '%{time_total}'``, and for the
Python contestants ``time.perf_counter()`` around the transfer call inside the child,
after its imports. The curl_durable / curl_verified shell pipelines have no such
figure; their transfer time is their process wall time. MB/s is from transfer time;
ratios are printed on both bases.

Targets: WAN >= 7x one stream; loopback >= 0.6x curl; engine peak RSS <= 120 MB.

Usage:
    .venv/bin/python benchmarks/download.py [--bands 45] [--size 2560] [--connections 8]
        [--repeat 3] [--loopback-repeat 5] [--baseline-root DIR] [--methods engine,engine_base,curl]

``--baseline-root DIR`` adds the contestant ``engine_base``: the engine of the checkout at DIR
(e.g. ``main``), run in the same rounds, alternating with this checkout's, to tell a change
from the machine's noise.
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
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WAN = {"latency": 0.04, "bandwidth": 25e6}
METHODS = {
    "loopback": ("engine", "curl", "one_stream", "curl_durable", "curl_verified"),
    # one stream at 25 MB/s: fsync and hashing change nothing there, so the extra anchors are skipped
    "wan": ("engine", "curl", "one_stream"),
}
# What the engine guarantees, done with shell tools: the same bytes made durable (fsync), and also
# checked against sha-256 while written (openssl uses the CPU's SHA instructions, like hashlib).
CURL_DURABLE = 'curl -s --fail -o "$2" "$1" && sync "$2"'
CURL_VERIFIED = 'set -o pipefail; curl -s --fail "$1" | tee "$2" | openssl dgst -sha256 >/dev/null && sync "$2"'

# Each Python child prints its transfer seconds (after imports) as its last stdout line.
ONE_STREAM = """
import sys, time, httpx
url, out = sys.argv[1], sys.argv[2]
start = time.perf_counter()
with httpx.Client(timeout=60) as c, c.stream("GET", url) as r, open(out, "wb") as f:
    r.raise_for_status()
    for chunk in r.iter_bytes(1 << 20):
        f.write(chunk)
print(time.perf_counter() - start)
"""

ENGINE = """
import sys, time
sys.path.insert(0, sys.argv[4])
from pixxel_geo.transfer import fetch
start = time.perf_counter()
fetch(sys.argv[1], sys.argv[2], connections=int(sys.argv[3]))
print(time.perf_counter() - start)
"""


def _watch_peak_rss(pid: int, peak: list[int], stop: threading.Event) -> None:
    """Poll ``VmHWM`` of ``pid`` (KiB). Unlike ``ru_maxrss`` it belongs to the program
    after ``exec``, not to the benchmark process the child was forked from."""
    status = Path(f"/proc/{pid}/status")
    while not stop.is_set():
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak[0] = max(peak[0], int(line.split()[1]))
        except (OSError, ValueError):
            pass
        stop.wait(0.005)


def run_child(argv: list[str], reports_transfer: bool = False) -> tuple[float, float, float]:
    """Run ``argv``; return (process wall seconds, transfer seconds, peak RSS in MB) of that
    child alone. With ``reports_transfer`` the child's last stdout line is its transfer
    seconds; otherwise the transfer time is the wall time."""
    peak = [0]
    stop = threading.Event()
    start = time.perf_counter()
    # stdout is a few bytes (the transfer seconds), well under a pipe buffer: read after wait4
    process = subprocess.Popen(argv, stdout=subprocess.PIPE if reports_transfer else subprocess.DEVNULL)
    watcher = threading.Thread(target=_watch_peak_rss, args=(process.pid, peak, stop), daemon=True)
    watcher.start()
    _, status, _ = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    stop.set()
    watcher.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited with {process.returncode}")
    transfer = seconds
    if process.stdout is not None:
        output = process.stdout.read().decode().split()
        process.stdout.close()
        transfer = float(output[-1])
    return seconds, transfer, peak[0] / 1024


def sha256_of(path: Path) -> str:
    """Stream the file: reading it whole would inflate the next child's RSS (fork copies it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def warm(served: list[Path]) -> None:
    """Read the server's files so the page cache holds them: no contestant pays the first disk read."""
    for path in served:
        with open(path, "rb") as handle:
            while handle.read(8 << 20):
                pass


def measure(
    method: str, url: str, out: Path, connections: int, served: list[Path], baseline_root: Path | None = None
) -> tuple[float, float, float]:
    """Run one contestant; return (process wall s, transfer s, peak RSS MB)."""
    for leftover in out.parent.iterdir():
        if leftover.is_file():
            leftover.unlink()
    os.sync()  # the previous contestant's dirty pages are not this one's to write back
    warm(served)
    if method == "curl":
        return run_child(["curl", "-s", "--fail", "-w", "%{time_total}\\n", "-o", str(out), url], True)
    if method == "curl_durable":
        return run_child(["bash", "-c", CURL_DURABLE, "bench", url, str(out)])
    if method == "curl_verified":
        return run_child(["bash", "-c", CURL_VERIFIED, "bench", url, str(out)])
    if method == "one_stream":
        return run_child([sys.executable, "-c", ONE_STREAM, url, str(out)], True)
    root = baseline_root if method == "engine_base" and baseline_root is not None else ROOT
    return run_child([sys.executable, "-c", ENGINE, url, str(out), str(connections), str(root)], True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bands", type=int, default=45)
    parser.add_argument("--size", type=int, default=2560, help="product width and height in pixels")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--data-dir", help="sandbox data dir (reuse to keep the generated product)")
    parser.add_argument("--repeat", type=int, default=3, help="WAN runs per method; the median is kept")
    parser.add_argument("--loopback-repeat", type=int, default=5, help="loopback runs per method (noisier, and cheap)")
    parser.add_argument("--baseline-root", type=Path, help="also time the engine of the checkout at this path")
    parser.add_argument("--methods", help="comma-separated contestants to run (default: all of each profile)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    for tool in ("curl", "openssl"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is needed for the baselines: apt-get install {tool}")

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
            served = [p for p in (data_dir / "products").rglob("*.zip") if p.stat().st_size > 1 << 20]
            size = 0
            digests: set[str] = set()
            for profile, faults in (("loopback", {}), ("wan", WAN)):
                sandbox.clear_faults()
                if faults:
                    sandbox.set_faults(**faults)
                methods = METHODS[profile]
                if args.baseline_root is not None:
                    methods = ("engine", "engine_base", *methods[1:])
                if args.methods:
                    methods = tuple(m for m in methods if m in args.methods.split(","))
                runs: dict[str, list[tuple[float, float, float]]] = {m: [] for m in methods}
                for round_ in range(args.loopback_repeat if profile == "loopback" else args.repeat):
                    order = methods[round_ % len(methods) :] + methods[: round_ % len(methods)]
                    for method in order:  # rotate, so no method always runs first
                        out = out_dir / "product.zip"
                        runs[method].append(measure(method, url, out, args.connections, served, args.baseline_root))
                        size = out.stat().st_size
                        digests.add(sha256_of(out))
                results[profile] = {}
                for method, measured in runs.items():
                    wall = statistics.median(w for w, _, _ in measured)
                    transfer = statistics.median(t for _, t, _ in measured)
                    results[profile][method] = {
                        "wall_seconds": wall,
                        "transfer_seconds": transfer,
                        "mb_per_s": size / transfer / 1e6,
                        "mb_per_s_wall": size / wall / 1e6,
                        "peak_rss_mb": max(rss for _, _, rss in measured),
                    }
            sandbox.clear_faults()
    if len(digests) != 1:
        raise RuntimeError("the three methods did not produce identical files")
    report: dict[str, Any] = {"size_mb": size / 1e6, "connections": args.connections, "results": results}
    # ratio = baseline seconds / engine seconds, on each basis
    for basis, key in (("transfer", "transfer_seconds"), ("wall", "wall_seconds")):
        for profile, by_method in results.items():
            engine = by_method["engine"][key]
            for baseline in ("engine_base", "curl", "one_stream", "curl_durable", "curl_verified"):
                if baseline in by_method:
                    report[f"{profile}_vs_{baseline}_{basis}"] = by_method[baseline][key] / engine
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"product: {size / 1e6:.0f} MB, engine with {args.connections} connections, median of "
        f"{args.loopback_repeat} (loopback) and {args.repeat} (WAN) runs"
    )
    print("(MB/s from transfer time; curl_durable / curl_verified transfer = their process wall)")
    print(f"{'profile':<10}{'method':<15}{'wall s':>8}{'transfer s':>12}{'MB/s':>8}{'peak RSS MB':>13}")
    for profile, by_method in results.items():
        for method, r in by_method.items():
            print(
                f"{profile:<10}{method:<15}{r['wall_seconds']:>8.2f}{r['transfer_seconds']:>12.2f}"
                f"{r['mb_per_s']:>8.1f}{r['peak_rss_mb']:>13.0f}"
            )
    for basis in ("transfer", "wall"):
        for profile, by_method in results.items():
            ratios = ", ".join(
                f"{report[f'{profile}_vs_{baseline}_{basis}']:.2f}x {baseline}"
                for baseline in ("engine_base", "curl", "one_stream", "curl_durable", "curl_verified")
                if baseline in by_method
            )
            print(f"{profile} ({basis}): engine = {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
