#!/usr/bin/env bash
# bench/replay on traces replay_trace_maker writes: the mixed 4-thread trace
# (cross-thread frees, reallocs and uses, realloc chains, aligned, calloc'd
# and new'd blocks, failed allocations) under every --allocator, with no
# pattern or allocation error; --repeat and --json; a trace cut short,
# replayed with what it keeps; and traces refused with exit 2 and the
# offset of the record at fault. With a third argument, the system
# allocator run again with that library preloaded.
set -uo pipefail

replay=$1 maker=$2 preload=${3:-}
# Bazel's per-test scratch directory, which it cleans up.
tmp=${TEST_TMPDIR:?run this through bazel test}
failures=0
# The trace's huge requests must fail with nullptr, as glibc's do, rather
# than abort the process, under ASan and TSan too.
export ASAN_OPTIONS="${ASAN_OPTIONS:+${ASAN_OPTIONS}:}allocator_may_return_null=1"
export TSAN_OPTIONS="${TSAN_OPTIONS:+${TSAN_OPTIONS}:}allocator_may_return_null=1"

fail() {
  echo "FAIL $1"
  [[ -f ${tmp}/stderr ]] && head -20 "${tmp}/stderr"
  failures=$((failures + 1))
}

"${maker}" mixed "${tmp}/mixed.trace" || exit 1
"${maker}" cut "${tmp}/cut.trace" || exit 1
unknown_at=$("${maker}" unknown_free "${tmp}/unknown_free.trace") || exit 1
reused_at=$("${maker}" use_after_free "${tmp}/use_after_free.trace") || exit 1

clean_json='"pattern_errors":0,"failed_allocations":0,"usable_size_errors":0}'
clean_text='pattern_errors=0 failed_allocations=0 usable_size_errors=0'

# expect_clean NAME LINES PATTERN COMMAND...: exits 0 and prints LINES
# lines, each matching PATTERN (a basic regular expression).
expect_clean() {
  local name=$1 lines=$2 pattern=$3
  shift 3
  local out rc
  out=$("$@" 2>"${tmp}/stderr")
  rc=$?
  if [[ ${rc} -ne 0 ]]; then
    fail "${name}: exit ${rc}"
  elif [[ $(grep -c -- "${pattern}" <<<"${out}") -ne ${lines} ]]; then
    fail "${name}: not ${lines} clean reports: ${out}"
  else
    echo "ok   ${name}: $(head -1 <<<"${out}")"
  fi
}

# expect_refused NAME STATUS MESSAGE COMMAND...: exits STATUS with MESSAGE
# on stderr.
expect_refused() {
  local name=$1 status=$2 message=$3
  shift 3
  "$@" >/dev/null 2>"${tmp}/stderr"
  local rc=$?
  if [[ ${rc} -ne ${status} ]]; then
    fail "${name}: exit ${rc}, not ${status}"
  elif ! grep -qF -- "${message}" "${tmp}/stderr"; then
    fail "${name}: no \"${message}\" on stderr"
  else
    echo "ok   ${name}: $(head -1 "${tmp}/stderr")"
  fi
}

for allocator in system per_thread locked raw_mmap raw_brk; do
  expect_clean "mixed trace on ${allocator}" 1 \
    "\"allocator\":\"${allocator}\",\"run\":1,\"threads\":4,.*${clean_json}" \
    "${replay}" --allocator="${allocator}" --json "${tmp}/mixed.trace"
done
expect_clean "three runs, text" 3 "${clean_text}" \
  "${replay}" --allocator=per_thread --repeat=3 "${tmp}/mixed.trace"

expect_clean "trace cut short" 1 "${clean_text}" \
  "${replay}" "${tmp}/cut.trace"
if ! grep -q 'incomplete trace' "${tmp}/stderr"; then
  fail "trace cut short: not reported as incomplete"
fi

expect_refused "free of an id never allocated" 2 \
  "unknown_free.trace: offset ${unknown_at}: id 2 is never allocated" \
  "${replay}" "${tmp}/unknown_free.trace"
expect_refused "use after its thread freed it" 2 \
  "use_after_free.trace: offset ${reused_at}: id 1 used after its thread" \
  "${replay}" "${tmp}/use_after_free.trace"
expect_refused "a file that is not a trace" 2 "offset 0: not a trace" \
  "${replay}" "${maker}"
expect_refused "a missing file" 2 "missing.trace" \
  "${replay}" "${tmp}/missing.trace"
expect_refused "unknown allocator" 2 "unknown allocator" \
  "${replay}" --allocator=nonesuch "${tmp}/mixed.trace"
expect_refused "no trace" 2 "usage: replay" "${replay}"
expect_refused "bad repeat" 2 "usage: replay" \
  "${replay}" --repeat=0 "${tmp}/mixed.trace"

if [[ -n ${preload} ]]; then
  # RUSTY_MALLOC_STATS=1: the library reports its heap at exit, which shows
  # it was the process's malloc.
  expect_clean "mixed trace preloaded" 1 "${clean_text}" \
    env LD_PRELOAD="$(realpath "${preload}")" RUSTY_MALLOC_STATS=1 \
    "${replay}" "${tmp}/mixed.trace"
  if ! grep -q '^rusty_malloc: heap [1-9]' "${tmp}/stderr"; then
    fail "mixed trace preloaded: rusty_malloc was not in use"
  fi
fi

if [[ ${failures} -ne 0 ]]; then
  echo "${failures} failed"
  exit 1
fi
echo "all passed"
