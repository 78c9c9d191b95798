# shellcheck shell=bash
# Shared helpers for scripts/*.sh (sourced, not run).

# A free TCP port on 127.0.0.1 (bind to 0, read what the kernel gave, release it).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
    || shuf -i 20000-60000 -n 1
}

# Waits until a file exists and is non-empty, up to $2 seconds.
wait_for_file() {
  local file=$1 seconds=${2:-10}
  for _ in $(seq $((seconds * 10))); do
    [[ -s "$file" ]] && return 0
    sleep 0.1
  done
  return 1
}
