#!/usr/bin/env bash
# `bazel run --config=fuzz //fuzz:<harness>_run [-- libFuzzer flags]`:
# fuzzes one harness from its checked-in corpus, with the flags of
# fuzz/<harness>.options (as tools/fuzz_continuously.sh and OSS-Fuzz run it;
# flags given here come after them and win). New inputs go to
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
# The same reading of the .options file as tools/common.sh's fuzz_flags.
options=()
if [[ -f "${workspace}/fuzz/${harness}.options" ]]; then
  mapfile -t options < <(sed -n 's/^\([a-z_]*\) *= *\([^ ]*\) *$/-\1=\2/p' \
    "${workspace}/fuzz/${harness}.options")
fi
exec "${binary}" "${options[@]}" "${dict_flag[@]}" \
  -artifact_prefix="${crashes}/" "$@" "${out}" \
  "${workspace}/fuzz/corpus/${harness}"
