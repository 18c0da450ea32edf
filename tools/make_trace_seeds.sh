#!/usr/bin/env bash
# Makes the trace- seeds of the model harnesses' corpora (issue 24): records
# allocation traces of real programs on the LD_PRELOAD drop-in
# (RUSTY_MALLOC_TRACE), then turns windows of each (different starts,
# thread counts and lengths) into inputs with tools/trace_to_fuzz, as
# fuzz/corpus/<fuzzer>/trace-<program>-<n> for per_thread_malloc_fuzzer,
# per_thread_lifecycle_fuzzer and malloc_fuzzer. The programs: CPython
# (tests/workloads/producer_consumer.py, threads handing blocks to each
# other, and alloc_heavy.py), sqlite3 on tests/workloads/sqlite_workload.sql,
# gcc (its cc1) compiling a C file of this repository, and git grep with
# four threads over this repository's HEAD. The traces are made afresh in a
# temporary directory and deleted; threads' timing differs from run to
# run, so regenerated seeds differ too. Replaces every trace- seed.
#
# Usage: tools/make_trace_seeds.sh [BAZEL_BUILD_FLAG...]
#   (e.g. --symlink_prefix=/ to leave the bazel-* links alone)
set -uo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

targets=(//allocator:librusty_malloc.so //tools/trace_to_fuzz)
if ! repo_bazel build "$@" "${targets[@]}"; then
  echo "make_trace_seeds: build failed" >&2
  exit 1
fi
bin=$(repo_bazel info "$@" bazel-bin 2>/dev/null) || exit 1
lib=${bin}/allocator/librusty_malloc.so
convert=${bin}/tools/trace_to_fuzz/trace_to_fuzz

traces=$(mktemp -d) || exit 1
trap 'rm -rf "${traces}"' EXIT

# record NAME COMMAND...: runs COMMAND (stdin from the caller) on the
# drop-in, each process recording to NAME.PID, and keeps the largest trace
# (the process that did the work: gcc's cc1, not its driver) as NAME.
record() {
  local name=$1
  shift
  if ! RUSTY_MALLOC_TRACE="${traces}/${name}.%p" LD_PRELOAD="${lib}" \
    "$@" >/dev/null; then
    echo "make_trace_seeds: recording ${name} failed: $*" >&2
    exit 1
  fi
  local file largest="" size=-1
  for file in "${traces}/${name}".*; do
    if (($(stat -c %s "${file}") > size)); then
      largest=${file}
      size=$(stat -c %s "${file}")
    fi
  done
  mv "${largest}" "${traces}/${name}"
  echo "recorded ${name}: $(stat -c %s "${traces}/${name}") bytes"
}

workloads=${root}/tests/workloads
record python3-threads /usr/bin/python3 "${workloads}/producer_consumer.py"
record python3 /usr/bin/python3 "${workloads}/alloc_heavy.py"
record sqlite3 sqlite3 :memory: <"${workloads}/sqlite_workload.sql"
record gcc gcc -O2 -I"${root}" -c "${workloads}/lifecycle_program.c" \
  -o "${traces}/lifecycle_program.o"
record git git -C "${root}" grep --threads=4 -n -e malloc HEAD -- allocator

# The windows, a line each: harness, trace, threads, records, start (a
# call's index, P% of the way in, or tT: thread T's first call). A window
# of one thread runs per_thread_malloc_fuzzer's model; of more, its
# concurrent streams.
windows="
per_thread python3 1 1000 10%
per_thread python3 1 1000 60%
per_thread python3-threads 4 2000 t2
per_thread python3-threads 3 2000 t1
per_thread sqlite3 1 1000 5%
per_thread sqlite3 1 1000 50%
per_thread gcc 1 1000 30%
per_thread gcc 1 1000 80%
per_thread git 1 1000 10%
per_thread git 4 1000 40%
per_thread git 5 1000 80%
lifecycle python3 1 500 20%
lifecycle python3-threads 4 500 t2
lifecycle python3-threads 3 500 t1
lifecycle sqlite3 1 500 10%
lifecycle sqlite3 1 500 60%
lifecycle gcc 1 500 40%
lifecycle gcc 1 500 90%
lifecycle git 2 500 50%
lifecycle git 4 500 40%
lifecycle git 5 500 80%
c_interface python3 1 2000 30%
c_interface python3-threads 4 2000 t2
c_interface python3-threads 8 2000 t4
c_interface sqlite3 1 2000 2%
c_interface sqlite3 1 2000 70%
c_interface gcc 1 2000 20%
c_interface gcc 1 2000 60%
c_interface git 1 2000 5%
c_interface git 3 2000 80%
c_interface git 5 2000 40%
"

declare -A fuzzer=([per_thread]=per_thread_malloc_fuzzer
  [lifecycle]=per_thread_lifecycle_fuzzer [c_interface]=malloc_fuzzer)
for harness in "${!fuzzer[@]}"; do
  rm -f "${root}/fuzz/corpus/${fuzzer[${harness}]}"/trace-*
done

declare -A made=()
failures=0
while read -r harness trace threads records start; do
  [[ -z ${harness} ]] && continue
  program=${trace%-threads}
  key=${harness}-${program}
  made[${key}]=$((${made[${key}]:-0} + 1))
  out=${root}/fuzz/corpus/${fuzzer[${harness}]}/trace-${program}-${made[${key}]}
  if ! "${convert}" --harness="${harness}" --threads="${threads}" \
    --records="${records}" --start="${start}" "${traces}/${trace}" "${out}" |
    sed "s|^${root}/||"; then
    echo "make_trace_seeds: no seed from ${trace}, window ${threads}" \
      "${records} ${start}" >&2
    failures=$((failures + 1))
  fi
done <<<"${windows}"
[[ ${failures} -eq 0 ]]
