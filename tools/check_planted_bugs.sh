#!/usr/bin/env bash
# Proves the fuzz harnesses bite: builds a harness with one planted bug
# (allocator/common/planted_bug.h: compiled in every build, switched on here by
# -DRUSTY_MALLOC_PLANTED_BUG), fuzzes it from the checked-in corpus for at
# most 60 seconds, and requires a crash. Prints how long each took. Exits
# non-zero if any planted bug survives.
set -uo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ensure_deps || exit 1
budget=${PLANTED_BUG_BUDGET:-60}

# bug, harness, config (fuzz_tsan for a race: only TSan sees it)
cases=(
  "kSplitOffByOneWord raw_malloc_fuzzer fuzz"
  "kSkipLeftMerge raw_malloc_fuzzer fuzz"
  "kDecommitRoundsOutward raw_malloc_fuzzer fuzz"
  "kStaleLink freelist_fuzzer fuzz"
  "kEarlyUnlock rusty_malloc_fuzzer fuzz_tsan"
  "kCollectAllWalksReleasedChunk per_thread_lifecycle_fuzzer fuzz"
  "kRemoteFreeOnLocalList per_thread_lifecycle_fuzzer fuzz"
  "kRetiredPageLeftQueued per_thread_malloc_fuzzer fuzz"
  "kCollectForgetsCount per_thread_lifecycle_fuzzer fuzz"
  "kChunkReleasedInUse per_thread_lifecycle_fuzzer fuzz"
  "kSpanLeftMarked per_thread_malloc_fuzzer fuzz"
  "kReleasedChunkNotReused per_thread_lifecycle_fuzzer fuzz"
  "kStatsWalkRemoteList per_thread_lifecycle_fuzzer fuzz_tsan"
  "kRemoteBatchKeptAtExit per_thread_lifecycle_fuzzer fuzz"
  "kReclaimTakesFrontPage per_thread_lifecycle_fuzzer fuzz_tsan"
  "kCallocSkipsZeroing malloc_fuzzer fuzz"
  "kKeptMappingCountsAsZero malloc_fuzzer fuzz"
  "kKeptMappingCountsAsZero large_heap_fuzzer fuzz"
  "kShiftStopsAtFirstStay large_heap_fuzzer fuzz"
)
if [[ $# -gt 0 ]]; then
  # Only the named bugs.
  selected=()
  for c in "${cases[@]}"; do
    for want in "$@"; do [[ ${c%% *} == "${want}" ]] && selected+=("${c}"); done
  done
  cases=("${selected[@]}")
fi

survived=0
results=()
# Per config, the harnesses built with a planted bug.
declare -A built
build_log=$(mktemp)
work=""
trap 'rm -rf "${build_log}" "${work}"' EXIT
for c in "${cases[@]}"; do
  read -r bug harness config <<<"${c}"
  built[${config}]+=" //fuzz:${harness}"
  # Only our own sources get the define, so dependencies stay cached.
  if ! repo_bazel build --config="${config}" \
      --per_file_copt="^allocator/.*,^fuzz/.*,^tests/.*,^testing/.*,^growers/.*@-DRUSTY_MALLOC_PLANTED_BUG=${bug}" \
      "//fuzz:${harness}" >"${build_log}" 2>&1; then
    grep -E 'error' "${build_log}" | head -n 10
    results+=("| ${bug} | ${harness} | did not build | - |")
    survived=1
    continue
  fi
  binary="$(repo_bazel info --config="${config}" bazel-bin 2>/dev/null)/fuzz/${harness}"
  work=$(mktemp -d)
  cp -r "fuzz/corpus/${harness}" "${work}/corpus"
  mkdir -p "${work}/new"
  start=$(date +%s%N)
  # A planted bug may corrupt the heap into a loop rather than a report:
  # libFuzzer's -timeout turns a hung input into a finding (max_total_time
  # is only checked between inputs), and `timeout` bounds the whole run
  # (SIGKILL 5 s after SIGTERM: a process a race report is taking down can
  # hang on its way out, with the report already in the log).
  # shellcheck disable=SC2046  # one flag per word
  timeout -k 5 "$((budget + 5))" \
    "${binary}" -max_total_time="${budget}" -timeout=10 -rss_limit_mb=4096 \
    $(fuzz_flags "${harness}") \
    -artifact_prefix="${work}/" "${work}/new" "${work}/corpus" \
    >"${work}/log" 2>&1
  rc=$?
  elapsed_ms=$((($(date +%s%N) - start) / 1000000))
  found='heap check failed|ThreadSanitizer|AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer: timeout|rusty_malloc: '
  if [[ ${rc} -ne 0 ]] && grep -qE "${found}" "${work}/log"; then
    what=$(grep -m1 -oE "(heap check failed: [^(]*|WARNING: ThreadSanitizer: [a-z ]*|ERROR: AddressSanitizer: [A-Za-z-]*|UndefinedBehaviorSanitizer: [a-z-]*|libFuzzer: timeout|rusty_malloc: [a-z ,]*)" "${work}/log" |
      sed -E 's/ at 0x[0-9a-f]+//; s/ +$//')
    results+=("| ${bug} | ${harness} | ${what} | $((elapsed_ms / 1000)).$((elapsed_ms % 1000 / 100)) |")
  else
    results+=("| ${bug} | ${harness} | NOT FOUND in ${budget}s | - |")
    survived=1
  fi
  rm -rf "${work}"
done

# Rebuild the harnesses without the planted bugs.
for config in "${!built[@]}"; do
  read -ra targets <<<"${built[${config}]}"
  repo_bazel build --config="${config}" "${targets[@]}" >/dev/null 2>&1
done

echo "| planted bug | harness | found as | seconds |"
echo "|---|---|---|---|"
printf '%s\n' "${results[@]}"
exit "${survived}"
