#!/usr/bin/env bash
# bench/api_throughput: the demo-api platform through the real path (Redis queue, item executor,
# libcurl multi, JSONL sink) against the fixture shop's JSON route at 1, 16 and 128 requests in
# flight, next to Crawlee's HttpCrawler (npm) fetching and parsing the same JSON, alternating in
# one invocation. Prints items/s and CPU ms per item of each run, then medians with rotor's
# ratios to Crawlee (worker CPU alone, and with the Redis server's CPU added).
#   bench/api_throughput.sh [--items 2000] [--rounds 2] [--levels 1,16,128]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ensure_build worker rotorctl fixture-shop
ensure_peers
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/api_throughput.py --work "$work" --worker build/src/app/worker \
  --rotorctl build/src/app/rotorctl --shop build/tools/fixture-shop/fixture-shop \
  --config-dir config/platforms "$@"
