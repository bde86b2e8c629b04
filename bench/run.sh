#!/usr/bin/env bash
# Builds the benchmarks in ./build (configured by packaging/build.sh) and runs them, printing
# each figure beside its no-sandbox baseline measured in the same run. Needs root, as the jail
# does. Nothing is asserted: the targets are printed as met or not.
# Usage: bench/run.sh [spawn|execute|memory|templates|unpack|http|backends|kubernetes ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "bench/run.sh: run as root (the jail creates user namespaces, cgroups and mounts)" >&2
  exit 1
fi
if [ ! -f build/build.ninja ]; then
  echo "bench/run.sh: no build/ yet; run packaging/build.sh first" >&2
  exit 1
fi

benches=("$@")
[ ${#benches[@]} -eq 0 ] && benches=(spawn execute memory templates unpack http backends kubernetes)
targets=()
for b in "${benches[@]}"; do targets+=("${b}_bench"); done

# The HTTP benchmark's baseline is a Flask server (the original design); a bench-only package.
if [[ " ${benches[*]} " == *" http "* ]] && ! dpkg-query -W python3-flask >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-flask >/dev/null
fi

# A build dir configured before bench/ had targets needs a re-run of cmake to see them.
cmake build >/dev/null
cmake --build build --target "${targets[@]}"

echo "== $(uname -r), $(nproc) cpus, $(/usr/bin/python3 --version), $(date -u +%FT%TZ)"
status=0
for t in "${targets[@]}"; do
  echo
  build/bench/"$t" || { status=$?; echo "$t failed (exit $status)"; }
done
exit "$status"
