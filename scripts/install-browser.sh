#!/usr/bin/env bash
# Install Debian's Chromium and its driver for the headless UI tests.
# Idempotent: does nothing when /usr/bin/chromium already exists. Never downloads a browser build
# of its own (Playwright's bundled browsers are not reachable here); only Debian packages.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "install-browser: /usr/bin/chromium already present, skipping"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-dejavu-core
echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium installed')"
