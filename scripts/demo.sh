#!/usr/bin/env bash
# The demo: install what is missing, build, start the fixture shop on a free local port, scrape
# products with real Chromium through rotor, print a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

build/tools/fixture-shop/fixture-shop --port 0 --port-file "$work/shop.port" >"$work/shop.log" 2>&1 &
pids+=($!)
wait_for_file "$work/shop.port" 10 || { echo "demo: fixture shop did not start" >&2; cat "$work/shop.log" >&2; exit 1; }
shop="http://127.0.0.1:$(cat "$work/shop.port")"
echo "demo: fixture shop at $shop"

build/src/app/rotor-scrape --shop "$shop" --products 1,2,3,404001,704001,705001,12345
echo "demo: shop stats: $(curl -s "$shop/__stats")"
