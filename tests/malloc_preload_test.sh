#!/usr/bin/env bash
# Runs programs nobody here wrote (Debian's python3 and sqlite3), a
# multi-threaded C++ program, a C program of thread and fork lifecycles, one
# of huge and large blocks (calloc, freeing, realloc) and
# the malloc conformance test under LD_PRELOAD=librusty_malloc.so, and checks
# their output against the expected output and against the same program on
# glibc's malloc. RUSTY_MALLOC_STATS=1 makes the library report its heap at
# exit, which proves it was in use.
set -uo pipefail

if [[ ${1:-} == --skip ]]; then
  echo "skipped: a sanitizer runtime must come first in the process, so it"
  echo "cannot run uninstrumented programs with this library preloaded"
  exit 0
fi
lib=$(realpath "$1") conformance=$2 threads=$3 py=$4 py_expected=$5 sql=$6 sql_expected=$7
lifecycle=$8 lifecycle_expected=$9 queue_py=${10} queue_py_expected=${11}
memory=${12} memory_expected=${13}
# Bazel's per-test scratch directory, which it cleans up.
tmp=${TEST_TMPDIR:?run this through bazel test}
failures=0

# check NAME EXPECTED_FILE COMMAND...: output equal to the file under glibc
# and under rusty_malloc, and rusty_malloc's heap report present.
check() {
  local name=$1 expected=$2
  shift 2
  local glibc ours stats
  glibc=$("$@" 2>/dev/null)
  stats=$(mktemp -p "${tmp}")
  ours=$(LD_PRELOAD="${lib}" RUSTY_MALLOC_STATS=1 "$@" 2>"${stats}")
  local rc=$?
  if [[ ${rc} -ne 0 ]]; then
    echo "FAIL ${name}: exit ${rc} under rusty_malloc"; cat "${stats}"; failures=$((failures + 1))
  elif [[ "${ours}" != "$(cat "${expected}")" ]]; then
    echo "FAIL ${name}: output differs from ${expected}"; diff <(echo "${ours}") "${expected}" | head
    failures=$((failures + 1))
  elif [[ "${glibc}" != "${ours}" ]]; then
    echo "FAIL ${name}: output differs from glibc's run"; failures=$((failures + 1))
  elif ! grep -q '^rusty_malloc: heap [1-9]' "${stats}"; then
    echo "FAIL ${name}: rusty_malloc was not in use"; cat "${stats}"; failures=$((failures + 1))
  else
    echo "ok   ${name}: $(grep -m1 '^rusty_malloc: heap' "${stats}")"
  fi
  rm -f "${stats}"
}

check "python3 allocation-heavy script" "${py_expected}" /usr/bin/python3 "${py}"
check "sqlite3 inserts, index build, queries" "${sql_expected}" \
  /usr/bin/sqlite3 -batch :memory: ".read ${sql}"
check "multi-threaded C++ program" <(echo "checksum $("${threads}" | cut -d' ' -f2)") "${threads}"
# Short-lived producer threads, one long-lived consumer: the payloads are
# freed after the threads that allocated them have exited.
check "python3 producer threads and consumer thread" "${queue_py_expected}" \
  /usr/bin/python3 "${queue_py}"
check "thread exit, thread churn, fork while allocating, calloc" \
  "${lifecycle_expected}" "${lifecycle}"

check "huge calloc, huge blocks freed, large-block loop, large realloc" \
  "${memory_expected}" "${memory}"
# The allocator's reservations count against ulimit -v and become memory
# under mlockall unless they are inaccessible until used.
# shellcheck disable=SC2016  # "$0" is the inner shell's: the program.
check "ulimit -v 1000000: a 600 MiB block, 1 MiB blocks, own mmap, threads" \
  <(printf '%s\n' "600 MiB block: allocated" "1 MiB blocks: over 900" \
    "the program's own mmap of 256 MiB: mapped" \
    "16 threads: started and allocated") \
  bash -c 'ulimit -v 1000000 && exec "$0" limits' "${memory}"
# As root with CAP_IPC_LOCK, as a server that locks its memory runs (the
# test is tagged no-sandbox, which would drop it); and unprivileged (the
# capability dropped), under the default 8 MiB memlock limit, which counts
# every mapping, so the library maps less than that before main: its own
# copy of libstdc++ instead of the 2 MB shared one, chunks reserved one at a
# time (jemalloc, tcmalloc and mimalloc fail this; glibc passes).
cap_eff=$(awk '/^CapEff/ {print $2}' /proc/self/status)
if (( (16#${cap_eff} >> 14) & 1 )); then
  check "mlockall locks only what is used" \
    <(echo "mlockall: succeeded, under 64 MiB locked") \
    timeout 120 "${memory}" mlockall
  # shellcheck disable=SC2016  # "$0" is the inner shell's: the program.
  check "mlockall unprivileged, 8 MiB memlock limit" \
    <(echo "mlockall: succeeded, under 64 MiB locked") \
    bash -c 'ulimit -l 8192 && exec setpriv --inh-caps=-ipc_lock \
      --bounding-set=-ipc_lock timeout 120 "$0" mlockall' "${memory}"
else
  echo "skip mlockall: no CAP_IPC_LOCK here"
fi
# bytes(n) is a calloc: a gigabyte of it must not be written.
check "python3 bytes(1 << 30)" <(echo "1073741824 0") \
  /usr/bin/python3 -c 'b = bytes(1 << 30); print(len(b), b[-1])'

conformance_log=$(mktemp -p "${tmp}")
if LD_PRELOAD="${lib}" "${conformance}" >"${conformance_log}" 2>&1; then
  echo "ok   malloc conformance test under LD_PRELOAD: $(grep -E '^\[  PASSED' "${conformance_log}")"
else
  echo "FAIL malloc conformance test under LD_PRELOAD"; tail -n 30 "${conformance_log}"
  failures=$((failures + 1))
fi
rm -f "${conformance_log}"
exit "${failures}"
