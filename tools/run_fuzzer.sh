#!/usr/bin/env bash
# `bazel run --config=fuzz //fuzz:<harness>_run [-- libFuzzer flags]`:
# fuzzes one harness from its checked-in corpus. New inputs go to
# fuzz/out/<harness>/corpus (fold them in with tools/fuzz_continuously.sh);
# crashes go to fuzz/crashes/<harness>/, where the regression test replays
# them.
set -euo pipefail
binary=$(realpath "$1")
harness=$2
shift 2
dict_flag=()
if [[ $# -gt 0 && $1 != -* ]]; then
  dict_flag=(-dict="$(realpath "$1")")
  shift
fi
workspace=${BUILD_WORKSPACE_DIRECTORY:?run this through bazel run}
out="${workspace}/fuzz/out/${harness}/corpus"
crashes="${workspace}/fuzz/crashes/${harness}"
mkdir -p "${out}" "${crashes}"
exec "${binary}" "${dict_flag[@]}" -artifact_prefix="${crashes}/" \
  "$@" "${out}" "${workspace}/fuzz/corpus/${harness}"
