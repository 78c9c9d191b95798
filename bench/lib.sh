# shellcheck shell=bash
# Shared by bench/*.sh (sourced).

# npm peers (playwright-core, bullmq, crawlee) into bench/node_modules, once. Never part of the build/CI.
ensure_peers() {
  if [[ ! -d bench/node_modules/playwright-core || ! -d bench/node_modules/bullmq ||
        ! -d bench/node_modules/crawlee ]]; then
    echo "bench: installing npm peers into bench/node_modules" >&2
    npm install --prefix bench --no-audit --no-fund --loglevel=error >&2
  fi
}

# Release build of the named benchmark targets.
ensure_build() {
  scripts/install-deps.sh
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" --target "$@" >&2
}
