#!/usr/bin/env bash
# Installs the dependencies (packaging/deps.sh), configures and builds into ./build.
# Usage: packaging/build.sh [extra cmake args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build build -j"$(nproc)"
