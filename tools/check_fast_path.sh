#!/usr/bin/env bash
# The fast path's instruction budget: builds tools/alloc_bench and the
# default LD_PRELOAD library optimised, counts the instructions of one
# malloc/free pair in each workload of tools/fast_path_budget.txt with
# callgrind, and fails if any costs more than its budget there. Callgrind
# counts exactly, so a regression of one instruction fails; lower a budget
# when the fast path gets cheaper.
# Usage: tools/check_fast_path.sh
set -uo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bash tools/install_deps.sh || exit 1
log=$(mktemp)
trap 'rm -f "${log}"' EXIT
if ! repo_bazel build -c opt //tools:alloc_bench //allocator:librusty_malloc.so \
    >"${log}" 2>&1; then
  tail -n 30 "${log}"
  exit 1
fi
bin=$(repo_bazel info -c opt bazel-bin 2>/dev/null)
over=0
while read -r workload budget; do
  [[ -z ${workload} || ${workload} == \#* ]] && continue
  if ! per_pair=$(instructions_per_pair "${bin}/tools/alloc_bench" \
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
exit "${over}"
