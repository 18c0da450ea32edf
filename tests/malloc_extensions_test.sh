#!/usr/bin/env bash
# glibc's malloc extensions (mallinfo2, mallinfo, malloc_trim, malloc_stats,
# malloc_info, mallopt) and every runtime option in docs/options.md, each
# answered by this allocator both ways a program gets it: preloaded
# (LD_PRELOAD=librusty_malloc.so under a plain C program) and linked in
# (the same program built with //allocator:malloc); malloc_trim also under
# the locked variants.
# Usage: malloc_extensions_test.sh LIBRARY LOCKED_LIBRARY BRK_LIBRARY
#   PLAIN_PROGRAM LINKED_PROGRAM
set -uo pipefail

if [[ ${1:-} == --skip ]]; then
  echo "skipped: the sanitizer runtime's malloc answers these functions"
  exit 0
fi
lib=$(realpath "$1") locked=$(realpath "$2") brk=$(realpath "$3") plain=$4 linked=$5
tmp=${TEST_TMPDIR:?run this through bazel test}
failures=0
fail() {
  echo "FAIL ${way}: $*"
  failures=$((failures + 1))
}

# run [VAR=VALUE...] SCENARIO [ARG]: the probe this way (${binary}, with
# ${preload} if set), the environment cleared of our options first; sets rc,
# out and err.
run() {
  local vars=()
  while [[ $1 == *=* ]]; do vars+=("$1"); shift; done
  env -u RUSTY_MALLOC_PURGE_DELAY_MS -u RUSTY_MALLOC_RETAIN_MAX \
    -u RUSTY_MALLOC_STATS -u RUSTY_MALLOC_VERBOSE -u RUSTY_MALLOC_ON_MISUSE \
    ${preload:+LD_PRELOAD="${preload}"} "${vars[@]}" "${binary}" "$@" \
    >"${tmp}/out" 2>"${tmp}/err"
  rc=$?
  out=$(cat "${tmp}/out")
  err=$(cat "${tmp}/err")
}

# expect_ok SCENARIO: exits 0 and prints "<scenario> ok" (its own checks).
expect_ok() {
  run "$1"
  if [[ ${rc} -ne 0 || ${out} != *" ok" ]]; then
    fail "$1: exit ${rc}: ${out} ${err}"
  fi
}

# expect_fate EXPECTED [VAR=VALUE...] SLEEP_MS: a freed large block's
# mapping kept or returned, under those options.
expect_fate() {
  local expected=$1
  shift
  run "${@:1:$#-1}" large-block "${@: -1}"
  if [[ ${rc} -ne 0 || ${out} != "${expected}" ]]; then
    fail "large block with ${*:1:$#-1} after ${*: -1} ms: ${out} (want ${expected}) ${err}"
  fi
}

for way in preloaded linked; do
  preload="" binary=${linked}
  if [[ ${way} == preloaded ]]; then preload=${lib} binary=${plain}; fi

  # --- glibc's extension functions ---
  expect_ok mallinfo
  expect_ok trim
  expect_ok mallopt
  run stats
  in_use=$(sed -n 's/^in use bytes *= *\([0-9]*\)$/\1/p' <<<"${err}" | head -n1)
  if [[ ${rc} -ne 0 || $(head -n1 <<<"${err}") != "Arena 0:" ||
    $(grep -c '^max mmap bytes   = ' <<<"${err}") -ne 1 ||
    ${in_use:-0} -lt 1000000 ]]; then
    fail "malloc_stats: ${err}"
  fi
  run info
  if [[ ${rc} -ne 0 ]] || ! python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read())
assert root.tag == "malloc" and root.get("version") == "1", root.tag
assert root.find("heap").get("nr") == "0"
current = [e for e in root.findall("system") if e.get("type") == "current"]
assert int(current[0].get("size")) >= 1000000, current[0].get("size")
' <<<"${out}"; then
    fail "malloc_info: ${out} ${err}"
  fi

  # --- RUSTY_MALLOC_PURGE_DELAY_MS and RUSTY_MALLOC_RETAIN_MAX ---
  expect_fate kept 0
  expect_fate returned 1500  # The default delay is 1 s.
  expect_fate returned RUSTY_MALLOC_PURGE_DELAY_MS=0 0
  expect_fate kept RUSTY_MALLOC_PURGE_DELAY_MS=-1 1500
  expect_fate kept RUSTY_MALLOC_PURGE_DELAY_MS=5000 1500
  expect_fate returned RUSTY_MALLOC_RETAIN_MAX=0 0
  expect_fate returned RUSTY_MALLOC_RETAIN_MAX=4M 0
  expect_fate kept RUSTY_MALLOC_RETAIN_MAX=64M 0

  # --- RUSTY_MALLOC_STATS ---
  run idle
  if [[ -n ${err} ]]; then fail "stats printed unasked: ${err}"; fi
  for value in 1 text; do
    run RUSTY_MALLOC_STATS="${value}" idle
    if ! grep -q '^rusty_malloc: heap [1-9][0-9]* bytes, ' <<<"${err}"; then
      fail "RUSTY_MALLOC_STATS=${value}: ${err}"
    fi
  done
  run RUSTY_MALLOC_STATS=json idle
  if ! python3 -c '
