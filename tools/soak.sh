#!/usr/bin/env bash
# Soaks the allocators in thread and fork lifecycles: builds tools/soak.cc
# and the LD_PRELOAD drop-in optimised, then runs the soak for SECONDS on
# the drop-in (malloc under LD_PRELOAD) and again on RustyMalloc. Exits
# non-zero if either run fails.
#
# Usage: tools/soak.sh [SECONDS]   (default 10)
set -uo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
seconds=${1:-10}

targets=(//tools:soak //allocator:librusty_malloc.so)
if ! repo_bazel build -c opt "${targets[@]}"; then
  echo "soak: build failed" >&2
  exit 1
fi
bin=$(repo_bazel info -c opt bazel-bin) || exit 1
soak=${bin}/tools/soak
lib=${bin}/allocator/librusty_malloc.so

failures=0
run() {
  local name=$1
  shift
  echo "--- ${name}"
  "$@"
  local rc=$?
  if [[ ${rc} -ne 0 ]]; then
    echo "!!! soak on ${name} failed (exit ${rc})"
    failures=$((failures + 1))
  fi
}

run "the drop-in (LD_PRELOAD=librusty_malloc.so)" \
  env LD_PRELOAD="${lib}" "${soak}" --seconds "${seconds}" --heap=malloc
run "RustyMalloc<MmapGrower, SegregatedFreeList>" \
  "${soak}" --seconds "${seconds}" --heap=rusty
[[ ${failures} -eq 0 ]]
