#!/usr/bin/env bash
# Fuzzes the Templates validator and the archive reader with libFuzzer (clang), each for
# SECONDS (default 180), growing fuzz/corpus/<target>/ in a scratch copy.
# Usage: fuzz/run.sh [templates|archive ...]   (as root the first time: installs clang-14)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${SECONDS_PER_TARGET:-180}
if ! command -v clang++-14 >/dev/null || ! dpkg-query -W libclang-rt-14-dev >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-14 libclang-rt-14-dev >/dev/null
fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(templates archive)
out=$(mktemp -d)
common=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -I. -Ibuild
        common/result.cpp common/json_util.cpp common/unique_fd.cpp)
for t in "${targets[@]}"; do
  case $t in
    templates) srcs=(policies/templates.cpp); libs=(-lpcre2-8) ;;
    archive) srcs=(policies/archive_extractor.cpp); libs=(-larchive) ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
  clang++-14 "${common[@]}" "${srcs[@]}" "fuzz/${t}_fuzz.cpp" "${libs[@]}" -o "$out/$t"
  mkdir -p "$out/corpus-$t" && cp -r "fuzz/corpus/$t/." "$out/corpus-$t/"
  echo "== fuzzing $t for ${seconds}s"
  "$out/$t" -max_total_time="$seconds" -print_final_stats=1 "$out/corpus-$t" 2>&1 | tail -15
done