import json, sys
stats = json.loads(sys.stdin.read().splitlines()[-1])
assert stats["allocator"] == "rusty_malloc", stats
assert stats["heap_bytes"] > 0 and stats["resident_bytes"] > 0, stats
assert stats["allocated_bytes"] + stats["free_bytes"] + stats["overhead_bytes"] == stats["heap_bytes"], stats
' <<<"${err}"; then
    fail "RUSTY_MALLOC_STATS=json: ${err}"
  fi

  # --- RUSTY_MALLOC_VERBOSE ---
  run failures
  if [[ ${rc} -ne 0 || -n ${err} ]]; then fail "failed calls, quiet: ${err}"; fi
  run RUSTY_MALLOC_VERBOSE=1 failures
  if [[ ${rc} -ne 0 ]] ||
    ! grep -qx 'rusty_malloc: out of memory allocating 4611686018427387904 bytes (ENOMEM)' <<<"${err}" ||
    ! grep -qx 'rusty_malloc: invalid alignment 3 (EINVAL)' <<<"${err}" ||
    ! grep -q '^rusty_malloc: 9223372036854775807 \* 4 bytes overflows' <<<"${err}"; then
    fail "RUSTY_MALLOC_VERBOSE=1: ${err}"
  fi

  # --- RUSTY_MALLOC_ON_MISUSE ---
  for value in "" abort; do
    run ${value:+RUSTY_MALLOC_ON_MISUSE=${value}} double-free
    if [[ ${rc} -ne 134 ]] || ! grep -q '^rusty_malloc: double free' <<<"${err}" ||
      grep -q '#0' <<<"${err}"; then
      fail "double free with on-misuse '${value}': exit ${rc}: ${err}"
    fi
  done
  run RUSTY_MALLOC_ON_MISUSE=trace double-free
  program=${binary##*/}
  if [[ ${rc} -ne 134 ]] || ! grep -q '^rusty_malloc: double free' <<<"${err}" ||
    ! grep -q '^rusty_malloc:   #0 0x' <<<"${err}" ||
    ! grep -q "^rusty_malloc:   #[0-9]* 0x[0-9a-f]* .*${program}+0x" <<<"${err}"; then
    fail "RUSTY_MALLOC_ON_MISUSE=trace: exit ${rc}: ${err}"
  fi
  # The frames are file offsets that addr2line resolves: one is the caller.
  mapfile -t offsets < <(sed -n "s|^rusty_malloc:   #[0-9]* 0x[0-9a-f]* .*/${program}+\(0x[0-9a-f]*\)$|\1|p" <<<"${err}")
  names=$(addr2line -f -e "${binary}" "${offsets[@]}")
  if ! grep -qx DoubleFree <<<"${names}"; then
    fail "trace frames in ${program} (${offsets[*]}) name no DoubleFree"
  fi

  # --- invalid values: one warning line each, the default kept ---
  for setting in RUSTY_MALLOC_PURGE_DELAY_MS=soon RUSTY_MALLOC_PURGE_DELAY_MS=-2 \
    RUSTY_MALLOC_RETAIN_MAX=12X RUSTY_MALLOC_RETAIN_MAX=99999999999999999999 \
    RUSTY_MALLOC_STATS=yes RUSTY_MALLOC_VERBOSE=2 RUSTY_MALLOC_ON_MISUSE=ignore; do
    run "${setting}" idle
    if [[ ${rc} -ne 0 || $(wc -l <<<"${err}") -ne 1 ||
      ${err} != "rusty_malloc: ignoring ${setting}: expected "* ]]; then
      fail "${setting}: exit ${rc}: ${err}"
    fi
  done
  expect_fate kept RUSTY_MALLOC_RETAIN_MAX=12X 0

  if [[ ${failures} -eq 0 ]]; then echo "ok   ${way}: every extension and option"; fi
done

binary=${plain}
for preload in "${locked}" "${brk}"; do
  way=${preload##*/}
  before=${failures}
  expect_ok trim-once
  expect_ok mallinfo
  if [[ ${failures} -eq ${before} ]]; then echo "ok   ${way}: malloc_trim, mallinfo"; fi
done
exit $((failures > 0))
