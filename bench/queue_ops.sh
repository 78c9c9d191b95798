#!/usr/bin/env bash
# bench/queue_ops: claim+complete jobs/s (1 and 8 clients) vs BullMQ add+process, on one local
# redis-server started here on a free port. One command; JSON lines on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
source scripts/lib.sh
ensure_peers
ensure_build queue_ops
work=$(mktemp -d)
port=$(free_port)
# On a machine with 2+ cores Redis gets core 0 and the clients (rotor's threads, BullMQ's node)
# the others, for both impls alike: Redis's own core is what a deployment gives it, and on a
# shared 2-core box it keeps the client threads from preempting the one thread both queues need.
redis_cpus="" client_cpus=""
if (( $(nproc) >= 2 )) && command -v taskset >/dev/null; then
  redis_cpus="taskset -c 0" client_cpus="taskset -c 1-$(( $(nproc) - 1 ))"
fi
$redis_cpus redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
  --daemonize no --loglevel warning >"$work/redis.log" 2>&1 &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
$client_cpus build/bench/queue_ops --redis-port "$port" --bullmq-script bench/peers/queue_ops_bullmq.mjs "$@"
