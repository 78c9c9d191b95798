#!/usr/bin/env bash
# bench/flag_ablation: what each group of rotor's Chromium flags does to CPU, memory and speed per
# item. Runs bench/pool_soak once per variant (the lean set with one group taken out, or one
# candidate added) on the same fixture shop: N items (default 200, every 20th memory-heavy) at
# concurrency 4, alternating variants within each round. One command; JSON lines on stdout
# ({"bench":"flag_ablation","impl":"rotor","variant":...}). Options: --items N --rounds R.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ensure_build pool_soak fixture-shop
items=200
rounds=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --items) items=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
build/tools/fixture-shop/fixture-shop --port 0 --port-file "$work/port" >"$work/shop.log" 2>&1 &
shop_pid=$!
trap 'kill $shop_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do [[ -s "$work/port" ]] && break; sleep 0.1; done
shop="http://127.0.0.1:$(cat "$work/port")"

drop() { local out=(); for f in "$@"; do out+=(--drop-flag "$f"); done; echo "${out[@]}"; }
declare -A variants=(
  [lean-set]=""
  [without-throttling-flags]="$(drop --disable-background-timer-throttling \
    --disable-backgrounding-occluded-windows --disable-renderer-backgrounding)"
  [without-extension-flags]="$(drop --disable-extensions --disable-default-apps \
    --disable-component-extensions-with-background-pages)"
  [without-service-flags]="$(drop --disable-client-side-phishing-detection \
    --disable-domain-reliability --no-pings --metrics-recording-only Translate OptimizationHints \
    MediaRouter AutofillServerCommunication InterestFeedContentSuggestions DialMediaRouteProvider \
    CalculateNativeWinOcclusion)"
  [without-hang-ipc-flags]="$(drop --disable-hang-monitor --disable-ipc-flooding-protection)"
  [without-crash-flags]="$(drop --disable-crash-reporter --disable-breakpad)"
  [with-site-isolation]="$(drop IsolateOrigins site-per-process --disable-site-isolation-trials)"
  [with-browsing-instance-swap]="$(drop ProactivelySwapBrowsingInstance)"
  [with-render-document]="$(drop RenderDocument)"
  [with-bfcache]="$(drop BackForwardCache)"
  [without-renderer-limit]="$(drop --renderer-process-limit)"
  [renderer-limit-4]="--renderer-limit 4"
  [renderer-limit-2]="--renderer-limit 2"
  [plus-low-end-device-mode]="--add-flag --enable-low-end-device-mode"
  [plus-process-per-site]="--add-flag --process-per-site"
)
order=(lean-set without-throttling-flags without-extension-flags without-service-flags
  without-hang-ipc-flags without-crash-flags with-site-isolation with-browsing-instance-swap
  with-render-document with-bfcache without-renderer-limit renderer-limit-4 renderer-limit-2
  plus-low-end-device-mode plus-process-per-site)
for round in $(seq "$rounds"); do
  for v in "${order[@]}"; do
    # shellcheck disable=SC2086 # the variant's options are words
    build/bench/pool_soak --shop "$shop" --impl rotor --items "$items" --rounds 1 \
      --bench-name flag_ablation --variant "$v" ${variants[$v]} |
      sed "s/\"round\":\"1\"/\"round\":\"$round\"/"
  done
done
