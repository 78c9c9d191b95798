#!/usr/bin/env bash
# The demo: install what is missing, build, start Redis and the fixture shop on free local ports,
# enqueue products as batch jobs, run the worker until the queue is drained, print a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target fixture-shop worker rotorctl

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
  --daemonize no --loglevel warning >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$redis_port" ping >/dev/null || { echo "demo: redis did not start" >&2; exit 1; }

build/tools/fixture-shop/fixture-shop --port 0 --port-file "$work/shop.port" >"$work/shop.log" 2>&1 &
pids+=($!)
wait_for_file "$work/shop.port" 10 || { echo "demo: fixture shop did not start" >&2; exit 1; }
shop="http://127.0.0.1:$(cat "$work/shop.port")"
echo "demo: redis on 127.0.0.1:$redis_port, fixture shop at $shop"

# 60 products in batches of 20: normal ones, two 404s, a 410, a page whose price never shows,
# a redirect chain and a memory-heavy page. Every item ends done or recorded as failed.
items="$(seq -s, 1001 1054),404001,404002,410001,705001,704001,702001"
enqueued=$(build/src/app/rotorctl --redis-port "$redis_port" enqueue --platform demo-shop \
  --items "$items" --batch-size 20 2>/dev/null)
echo "demo: enqueued $enqueued"
group=$(echo "$enqueued" | sed -E 's/.*"group":"([^"]+)".*/\1/')

echo "demo: running the worker (config/platforms/demo-shop.yaml, 4 pages, drain mode)"
ROTOR_SHOP_URL="$shop" ROTOR_RESULTS_DIR="$work/results" build/src/app/worker \
  --platform demo-shop --redis-port "$redis_port" --heartbeat-port 0 --drain \
  2> >(grep -E "warn|error|job " >&2)

echo "demo: summary"
build/src/app/rotorctl --redis-port "$redis_port" group "$group"
build/src/app/rotorctl --redis-port "$redis_port" status --platform demo-shop
echo "demo: saved $(cat "$work"/results/*.jsonl | wc -l) JSON lines in $work/results:"
head -c 300 "$work"/results/*.jsonl; echo
echo "demo: shop saw $(curl -s "$shop/__stats" | sed -E 's/.*"requests_by_route":(\{[^}]*\}).*/\1/')"
