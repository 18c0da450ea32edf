#!/usr/bin/env bash
# The LD_PRELOAD libraries export the allocation API and nothing else
# (allocator/exports.lds), and need no C++ runtime of the system's: a
# program's own Abseil or libstdc++ is never interposed, and a C program maps
# none (its address space counts against mlockall's limit).
# Usage: preload_exports_test.sh [--sanitizer] EXPECTED_SYMBOLS LIBRARY...
#   --sanitizer  built under ASan or TSan: the libraries do not interpose
#                __register_atfork there (allocator/drop_in/global_heap.cc)
set -uo pipefail

sanitizer=0
if [[ $1 == --sanitizer ]]; then
  sanitizer=1
  shift
fi
expected=$1
shift
if [[ ${sanitizer} -eq 1 ]]; then
  without=${TEST_TMPDIR:?run this through bazel test}/expected
  grep -vx '__register_atfork' "${expected}" >"${without}"
  expected=${without}
fi
failures=0
for lib in "$@"; do
  exported=$(readelf -W --dyn-syms "${lib}" |
    awk 'NR > 3 && $5 != "LOCAL" && $7 != "UND" {print $8}' | sort)
  if ! diff <(echo "${exported}") "${expected}" >/dev/null; then
    echo "FAIL ${lib##*/} exports other symbols than the API:"
    diff <(echo "${exported}") "${expected}" | head -20
    failures=$((failures + 1))
  elif readelf -d "${lib}" | grep -qE 'NEEDED.*(libstdc\+\+|libm\.)'; then
    echo "FAIL ${lib##*/} needs a shared C++ runtime or libm:"
    readelf -d "${lib}" | grep NEEDED
    failures=$((failures + 1))
  else
    echo "ok   ${lib##*/}: $(wc -l <"${expected}") symbols, needs" \
      "$(readelf -d "${lib}" | grep -oE 'lib[a-z_]+\.so[.0-9]*' | tr '\n' ' ')"
  fi
done
exit "${failures}"
