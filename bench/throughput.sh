#!/usr/bin/env bash
# bench/throughput: rotor's worker through Redis (queue, executor, pool, JSONL sink) scraping N
# fixture product pages at concurrency C, next to Crawlee's PlaywrightCrawler and a plain
# playwright-core script (page rotation 10, context rotation 50), Debian's Chromium for all,
# the same extraction, alternating in one invocation: each at its defaults, then all blocking
# images, fonts, media and stylesheets. Prints items/s, CPU s per item, peak PSS of each whole
# process tree, the driver's own PSS and wrong/missing values per run, then medians with
# rotor's ratios. Not part of CI.
#   bench/throughput.sh [--items 1000] [--concurrency 4] [--rounds 1] [--modes defaults,blocking]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ensure_build worker rotorctl fixture-shop
ensure_peers
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/throughput.py --work "$work" --worker build/src/app/worker \
  --rotorctl build/src/app/rotorctl --shop build/tools/fixture-shop/fixture-shop \
  --config-dir config/platforms "$@"
