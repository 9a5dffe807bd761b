#!/usr/bin/env bash
# Quickstart 2: set up and run the whole test suite (fresh Debian 12): lint, types, tests,
# the QGIS plugin inside real QGIS, and the JupyterLab panel in real Chromium.
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
apt_install python3-venv python3-pip curl git qgis python3-qgis gdal-bin xvfb chromium fonts-dejavu-core
command -v npm >/dev/null || apt_install nodejs npm
venv_install "all,test,docs"
cd "$ROOT"
echo "==> npm ci (Azurite, the Azure Blob emulator)"
npm ci --silent --no-audit --no-fund

echo "==> ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "==> mypy"
"$VENV/bin/mypy"
echo "==> pytest"
# The JupyterLab-in-Chromium tests run in a pytest of their own: Playwright's sync API keeps an
# asyncio loop marked running on the main thread for the rest of its session, which other tests
# (asyncio.run, pytest-asyncio) must not meet.
"$VENV/bin/python" -m pytest tests --ignore=tests/widgets/browser "$@"
echo "==> pytest: the panel in JupyterLab, in Chromium"
"$VENV/bin/python" -m pytest tests/widgets/browser "$@"
echo "==> notebooks (nbmake)"
"$VENV/bin/python" -m pytest --nbmake notebooks

# --- documentation site (issue 17) ---------------------------------------------------------
# Guides, API reference and the notebooks (executed on a sandbox of their own: no PIXXEL_API_KEY).
# Strict: a broken link, a missing reference, a failing notebook or anything fetched from the
# internet fails. The guides' code blocks run in pytest above (tests/docs).
echo "==> documentation site (mkdocs build --strict)"
env -u PIXXEL_API_KEY -u PIXXEL_API_URL NO_MKDOCS_2_WARNING=1 "$VENV/bin/mkdocs" build --strict --site-dir "$ROOT/test-output/site"
# --- end of documentation site ---------------------------------------------------------------

echo "==> QGIS plugin tests (inside real QGIS)"
bash scripts/test-qgis.sh
