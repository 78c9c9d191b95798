#!/usr/bin/env bash
# bench/queue_ops: claim+complete jobs/s (1 and 8 clients) vs BullMQ add+process, on one local
# redis-server started here on a free port. One command; JSON lines on stdout.
# --placement split (default): Redis on core 0, the clients (rotor's threads, BullMQ's node) on
#   the others, for both impls alike: Redis's own core is what a deployment gives it, and on a
#   shared 2-core box it keeps the client threads from preempting the one thread both queues need.
# --placement shared: Redis and the clients on one core (core 1); for --clients 1 (eight clients
#   would crowd Redis off its core). One client and Redis take turns anyway, so this measures the
#   same work without a cross-core wake-up per round trip (on a VM, an interrupt to a halted
#   virtual CPU): what one client's figure is made of besides that wake-up.
# --placement none: no pinning; the scheduler decides.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
source scripts/lib.sh
placement="split"
args=()
while (( $# )); do
  case $1 in
    --placement) placement=${2:?--placement needs split, shared or none}; shift 2 ;;
    --placement=*) placement=${1#--placement=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
case $placement in split | shared | none) ;; *)
  echo "queue_ops: --placement is split, shared or none, not '$placement'" >&2; exit 2 ;;
esac
if [[ $placement == shared ]]; then
  if [[ " ${args[*]} " != *" --clients "* ]]; then
    args+=(--clients 1) # not the default 1 and 8: eight clients would crowd Redis off its core
  else
    echo "queue_ops: --placement shared is meant for --clients 1 (more crowd Redis's core)" >&2
  fi
fi
ensure_peers
ensure_build queue_ops
work=$(mktemp -d)
port=$(free_port)
redis_cpus=() client_cpus=()
if [[ $placement != none ]]; then
  if (( $(nproc) < 2 )) || ! command -v taskset >/dev/null; then
    echo "queue_ops: --placement $placement needs 2 cores and taskset; running unpinned" >&2
    placement=none
  elif [[ $placement == split ]]; then
    redis_cpus=(taskset -c 0) client_cpus=(taskset -c "1-$(( $(nproc) - 1 ))")
  else
    redis_cpus=(taskset -c 1) client_cpus=(taskset -c 1)
  fi
fi
"${redis_cpus[@]}" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work" --daemonize no --loglevel warning >"$work/redis.log" 2>&1 &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
"${client_cpus[@]}" build/bench/queue_ops --redis-port "$port" --placement "$placement" \
  --bullmq-script bench/peers/queue_ops_bullmq.mjs "${args[@]}"
