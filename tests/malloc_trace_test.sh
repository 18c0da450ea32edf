#!/usr/bin/env bash
# RUSTY_MALLOC_TRACE end to end, preloaded: trace_program makes calls of
# every kind the recorder knows (tests/trace_check.py finds each by its
# size), across a thread and its exit; its trace must parse complete, with
# every call in order and ids that follow the blocks. Then a fork with
# RUSTY_MALLOC_TRACE_FORK=child (the child's own trace, which starts with
# the blocks it inherited), a process killed mid-run (its flushed frames
# parse; no end record), the same trace cut short (the tail is ignored),
# "%p" in the path, and a file that already exists (PATH.PID).
# Every trace that parses complete is then replayed (bench/replay) with
# its content checks, on glibc and on the drop-in.
# Usage: malloc_trace_test.sh LIBRUSTY_MALLOC_SO TRACE_PROGRAM TRACE_DUMP
#        TRACE_CHECK_PY REPLAY
#        malloc_trace_test.sh --skip
set -uo pipefail

if [[ $1 == --skip ]]; then
  echo "skipped: the drop-in is not the process's malloc under a sanitizer"
  exit 0
fi
library=$(realpath "$1")
program=$2
dump=$3
check=$4
replay=$5
tmp=${TEST_TMPDIR:?run this through bazel test}
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# record MODE TRACE [VARIABLE=VALUE...]: runs trace_program MODE preloaded.
record() {
  local mode=$1 trace=$2
  shift 2
  env "$@" RUSTY_MALLOC_TRACE="${trace}" LD_PRELOAD="${library}" \
    "${program}" "${mode}" >"${tmp}/${mode}.out" 2>"${tmp}/${mode}.err"
}

# replayed TRACE: replays TRACE on glibc's malloc, then on the drop-in.
replayed() {
  local preload
  for preload in "" "${library}"; do
    if ! LD_PRELOAD=${preload} "${replay}" "$1" >"$1.replay" 2>&1; then
      fail "replay of $1${preload:+ on the drop-in}: $(cat "$1.replay")"
    fi
  done
}

# dumped TRACE: trace_dump's text of TRACE into TRACE.txt; fails the test
# if the reader refuses it.
dumped() {
  if ! "${dump}" "$1" >"$1.txt" 2>"$1.err"; then
    fail "trace_dump refused $1: $(cat "$1.err")"
    return 1
  fi
}

trace=${tmp}/normal.trace
if ! record normal "${trace}"; then
  fail "trace_program normal failed: $(cat "${tmp}/normal.err")"
elif dumped "${trace}"; then
  python3 "${check}" normal "${trace}.txt" || failures=$((failures + 1))
  replayed "${trace}"
  # Cut inside the last frame: the frames before it still parse.
  size=$(stat -c %s "${trace}")
  head -c $((size - 3)) "${trace}" >"${tmp}/cut.trace"
  if dumped "${tmp}/cut.trace"; then
    tail -n 1 "${tmp}/cut.trace.txt" | grep -q "complete=0 .*ignored_tail_bytes=[1-9]" ||
      fail "a cut trace: $(tail -n 1 "${tmp}/cut.trace.txt")"
  fi
fi

# A path taken already: this process records to PATH.PID beside it.
: >"${tmp}/taken.trace"
record normal "${tmp}/taken.trace" || fail "trace_program on a taken path failed"
taken=("${tmp}"/taken.trace.*)
if [[ ${#taken[@]} -ne 1 || ! -s ${taken[0]} || -s ${tmp}/taken.trace ]]; then
  fail "a taken path: expected one PATH.PID beside an untouched PATH, got $(ls "${tmp}"/taken.trace*)"
fi

# %p: the process id.
mkdir -p "${tmp}/pid"
record normal "${tmp}/pid/run.%p.trace" || fail "trace_program with %p failed"
pid_traces=("${tmp}"/pid/run.*.trace)
[[ ${#pid_traces[@]} -eq 1 && ${pid_traces[0]} =~ run\.[0-9]+\.trace$ ]] ||
  fail "%p: got $(ls "${tmp}/pid")"

trace=${tmp}/fork.trace
if ! record fork "${trace}" RUSTY_MALLOC_TRACE_FORK=child; then
  fail "trace_program fork failed: $(cat "${tmp}/fork.err")"
else
  child=""
  for f in "${trace}".*; do
    [[ $f =~ \.[0-9]+$ ]] && child=$f
  done
  if [[ -z ${child} ]]; then
    fail "the forked child wrote no trace of its own"
  elif dumped "${trace}" && dumped "${child}"; then
    python3 "${check}" fork "${trace}.txt" "${child}.txt" ||
      failures=$((failures + 1))
    replayed "${child}"
  fi
fi

# The default for a fork: the child stops recording, and writes nothing.
rm -rf "${tmp}/stop" && mkdir -p "${tmp}/stop"
record fork "${tmp}/stop/t.trace" || fail "trace_program fork (stop) failed"
stopped=("${tmp}"/stop/*)
[[ ${#stopped[@]} -eq 1 ]] || fail "fork stop: ${stopped[*]}"

trace=${tmp}/kill.trace
record kill "${trace}"
status=$?
[[ ${status} -eq 137 ]] || fail "trace_program kill exited ${status}, not by SIGKILL"
if dumped "${trace}"; then
  python3 "${check}" kill "${trace}.txt" || failures=$((failures + 1))
  replayed "${trace}"
fi

if ((failures > 0)); then
  echo "${failures} failure(s)"
  exit 1
fi
echo "PASS"
