#!/usr/bin/env bash
# bench/worker_soak: the worker end to end (Redis queue, the platform's YAML workflow, the item
# executor, the pool, the JSON lines sink) over N fixture-shop products: items/s, peak PSS of the
# worker's whole process tree (worker + Chromium, sampled every 250 ms) and CPU seconds per 100
# items. `--bin DIR=LABEL` runs another build's worker, rotorctl and fixture-shop in the same
# invocation, alternating rounds (e.g. a worktree of 0bf6e50, whose worker ran batch_runner).
#   bench/worker_soak.sh [--items 400] [--rounds 2] [--bin DIR=LABEL]...
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
source scripts/lib.sh
items=400
rounds=2
bins=()
while (( $# )); do
  case $1 in
    --items) items=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --bin) bins+=("$2"); shift 2 ;;
    *) echo "usage: $0 [--items N] [--rounds R] [--bin DIR=LABEL]..." >&2; exit 2 ;;
  esac
done
ensure_build worker rotorctl fixture-shop
bins=("build=rotor" "${bins[@]}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/worker_soak.py --items "$items" --rounds "$rounds" --work "$work" "${bins[@]}"
