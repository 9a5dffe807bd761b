#!/usr/bin/env bash
# Quickstart 1: set up and run the demo on the local sandbox (fresh Debian 12; no account, no network
# beyond package registries).
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
apt_install python3-venv python3-pip
venv_install "all"
cd "$ROOT"
exec "$VENV/bin/pixxel-geo" demo "$@"
