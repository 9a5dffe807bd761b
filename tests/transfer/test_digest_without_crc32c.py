"""The transfer engine without google-crc32c (as the QGIS plugin ships it): MD5 from x-goog-hash."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_goog_hash_falls_back_to_md5_when_crc32c_is_not_installed() -> None:
    script = (
        "import sys; sys.modules['google_crc32c'] = None\n"  # makes 'import google_crc32c' fail
        "from pixxel_geo.ranged import digest\n"
        "both = 'crc32c=n03x6A==, md5=rL0Y20zC+Fzt72VPzMSk2A=='\n"
        "print(digest.parse_goog_hash(both).algorithm, digest.parse_goog_hash('crc32c=n03x6A==') is None)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["md5", "True"]
