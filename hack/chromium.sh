#!/usr/bin/env bash
# Installs Debian's chromium (headless browser for the UI's e2e test) when it is not on PATH.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
	echo "chromium.sh: $(command -v chromium) is installed"
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "chromium.sh: chromium is not on PATH and apt-get is missing: install the chromium package by hand" >&2
	exit 1
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
	sudo=(sudo)
fi
echo "chromium.sh: installing Debian's chromium package (apt-get install -y --no-install-recommends chromium)"
"${sudo[@]}" apt-get update
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends chromium
echo "chromium.sh: $(command -v chromium) installed"
