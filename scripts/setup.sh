#!/usr/bin/env bash
# Installs the Debian packages sf-actors needs (only the missing ones), then builds it.
# Usage: scripts/setup.sh [build-dir] [extra cmake args...]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
shift || true

# zsh and groff-base only for the tests: they drive the generated zsh completion in a real zsh
# and check the generated man page with groff.
packages=(g++ cmake make git pkg-config libcaf-dev libyaml-cpp-dev nlohmann-json3-dev
          libgit2-dev libspdlog-dev libfmt-dev catch2 libcli11-dev zsh groff-base)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE="${SF_BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"
