# Shared set-up for scripts/demo.sh and scripts/test.sh (sourced, not run).
# Installs Debian packages when missing (as root, or with sudo), then the project into .venv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY_SYSTEM=/usr/bin/python3

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_install PKG...: install the Debian packages that are not installed yet.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> apt-get install ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# venv_install EXTRAS: create .venv from Debian's Python and install the project with these extras.
venv_install() {
  local extras="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV"
    "$PY_SYSTEM" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
  fi
  echo "==> pip install -e .[$extras]"
  "$VENV/bin/python" -m pip install -q -e "$ROOT[$extras]"
}
