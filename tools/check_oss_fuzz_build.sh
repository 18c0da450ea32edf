#!/usr/bin/env bash
# Runs fuzz/build.sh the way OSS-Fuzz and ClusterFuzzLite would (CC, CXX,
# CFLAGS, CXXFLAGS, LIB_FUZZING_ENGINE and OUT set, libFuzzer with ASan),
# then runs each fuzzer it produced over its seed corpus zip, unpacked.
set -euo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bash tools/install_deps.sh
out=$(mktemp -d)
trap 'rm -rf "${out}"' EXIT

sanitize="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address,fuzzer-no-link"
CC=clang CXX=clang++ CFLAGS="${sanitize}" CXXFLAGS="${sanitize}" \
  LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT="${out}" \
  bash fuzz/build.sh >"${out}/build.log" 2>&1 || { tail -n 30 "${out}/build.log"; exit 1; }

status=0
for fuzzer in "${out}"/*_fuzzer; do
  name=$(basename "${fuzzer}")
  seeds="${out}/${name}_seeds"
  mkdir -p "${seeds}"
  python3 -m zipfile -e "${out}/${name}_seed_corpus.zip" "${seeds}"
  if "${fuzzer}" -runs=200 -rss_limit_mb=4096 "${seeds}" >"${out}/${name}.log" 2>&1; then
    echo "${name}: ran $(find "${seeds}" -type f | wc -l) seeds + 200 runs"
  else
    echo "${name}: FAILED"
    tail -n 20 "${out}/${name}.log"
    status=1
  fi
done
exit "${status}"
