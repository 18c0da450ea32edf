#!/usr/bin/env bash
# The fast path's instruction budget and its golden listing: builds
# bench/alloc_bench and the default LD_PRELOAD library optimised, counts
# the instructions of one malloc/free pair in each workload of
# tools/fast_path_budget.txt with callgrind, and fails if any costs more
# than its budget there; then compares the compiled malloc, free, operator
# new and operator delete (fast_path_listing, tools/common.sh) with
# tools/fast_path.golden and fails on any difference, so that a change to
# the fast paths' code is seen in review even when it costs no more.
# Callgrind counts exactly, so a regression of one instruction fails; lower
# a budget when the fast path gets cheaper.
# Usage: tools/check_fast_path.sh [--update-golden]
set -uo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ensure_deps || exit 1
log=$(mktemp)
trap 'rm -f "${log}"' EXIT
if ! repo_bazel build -c opt //bench:alloc_bench //allocator:librusty_malloc.so \
    >"${log}" 2>&1; then
  tail -n 30 "${log}"
  exit 1
fi
bin=$(repo_bazel info -c opt bazel-bin 2>/dev/null)
over=0
while read -r workload budget; do
  [[ -z ${workload} || ${workload} == \#* ]] && continue
  if ! per_pair=$(instructions_per_pair "${bin}/bench/alloc_bench" \
                    "${bin}/allocator/librusty_malloc.so" "${workload}" 128000); then
    echo "FAILED: callgrind on ${workload}"
    over=1
    continue
  fi
  if awk "BEGIN{exit !(${per_pair} <= ${budget})}"; then
    echo "${workload}: ${per_pair} instructions per malloc/free pair (budget ${budget})"
  else
    echo "OVER BUDGET ${workload}: ${per_pair} instructions per malloc/free pair (budget ${budget})"
    over=1
  fi
done <tools/fast_path_budget.txt

listing=$(fast_path_listing "${bin}/allocator/librusty_malloc.so")
if [[ ${1:-} == --update-golden ]]; then
  echo "${listing}" >tools/fast_path.golden
  echo "wrote tools/fast_path.golden"
elif ! diff -u tools/fast_path.golden <(echo "${listing}"); then
  echo "FAILED: the compiled fast paths differ from tools/fast_path.golden" \
    "(above, - golden + now). If the change is meant, run" \
    "tools/check_fast_path.sh --update-golden and commit the listing with" \
    "the budget figures."
  over=1
else
  # The straight line from each entry to its first return: the fast path.
  echo "${listing}" | awk '/^[a-zA-Z_0-9]+:$/ {name = $0; n = 0; done = 0; next}
    !done {n++} /^ret/ && !done {print name, n, "instructions to the first ret"; done = 1}'
  echo "compiled fast paths match tools/fast_path.golden"
fi
exit "${over}"
