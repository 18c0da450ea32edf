#!/usr/bin/env bash
# Runs .clusterfuzzlite/build.sh (which runs fuzz/build.sh) the way
# ClusterFuzzLite and OSS-Fuzz do: copied to a separate $SRC/build.sh, run
# from the checkout, with base-builder's CC, CXX, CFLAGS, CXXFLAGS,
# LIB_FUZZING_ENGINE, SANITIZER and OUT, once per sanitizer in
# .clusterfuzzlite/project.yaml; then runs each fuzzer it produced over its
# seed corpus zip, unpacked. First checks that project.yaml, the Dockerfile
# and the .github/workflows/cflite_*.yml files agree (tools/check_cflite_config.py).
#
# Not reproduced: base-builder's clang (newer than Debian's 14) and its
# -stdlib=libc++, for which Debian's libc++ headers are not installed.
set -euo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ensure_deps

# base-builder's flags (infra/base-images/base-builder in OSS-Fuzz): its
# CFLAGS are these common ones, SANITIZER_FLAGS_<sanitizer> and
# COVERAGE_FLAGS.
common="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
coverage="-fsanitize=fuzzer-no-link"
declare -A sanitizer_flags=(
  [address]="-fsanitize=address -fsanitize-address-use-after-scope"
  [undefined]="-fsanitize=array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unsigned-integer-overflow,unreachable,vla-bound,vptr -fno-sanitize-recover=array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unreachable,vla-bound,vptr"
)
# base-builder's too: unsigned overflow is a coverage signal, not a bug.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-silence_unsigned_overflow=1}"

# The sanitizers project.yaml lists, which the workflows fuzz with.
mapfile -t sanitizers < <(python3 -c '
import sys, yaml
print("\n".join(yaml.safe_load(open(sys.argv[1]))["sanitizers"]))
' .clusterfuzzlite/project.yaml)
python3 tools/check_cflite_config.py "${sanitizers[@]}"

work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
# Where base-builder keeps build.sh: outside the checkout.
mkdir -p "${work}/src"
cp .clusterfuzzlite/build.sh "${work}/src/build.sh"

status=0
for sanitizer in "${sanitizers[@]}"; do
  if [[ -z ${sanitizer_flags[${sanitizer}]:-} ]]; then
    echo "${sanitizer}: no flags known for it in $0"
    status=1
    continue
  fi
  out="${work}/out-${sanitizer}"
  mkdir -p "${out}"
  flags="${common} ${sanitizer_flags[${sanitizer}]} ${coverage}"
  if ! CC=clang CXX=clang++ CFLAGS="${flags}" CXXFLAGS="${flags}" \
    LIB_FUZZING_ENGINE=-fsanitize=fuzzer SANITIZER="${sanitizer}" \
    OUT="${out}" SRC="${work}/src" \
    bash -eu "${work}/src/build.sh" >"${out}/build.log" 2>&1; then
    echo "${sanitizer}: build.sh FAILED"
    tail -n 30 "${out}/build.log"
    status=1
    continue
  fi
  for fuzzer in "${out}"/*_fuzzer; do
    name=$(basename "${fuzzer}")
    seeds="${out}/${name}_seeds"
    mkdir -p "${seeds}"
    python3 -m zipfile -e "${out}/${name}_seed_corpus.zip" "${seeds}"
    if "${fuzzer}" -runs=200 -rss_limit_mb=4096 "${seeds}" >"${out}/${name}.log" 2>&1; then
      echo "${sanitizer}: ${name}: ran $(find "${seeds}" -type f | wc -l) seeds + 200 runs"
    else
      echo "${sanitizer}: ${name}: FAILED"
      tail -n 20 "${out}/${name}.log"
      status=1
    fi
  done
done
exit "${status}"
