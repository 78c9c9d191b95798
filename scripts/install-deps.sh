#!/usr/bin/env bash
# Installs the Debian packages rotor builds, tests and demos with. Idempotent: when everything is
# present it touches nothing; apt-get runs only for what is missing.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config git curl
  libboost-dev libboost-system-dev nlohmann-json3-dev libcurl4-openssl-dev libspdlog-dev
  libhiredis-dev libyaml-cpp-dev libcli11-dev libgtest-dev libgmock-dev libpqxx-dev
  chromium redis-server postgresql postgresql-client python3-prometheus-client clang-format
  python3-yaml prometheus yamllint shellcheck
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
