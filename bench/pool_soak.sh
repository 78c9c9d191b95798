#!/usr/bin/env bash
# bench/pool_soak: PSS of the whole tree over N items (default 3000, every 20th memory-heavy) at
# concurrency 4, rotor next to Playwright with rotation 10/50. One command; JSON lines on stdout.
# Extra arguments go to the benchmark (--items 600, --impl rotor --impl rotor-isolated, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ensure_peers
ensure_build pool_soak fixture-shop
work=$(mktemp -d)
build/tools/fixture-shop/fixture-shop --port 0 --port-file "$work/port" >"$work/shop.log" 2>&1 &
shop_pid=$!
trap 'kill $shop_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do [[ -s "$work/port" ]] && break; sleep 0.1; done
build/bench/pool_soak --shop "http://127.0.0.1:$(cat "$work/port")" \
  --playwright-script bench/peers/pool_soak_playwright.mjs "$@"
