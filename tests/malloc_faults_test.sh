#!/usr/bin/env bash
# The faults hostile programs found (tests/workloads/faults_program.c), each
# run both ways a program gets the drop-in: preloaded (the default and the
# locked library) and linked in. The concurrent scenarios run 30 times: a
# race that fails one run in ten must fail here.
# Usage: malloc_faults_test.sh LIBRARY LOCKED_LIBRARY PLAIN_PROGRAM
#   LINKED_PROGRAM OPTIONS_PROBE
set -uo pipefail

if [[ ${1:-} == --skip ]]; then
  echo "skipped: the sanitizer runtime's malloc runs these programs"
  exit 0
fi
lib=$(realpath "$1") locked=$(realpath "$2")
plain=$(realpath "$3") linked=$(realpath "$4") probe=$(realpath "$5")
tmp=${TEST_TMPDIR:?run this through bazel test}
failures=0
fail() {
  echo "FAIL ${way}: $*"
  failures=$((failures + 1))
}

# run SCENARIO: the program this way; sets rc, out and err.
run() {
  env -u RUSTY_MALLOC_STATS -u RUSTY_MALLOC_VERBOSE -u RUSTY_MALLOC_ON_MISUSE \
    ${preload:+LD_PRELOAD="${preload}"} "${binary}" "$@" \
    >"${tmp}/out" 2>"${tmp}/err"
  rc=$?
  out=$(cat "${tmp}/out")
  err=$(cat "${tmp}/err")
}

# expect_ok SCENARIO [RUNS]: every run exits 0 and says "<scenario> ok".
expect_ok() {
  local i
  for ((i = 0; i < ${2:-1}; ++i)); do
    run "$1"
    if [[ ${rc} -ne 0 || ${out} != "$1 ok"* ]]; then
      fail "$1 (run $((i + 1))): exit ${rc}: ${out} ${err:0:2000}"
      return
    fi
  done
}

ways=(preloaded locked linked)
for way in "${ways[@]}"; do
  case ${way} in
    preloaded) preload=${lib} binary=${plain} ;;
    locked) preload=${locked} binary=${plain} ;;
    linked) preload="" binary=${linked} ;;
  esac
  expect_ok stats-race 30
  expect_ok fork-handlers 30
  expect_ok tsd-leak
  expect_ok kept-mapping
  if [[ ${way} != locked ]]; then
    # The locked heap keeps no per-page lists; its own checks are elsewhere.
    run remote-write
    if [[ ${rc} -eq 0 || ${err} != *"free list corrupted"* ]]; then
      fail "remote-write: exit ${rc}, want the free-list report: ${out} ${err:0:2000}"
    fi
  fi
done

# Options are ignored in a set-user-ID program (secure_getenv), as glibc's
# own: the calling user sets the environment. Needs root to make the copy
# and another user to run it as. LD_PRELOAD is ignored there too, so only
# the linked-in program.
way=set-user-ID
if [[ $(id -u) -eq 0 ]] && command -v setpriv >/dev/null; then
  dir=$(mktemp -d /tmp/rusty_malloc_setuid.XXXXXX)
  chmod 755 "${dir}"
  cp "${probe}" "${dir}/probe"
  chmod 755 "${dir}/probe"
  # as_nobody: the copy run as nobody with RUSTY_MALLOC_STATS=1.
  as_nobody() {
    env RUSTY_MALLOC_STATS=1 setpriv --reuid=nobody --regid=nogroup \
      --clear-groups "${dir}/probe" >"${tmp}/out" 2>"${tmp}/err"
    rc=$?
    out=$(cat "${tmp}/out")
    err=$(cat "${tmp}/err")
  }
  # Plain, the option is read: statistics at exit.
  as_nobody
  if [[ ${rc} -ne 0 || ${out} != "options ok" || ${err} != *"rusty_malloc"* ]]; then
    fail "plain copy as nobody: exit ${rc}, want statistics: ${out} ${err}"
  fi
  # Set-user-ID root, run by nobody: AT_SECURE, the option is not read.
  chmod 4755 "${dir}/probe"
  as_nobody
  if [[ ${rc} -ne 0 || ${out} != "options ok" || -n ${err} ]]; then
    fail "set-user-ID copy: exit ${rc}, want no statistics: ${out} ${err}"
  fi
  rm -rf "${dir}"
else
  echo "skipped the set-user-ID scenario: needs root and setpriv"
fi

if [[ ${failures} -gt 0 ]]; then
  echo "${failures} failed"
  exit 1
fi
echo "all scenarios passed"
