#!/usr/bin/env bash
# Run the QGIS plugin tests inside real QGIS (Debian's QGIS 3.22 Python), headless.
#
#   scripts/test-qgis.sh [pytest args...]
#
# - creates/updates the test venv .venv-qgis (from /usr/bin/python3 with --system-site-packages, so it
#   sees QGIS's bindings; only pure-Python test tools are installed there, never numpy/rasterio wheels);
# - builds the plugin zip into dist/ (vendoring the core client from the main venv);
# - runs qgis_plugin/tests with QT_QPA_PLATFORM=offscreen against a sandbox server that the tests start
#   with $PIXXEL_SANDBOX_PYTHON (default: .venv/bin/python, which has the sandbox's dependencies).
# Environment: QGIS_PYTHON (default /usr/bin/python3), QGIS_VENV (default .venv-qgis), CI=true (no skips).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
qgis_python="${QGIS_PYTHON:-/usr/bin/python3}"
venv="${QGIS_VENV:-$repo/.venv-qgis}"
export PIXXEL_SANDBOX_PYTHON="${PIXXEL_SANDBOX_PYTHON:-$repo/.venv/bin/python}"

if ! "$qgis_python" -c "import qgis.core" 2>/dev/null; then
    echo "error: $qgis_python cannot import qgis.core: install QGIS (apt-get install qgis python3-qgis)." >&2
    exit 1
fi
if [ ! -x "$PIXXEL_SANDBOX_PYTHON" ]; then
    echo "error: no sandbox interpreter at $PIXXEL_SANDBOX_PYTHON: create the main venv or set PIXXEL_SANDBOX_PYTHON." >&2
    exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
    "$qgis_python" -m venv --system-site-packages "$venv"
fi
stamp="$venv/.requirements-test.txt"
if ! cmp -s qgis_plugin/requirements-test.txt "$stamp"; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r qgis_plugin/requirements-test.txt
    cp qgis_plugin/requirements-test.txt "$stamp"
fi

zip_path="$("$PIXXEL_SANDBOX_PYTHON" qgis_plugin/build.py --out "$repo/dist")"
echo "built $zip_path"
export PIXXEL_PLUGIN_ZIP="$zip_path"

# A throw-away QGIS profile (pytest-qgis keeps it in qgis_plugin/.qgis-settings): start fresh.
rm -rf qgis_plugin/.qgis-settings
mkdir -p test-output/qgis
export QT_QPA_PLATFORM=offscreen
cd qgis_plugin
exec "$venv/bin/python" -m pytest -c pytest.ini "$@"
