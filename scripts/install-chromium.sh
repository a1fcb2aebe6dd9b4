#!/usr/bin/env bash
# Installs Debian's Chromium, the browser the dashboard's tests drive over the DevTools
# protocol (chromedp), headless and as root with --no-sandbox. Debian updates its
# security release in place, so the version is the one Debian ships (the package name is
# the pin); the tests need any Chromium recent enough for chromedp. Idempotent: does
# nothing when a chromium binary is already installed.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
	echo "chromium: already installed ($(command -v chromium || command -v chromium-browser))"
	exit 0
fi

echo "chromium: installing Debian's package"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo=sudo
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "chromium: $(chromium --version 2>/dev/null || echo installed)"
