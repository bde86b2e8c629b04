#!/usr/bin/env bash
# Builds everything and runs every test (unit, integration, security). Needs root: the jail
# tests create user namespaces, cgroups and mounts for real.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/build.sh
ctest --test-dir build --output-on-failure --timeout 300 -j2
