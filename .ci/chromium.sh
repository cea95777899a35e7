#!/usr/bin/env bash
# Install Debian's headless Chromium and its chromedriver for the dashboard tests
# (crates/tern/tests/dashboard.rs), unless both are already on PATH. Needs root (CI is).
# Tries the install from the current package lists first; if that fails (stale lists on a
# fresh image), runs `apt-get update` once and tries again.
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    echo "== chromium and chromedriver already installed"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "== installing chromium and chromium-driver"
if ! apt-get install -y -qq chromium chromium-driver; then
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver
fi
chromium --version 2>/dev/null || true
chromedriver --version
