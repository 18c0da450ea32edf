#!/usr/bin/env bash
# Continuous fuzzing: runs every harness for a time budget, folds inputs that
# add coverage into its checked-in corpus (fuzz/corpus/<harness>/), and saves
# crashing inputs in fuzz/crashes/<harness>/, where the harness's regression
# test replays them from then on. The concurrent harness runs under TSan as
# well as under ASan+UBSan.
#
# Usage: tools/fuzz_continuously.sh [--no-merge] [seconds_per_harness] [harness...]
#   --no-merge   leave the corpora as they are (CI)
# Ends with a Markdown table of each run's executions per second
# (libFuzzer's stat::average_exec_per_sec) against the throughput goal:
# 1,000 for a single-threaded harness, 200 for a concurrent one, under
# either config. A rate below its goal reads "not met" but does not fail
# the run: rates move by half with the machine's load (another build, the
# host), so a hard threshold would make CI flaky without finding a bug; the
# table is there to be read and quoted. Exits non-zero if any harness
# crashed or did not build.
set -uo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
merge=1
if [[ ${1:-} == --no-merge ]]; then
  merge=0
  shift
fi
seconds=${1:-300}
shift || true
harnesses=("$@")

ensure_deps || exit 1
if [[ ${#harnesses[@]} -eq 0 ]]; then
  fuzz_harnesses harnesses || exit 1
fi
tsan_harnesses=()
fuzz_harnesses tsan_harnesses concurrent || exit 1
crashed=0
# One Markdown row per run, printed at the end.
rates=()
build_log=$(mktemp)
trap 'rm -f "${build_log}"' EXIT

# Runs one harness binary for the budget; merges and reports.
fuzz_one() {
  local config=$1 harness=$2 binary=$3
  local new="fuzz/out/${config}/${harness}"
  local crashes="fuzz/crashes/${harness}"
  rm -rf "${new}"
  mkdir -p "${new}" "${crashes}" "fuzz/corpus/${harness}"
  echo "=== ${harness} (${config}, ${seconds}s)"
  # shellcheck disable=SC2046  # one flag per word
  "${binary}" -max_total_time="${seconds}" -rss_limit_mb=4096 -timeout=30 \
    $(fuzz_flags "${harness}") \
    -print_final_stats=1 -artifact_prefix="${crashes}/" \
    "${new}" "fuzz/corpus/${harness}" >"${new}.log" 2>&1
  local rc=$?
  grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec|SUMMARY|heap check)' \
    "${new}.log"
  local rate goal=1000 verdict
  rate=$(sed -n 's/^stat::average_exec_per_sec:[[:space:]]*\([0-9]*\).*/\1/p' \
    "${new}.log" | tail -n 1)
  [[ " ${tsan_harnesses[*]} " == *" ${harness} "* ]] && goal=200
  if [[ ${rc} -ne 0 ]]; then
    verdict="crashed"
  elif [[ -z ${rate} ]]; then
    verdict="no rate"
  elif [[ ${rate} -ge ${goal} ]]; then
    verdict="met"
  else
    verdict="not met"
  fi
  rates+=("| ${harness} | ${config} | ${rate:--} | ${goal} | ${verdict} |")
  if [[ ${rc} -ne 0 ]]; then
    echo "!!! ${harness} (${config}) crashed; input saved in ${crashes}/"
    tail -n 30 "${new}.log"
    crashed=1
  elif [[ ${merge} -eq 1 ]]; then
    "${binary}" -merge=1 "fuzz/corpus/${harness}" "${new}" >/dev/null 2>&1
    echo "corpus: $(find "fuzz/corpus/${harness}" -type f | wc -l) inputs"
  fi
}

for config in fuzz fuzz_tsan; do
  selected=()
  for h in "${harnesses[@]}"; do
    if [[ ${config} == fuzz ]] || [[ " ${tsan_harnesses[*]} " == *" ${h} "* ]]; then
      selected+=("${h}")
    fi
  done
  [[ ${#selected[@]} -eq 0 ]] && continue
  targets=("${selected[@]/#///fuzz:}")
  if ! repo_bazel build --config="${config}" "${targets[@]}" \
      >"${build_log}" 2>&1; then
    grep -E '(ERROR|error:)' "${build_log}" | head -n 20
    echo "!!! harnesses did not build under --config=${config}"
    crashed=1
    for h in "${selected[@]}"; do
      rates+=("| ${h} | ${config} | - | - | did not build |")
    done
    continue
  fi
  bin=$(repo_bazel info --config="${config}" bazel-bin 2>/dev/null)
  for h in "${selected[@]}"; do
    fuzz_one "${config}" "${h}" "${bin}/fuzz/${h}"
  done
done

echo
echo "Throughput, ${seconds} s per harness from its checked-in corpus ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end):"
echo
echo "| harness | config | exec/s | goal | goal met |"
echo "|---|---|---:|---:|---|"
printf '%s\n' "${rates[@]}"
exit "${crashed}"
