#!/usr/bin/env bash
# The demo: install what is missing, build, start Redis and the fixture shop on free local ports
# in a temp dir, enqueue 500 products of the demo-shop platform in batches of 50, run two workers
# side by side until the queue is empty, then print `rotorctl status` and a summary (saved,
# gone, failed by reason, items/s, peak memory) and where the results are. Everything it started
# is stopped on the way out, Ctrl-C included; the results stay (DEMO_OUT, default ./demo-out).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target fixture-shop worker rotorctl

out=${DEMO_OUT:-$PWD/demo-out}
rm -rf "$out"
mkdir -p "$out/results"
work=$(mktemp -d)
pids=()
cleanup() {
  # Workers first (SIGTERM: they give their job back), then the shop and Redis.
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "demo: interrupted" >&2; exit 130' INT TERM

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
rotorctl=(build/src/app/rotorctl --redis-port "$redis_port")

# 500 products in batches of 50: 490 ordinary ones and ten hard cases (two 404s and a 410, a
# page whose price never shows, a redirect chain, a memory-heavy page and two slow ones). Every item ends
# saved or recorded as failed with its reason.
items="$(seq -s, 1001 1490),404001,404002,410001,705001,704001,702001,700001,700002,1491,1492"
enqueued=$("${rotorctl[@]}" --json enqueue --platform demo-shop --items "$items" --batch-size 50)
group=$(echo "$enqueued" | python3 -c 'import json,sys; print(json.load(sys.stdin)["group"])')
echo "demo: enqueued 500 products as group $group (10 jobs of 50)"

echo "demo: two workers (config/platforms/demo-shop.yaml, 4 pages each), until the queue is empty"
start=$(date +%s.%N)
worker_pids=()
for n in 1 2; do
  ROTOR_SHOP_URL="$shop" ROTOR_RESULTS_DIR="$out/results" build/src/app/worker \
    --platform demo-shop --redis-port "$redis_port" --worker-id "demo-worker-$n" \
    --heartbeat-port 0 --drain >"$work/worker-$n.json" 2>"$out/worker-$n.log" &
  pids+=($!)
  worker_pids+=($!)
done
"${rotorctl[@]}" status --platform demo-shop --group "$group" || true
rc=0
for p in "${worker_pids[@]}"; do wait "$p" || rc=$?; done
seconds=$(python3 -c "import time; print(round(time.time() - $start, 1))")
[[ $rc -eq 0 ]] || echo "demo: a worker exited $rc (its log is in $out)" >&2

echo
echo "demo: rotorctl status"
"${rotorctl[@]}" status --platform demo-shop --group "$group"
"${rotorctl[@]}" --json group "$group" >"$work/group.json"
"${rotorctl[@]}" --json failures --group "$group" >"$out/failures.jsonl"
echo
python3 - "$work/group.json" "$out/failures.jsonl" "$seconds" "$work"/worker-*.json <<'PY'
import collections, json, sys
group = json.load(open(sys.argv[1]))
failures = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
seconds = float(sys.argv[3])
workers = [json.loads(open(f).read().strip().splitlines()[-1]) for f in sys.argv[4:]]
ended = group["items_ok"] + group["items_gone"] + group["items_cached"] + group["items_failed"]
print(f"demo: {ended} of 500 items ended in {seconds} s ({ended / seconds:.1f} items/s, 2 workers)")
print(f"  saved {group['items_ok']}, gone {group['items_gone']} (404/410), "
      f"failed {group['items_failed']}")
reasons = collections.Counter(f["error"] for f in failures)
for reason, n in reasons.most_common():
    print(f"    {n} x {reason}")
for w in workers:
    print(f"  {w['worker']}: {w['jobs_completed']} jobs, {w['items_ok'] + w['items_gone']} items "
          f"saved, peak Chromium PSS {w.get('chromium_peak_pss_mb', '?')} MB, "
          f"worker RSS {w.get('worker_peak_rss_mb', '?')} MB, "
          f"{w.get('page_rotations', 0)} page / {w.get('context_rotations', 0)} context rotations")
PY
echo "demo: results in $out/results ($(cat "$out"/results/*.jsonl | wc -l) JSON lines), failures in" \
  "$out/failures.jsonl, worker logs in $out"
head -n 2 "$out"/results/*.jsonl | cut -c 1-200
