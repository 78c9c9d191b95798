#!/usr/bin/env bash
# bench/cdp_roundtrip: rotor vs raw floor vs Playwright on the same Chromium. One command:
# installs the npm peer into bench/node_modules if missing, builds, runs. JSON lines on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ensure_peers
ensure_build cdp_roundtrip
build/bench/cdp_roundtrip --playwright-script bench/peers/cdp_roundtrip_playwright.mjs "$@"
