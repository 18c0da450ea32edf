#!/usr/bin/env bash
# Proves the fuzz harnesses bite: builds a harness with one planted bug (a
# test-only define, off in every normal build), fuzzes it from the checked-in
# corpus for at most 60 seconds, and requires a crash. Prints how long each
# took. Exits non-zero if any planted bug survives.
#
# The defines (see allocator/):
#   SPLIT_OFF_BY_ONE_WORD  the remainder of a split gets its header a word off
#   SKIP_LEFT_MERGE        free does not merge with a free left neighbour
#   STALE_LINK             free-list removal leaves the next node's back link
#   EARLY_UNLOCK           RustyMalloc drops its lock before updating the list
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"
bash tools/install_deps.sh || exit 1
budget=${PLANTED_BUG_BUDGET:-60}
cache=(--disk_cache="${HOME}/.cache/rusty_malloc/disk")

# bug, harness, config
cases=(
  "SPLIT_OFF_BY_ONE_WORD raw_malloc_fuzzer fuzz"
  "SKIP_LEFT_MERGE raw_malloc_fuzzer fuzz"
  "STALE_LINK freelist_fuzzer fuzz"
  "EARLY_UNLOCK rusty_malloc_fuzzer fuzz_tsan"
)

survived=0
results=()
for c in "${cases[@]}"; do
  read -r bug harness config <<<"${c}"
  # Only our own sources get the define, so dependencies stay cached.
  if ! bazel build "${cache[@]}" --config="${config}" \
      --per_file_copt="^allocator/.*,^fuzz/.*@-DRUSTY_MALLOC_PLANT_${bug}" \
      "//fuzz:${harness}" >/tmp/rusty_planted_build.log 2>&1; then
    grep -E 'error' /tmp/rusty_planted_build.log | head -n 10
    results+=("| ${bug} | ${harness} | did not build | - |")
    survived=1
    continue
  fi
  binary="$(bazel info --config="${config}" bazel-bin 2>/dev/null)/fuzz/${harness}"
  work=$(mktemp -d)
  cp -r "fuzz/corpus/${harness}" "${work}/corpus"
  mkdir -p "${work}/new"
  start=$(date +%s%N)
  "${binary}" -max_total_time="${budget}" -rss_limit_mb=4096 \
    -artifact_prefix="${work}/" "${work}/new" "${work}/corpus" \
    >"${work}/log" 2>&1
  rc=$?
  elapsed_ms=$((($(date +%s%N) - start) / 1000000))
  found='heap check failed|ThreadSanitizer|AddressSanitizer|UndefinedBehaviorSanitizer|rusty_malloc: '
  if [[ ${rc} -ne 0 ]] && grep -qE "${found}" "${work}/log"; then
    what=$(grep -m1 -oE "(heap check failed: [^(]*|WARNING: ThreadSanitizer: [a-z ]*|ERROR: AddressSanitizer: [a-z-]*|rusty_malloc: [a-z ,]*)" "${work}/log" |
      sed -E 's/ at 0x[0-9a-f]+//; s/ +$//')
    results+=("| ${bug} | ${harness} | ${what} | $((elapsed_ms / 1000)).$((elapsed_ms % 1000 / 100)) |")
  else
    results+=("| ${bug} | ${harness} | NOT FOUND in ${budget}s | - |")
    survived=1
  fi
  rm -rf "${work}"
done

# Rebuild the harnesses without the planted bugs.
bazel build "${cache[@]}" --config=fuzz //fuzz/... >/dev/null 2>&1
bazel build "${cache[@]}" --config=fuzz_tsan //fuzz:rusty_malloc_fuzzer >/dev/null 2>&1

echo "| planted bug | harness | found as | seconds |"
echo "|---|---|---|---|"
printf '%s\n' "${results[@]}"
exit "${survived}"
