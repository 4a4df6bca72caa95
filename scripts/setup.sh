#!/usr/bin/env bash
# Installs what lookalike needs on Debian 12 with Node 20, and skips what is already there:
# Debian packages (faiss, BLAS, build tools, chromium for the page tests), npm packages, the native builds.
# `npm start` and `npm test` run it first, so a fresh clone needs nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

# mesa-vulkan-drivers + libvulkan1: Vulkan on the CPU (lavapipe), how the tests exercise the GPU path without a GPU;
# redis-server: the job queue's tests start their own (the service runs without Redis unless LOOKALIKE_REDIS_URL is set)
# dataset-fashion-mnist: the demo gallery's pictures and the quality-floor test's queries (the demo models were trained on it)
# gnome-backgrounds: the pictures npm run bench:duplicates makes its near duplicates from (light/dark pairs are its hard negatives)
# python3-numpy: the export test reads an export back with numpy, as a user's notebook would
APT_PACKAGES=(libfaiss-dev libopenblas-dev patchelf cmake g++ make python3 python3-numpy git chromium mesa-vulkan-drivers libvulkan1 redis-server dataset-fashion-mnist gnome-backgrounds)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "[setup] installing Debian packages: ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "[setup] run as root, or: apt-get install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci when node_modules is missing or older than the lock file; it runs the native builds (postinstall).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[setup] installing npm packages (first time: a few minutes, native code is compiled)" >&2
  npm ci --no-audit --no-fund
else
  node scripts/build-native.mjs --quiet   # no-op when up to date
fi
