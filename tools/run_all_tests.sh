#!/usr/bin/env bash
# The whole test suite: installs what is missing, then runs every test (the
# fuzz corpora replay as regression tests) under the default toolchain (g++),
# under clang, and under the asan, ubsan and tsan configs; builds and runs the
# example consumer workspace; fuzzes every harness briefly; proves each
# planted bug is found; holds the fast path to its instruction budget;
# checks the OSS-Fuzz build script; and soaks the
# LD_PRELOAD drop-in and RustyMalloc in thread and fork lifecycles.
# Runs the lint gates (tools/check_lint.sh).
# Prints "tests: N passed, M failed" last; exits non-zero on any failure.
set -uo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ensure_deps || { echo "install_deps failed" >&2; exit 1; }

# g++ first, then every clang config together: switching the compiler
# re-configures the toolchain, so do it once.
configs=(default clang asan ubsan tsan)

passed=0
failed=0

# Runs `bazel test` with the given flags and adds its per-target results to
# the totals. A build failure with no per-target lines counts as one failure.
run_config() {
  local name=$1
  shift
  local log
  log=$(mktemp)
  echo "=== bazel test //... (${name})"
  # Every test runs every time: the disk cache keeps the build, but a test
  # result replayed from an earlier run would hide a flaky test.
  repo_bazel test --nocache_test_results "$@" //... 2>&1 |
    tee "${log}" |
    grep -E '^(//|ERROR|Executed|INFO: Elapsed)'
  local rc=${PIPESTATUS[0]}
  local p f
  p=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "${log}")
  f=$(grep -cE '^//[^ ]+ +.*(FAILED|NO STATUS|TIMEOUT|INCOMPLETE)' "${log}")
  if [[ ${rc} -ne 0 && ${f} -eq 0 ]]; then
    f=1
    tail -n 40 "${log}"
  fi
  passed=$((passed + p))
  failed=$((failed + f))
  rm -f "${log}"
}

for config in "${configs[@]}"; do
  if [[ ${config} == default ]]; then
    run_config default
  else
    run_config "${config}" --config="${config}"
  fi
done

# Runs a named step; it passes when the command exits 0.
run_step() {
  local name=$1
  shift
  echo "=== ${name}"
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "!!! ${name} failed"
    failed=$((failed + 1))
  fi
}

consumer() {
  (cd examples/consumer && bazel run "${cache[@]}" //:consumer 2>&1 |
     grep -E '^(consumer:|ERROR)'; exit "${PIPESTATUS[0]}")
  local rc=$?
  (cd examples/consumer && bazel shutdown) >/dev/null 2>&1
  return "${rc}"
}

# A flaky concurrent test would fail one CI run in a few: run each 30 times,
# with the concurrent fuzz harnesses' regression tests.
tsan_30_runs() {
  local tests=(
    //tests:per_thread_adoption_test //tests:per_thread_exit_remote_free_test
    //tests:per_thread_exit_test //tests:per_thread_fork_test
    //tests:per_thread_malloc_test //tests:per_thread_purge_test
    //tests:per_thread_reclaim_test //tests:per_thread_remote_free_test
    //tests:rusty_malloc_test //tests:thread_heap_test
    //tests:heap_profile_test //tests:guarded_pool_test
  )
  local harnesses=() h
  fuzz_harnesses harnesses concurrent || return 1
  for h in "${harnesses[@]}"; do tests+=("//fuzz:${h}_regression_test"); done
  repo_bazel test --config=tsan --nocache_test_results \
    --runs_per_test=30 "${tests[@]}" 2>&1 |
    grep -E '^(//|ERROR|Executed)|Stats over'
  return "${PIPESTATUS[0]}"
}

run_step "lint gates (clang-format, shellcheck, buildifier, clang-tidy)" \
  bash tools/check_lint.sh
run_step "concurrent tests, 30 runs each under TSan" tsan_30_runs
run_step "example consumer (depends on @rusty_malloc targets)" consumer
run_step "fuzz every harness ${FUZZ_SECONDS:-20}s (ASan+UBSan; TSan for the concurrent ones)" \
  bash tools/fuzz_continuously.sh --no-merge "${FUZZ_SECONDS:-20}"
run_step "planted bugs are found by the fuzzers" bash tools/check_planted_bugs.sh
run_step "fast path within its instruction budget (callgrind)" \
  bash tools/check_fast_path.sh
run_step "OSS-Fuzz build.sh" bash tools/check_oss_fuzz_build.sh
run_step "soak ${SOAK_SECONDS:-10}s (LD_PRELOAD drop-in and RustyMalloc)" bash tools/soak.sh "${SOAK_SECONDS:-10}"

echo "tests: ${passed} passed, ${failed} failed"
[[ ${failed} -eq 0 ]]
