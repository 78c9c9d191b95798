#!/usr/bin/env bash
# bench/item_roundtrips: Redis round trips a running job costs per item, measured, not counted
# from the code. Runs the worker over N fixture-shop products (one local redis-server and the
# fixture shop on free ports), records every command it sends with MONITOR (commands run inside
# scripts are left out: they are not round trips), and prints one JSON line per build given:
#   bench/item_roundtrips.sh [--items N] [--bin DIR[=LABEL] ...]
# DIR holds worker, rotorctl and fixture-shop (default: this checkout's build, label rotor); an
# older build (e.g. a worktree of 569eada) gives the "before" figure in the same invocation.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
source scripts/lib.sh
items=200
bins=()
while (( $# )); do
  case $1 in
    --items) items=$2; shift 2 ;;
    --bin) bins+=("$2"); shift 2 ;;
    *) echo "usage: $0 [--items N] [--bin DIR[=LABEL]]..." >&2; exit 2 ;;
  esac
done
if (( ${#bins[@]} == 0 )); then
  ensure_build worker rotorctl fixture-shop
  bins=("build=rotor")
fi
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

find_bin() { # DIR NAME: the executable under DIR (a build tree or a flat directory)
  local f
  for f in "$1/$2" "$1/src/app/$2" "$1/tools/fixture-shop/$2"; do
    [[ -x $f ]] && { echo "$f"; return; }
  done
  echo "bench: no $2 under $1" >&2
  exit 1
}

for spec in "${bins[@]}"; do
  dir=${spec%%=*}
  label=${spec#*=}
  [[ $label == "$spec" ]] && label=$dir
  port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
    --daemonize no --loglevel warning >"$work/redis.log" 2>&1 &
  redis_pid=$!
  pids+=("$redis_pid")
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  rm -f "$work/shop.port"
  "$(find_bin "$dir" fixture-shop)" --port 0 --port-file "$work/shop.port" >"$work/shop.log" 2>&1 &
  shop_pid=$!
  pids+=("$shop_pid")
  wait_for_file "$work/shop.port" 10
  shop="http://127.0.0.1:$(cat "$work/shop.port")"
  # A build with platform configs (worker --config-dir) runs demo-shop; an older one "fixture"
  # with --base-url.
  worker=$(find_bin "$dir" worker)
  if "$worker" --help 2>&1 | grep -q -- --config-dir; then
    platform=demo-shop
    run_worker=(env ROTOR_SHOP_URL="$shop" ROTOR_RESULTS_DIR="$work/results" "$worker"
      --platform demo-shop --config-dir config/platforms --concurrency 4)
    # A build with a heartbeat endpoint: any free port (8080 may be taken).
    if "$worker" --help 2>&1 | grep -q -- --heartbeat-port; then
      run_worker+=(--heartbeat-port 0)
    fi
  else
    platform=fixture
    run_worker=("$worker" --platform fixture --base-url "$shop" --concurrency 4)
  fi
  "$(find_bin "$dir" rotorctl)" --redis-port "$port" enqueue --platform "$platform" \
    --range "1001-$((1000 + items))" --batch-size 50 >/dev/null 2>&1
  redis-cli -p "$port" monitor >"$work/monitor.log" &
  monitor_pid=$!
  sleep 0.3
  start=$(date +%s.%N)
  "${run_worker[@]}" --redis-port "$port" --drain >"$work/worker.log" 2>&1
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  sleep 0.3
  kill "$monitor_pid" 2>/dev/null || true
  wait "$monitor_pid" 2>/dev/null || true
  done_items=$(redis-cli -p "$port" --scan --pattern 'workflow:results:*' | while read -r k; do
    redis-cli -p "$port" hlen "$k"; done | awk '{s+=$1} END {print s+0}')
  # MONITOR lines: 1700000000.123456 [0 127.0.0.1:5555] "EVALSHA" "..." ...; script-inner
  # commands show as [0 lua]. The MONITOR connection's own command is not in its output.
  python3 - "$work/monitor.log" "$label" "$items" "$done_items" "$seconds" <<'PY'
import collections, json, re, sys
path, label, items, done, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
by = collections.Counter()
scripts = collections.Counter()
for line in open(path, errors='replace'):
    m = re.match(r'^\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"(?: "([^"]*)")?', line)
    if not m or m.group(1) == 'lua':
        continue
    cmd = m.group(2).upper()
    by[cmd] += 1
total = sum(by.values())
print(json.dumps({"bench": "item_roundtrips", "impl": label, "items": items, "items_done": done,
                  "round_trips": total, "round_trips_per_item": round(total / max(1, items), 2),
                  "by_command": dict(by.most_common()), "seconds": round(seconds, 1)}))
PY
  kill "$shop_pid" "$redis_pid" 2>/dev/null || true
  wait "$shop_pid" "$redis_pid" 2>/dev/null || true
done
