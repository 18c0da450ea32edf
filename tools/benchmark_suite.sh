#!/usr/bin/env bash
# The allocator benchmark suite, one command: builds tools/alloc_bench and
# rusty_malloc's LD_PRELOAD libraries, runs every workload under glibc, the
# locked allocator, the per-thread allocator and, when installed, jemalloc,
# tcmalloc and mimalloc (all through LD_PRELOAD, all the same binary), counts
# fast-path instructions with callgrind, and writes a report.
#
# Usage: tools/benchmark_suite.sh [output_dir]   (default: bench-out/)
# Output: results.csv, callgrind.csv, report.md, throughput.svg
set -euo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
out=${1:-bench-out}
mkdir -p "${out}"
bash tools/install_deps.sh

repo_bazel build -c opt //tools:alloc_bench \
  //allocator:librusty_malloc.so //allocator:librusty_malloc_locked.so \
  >"${out}/build.log" 2>&1 || { tail -n 30 "${out}/build.log"; exit 1; }
bin=$(repo_bazel info -c opt bazel-bin 2>/dev/null)
bench="${bin}/tools/alloc_bench"
lib=/usr/lib/x86_64-linux-gnu

# name=library ("" for glibc's own malloc)
allocators=("glibc=" "rusty_locked=${bin}/allocator/librusty_malloc_locked.so"
            "rusty_per_thread=${bin}/allocator/librusty_malloc.so")
for peer in "jemalloc=${lib}/libjemalloc.so.2" \
            "tcmalloc=${lib}/libtcmalloc_minimal.so.4" \
            "mimalloc=${lib}/libmimalloc.so.2"; do
  [[ -f ${peer#*=} ]] && allocators+=("${peer}")
done

# workload ops_per_thread threads...
# Long enough per thread (tens of milliseconds or more) that start-up and
# first-touch page faults do not dominate.
workloads=(
  "vectors 40000 1 2 4 8 16"
  "producer_consumer 1000000 2 4 8 16"
  "mixed 1000000 1 2 4 8 16"
  "fastpath 20000000 1"
  "large_loop 300 1 2"
  "remote_then_other 4000000 1"
  "python 1 1"
)
# BENCH_ONLY="w1 w2" runs only those workloads.
if [[ -n ${BENCH_ONLY:-} ]]; then
  selected=()
  for w in "${workloads[@]}"; do
    for want in ${BENCH_ONLY}; do
      [[ ${w%% *} == "${want}" ]] && selected+=("${w}")
    done
  done
  workloads=("${selected[@]}")
fi

# Runs one workload once under LD_PRELOAD=$1 and prints alloc_bench's line:
# WORKLOAD THREADS WALL_SECONDS OPS_PER_SECOND PEAK_RSS_KIB
# RESIDENT_BEFORE_KIB RESIDENT_AFTER_KIB (anonymous resident memory before
# the workload and after it freed everything, past the purge delay; see
# tools/alloc_bench.cc). "python" is Debian's python3 on
# tests/workloads/alloc_heavy.py (one run per second), without the last two.
run_workload() {
  local preload=$1 workload=$2 threads=$3 ops=$4
  if [[ ${workload} == python ]]; then
    local timing
    timing=$(mktemp)
    LD_PRELOAD="${preload}" /usr/bin/time -o "${timing}" -f "%e %M" \
      python3 tests/workloads/alloc_heavy.py >/dev/null
    read -r wall rss <"${timing}"
    rm -f "${timing}"
    echo "python 1 ${wall} $(awk "BEGIN{printf \"%.3f\", 1 / ${wall}}") ${rss}"
  else
    LD_PRELOAD="${preload}" "${bench}" "${workload}" "${threads}" "${ops}"
  fi
}
repeats=${BENCH_REPEATS:-3}

echo "allocator,workload,threads,wall_s,ops_per_s,peak_rss_kib,resident_before_kib,resident_after_kib" >"${out}/results.csv"
for entry in "${allocators[@]}"; do
  name=${entry%%=*}
  preload=${entry#*=}
  for w in "${workloads[@]}"; do
    read -r workload ops threads_list <<<"${w}"
    for threads in ${threads_list}; do
      # Best of `repeats` runs: the machines are shared and noisy.
      best=""
      for ((r = 0; r < repeats; ++r)); do
        line=$(run_workload "${preload}" "${workload}" "${threads}" "${ops}")
        read -r _ t wall rate rss before after <<<"${line}"
        # The resident figures come from the same run as the rest.
        if [[ -z ${best} ]] || awk "BEGIN{exit !(${rate} > ${best%% *})}"; then
          best="${rate} ${wall} ${rss} ${t} ${before} ${after}"
        fi
      done
      read -r rate wall rss t before after <<<"${best}"
      echo "${name},${workload},${t},${wall},${rate},${rss},${before},${after}" >>"${out}/results.csv"
      printf '%-17s %-18s %3s threads %12s ops/s %8s KiB, resident %6s -> %6s KiB\n' \
        "${name}" "${workload}" "${t}" "${rate}" "${rss}" "${before:--}" "${after:--}"
    done
  done
done

# Instructions per malloc/free pair: the difference between two run lengths
# cancels start-up and exit, so only the loop is counted.
echo "allocator,instructions_per_pair" >"${out}/callgrind.csv"
if command -v valgrind >/dev/null; then
  for entry in "${allocators[@]}"; do
    name=${entry%%=*}
    preload=${entry#*=}
    counts=()
    for pairs in 100000 200000; do
      file="${out}/callgrind.${name}.${pairs}"
      # callgrind does not replace malloc; LD_PRELOAD reaches the client.
      LD_PRELOAD="${preload}" valgrind --tool=callgrind \
        --callgrind-out-file="${file}" "${bench}" fastpath 1 "${pairs}" \
        >/dev/null 2>"${file}.log" || true
      counts+=("$(grep -m1 -E '^(summary|totals):' "${file}" | awk '{print $2}')")
      rm -f "${file}" "${file}.log"
    done
    per_pair=$(awk "BEGIN{printf \"%.1f\", (${counts[1]} - ${counts[0]}) / 100000}")
    echo "${name},${per_pair}" >>"${out}/callgrind.csv"
    echo "${name}: ${per_pair} instructions per malloc/free pair"
  done
fi

python3 tools/benchmark_report.py "${out}" >"${out}/report.md"
echo "report: ${out}/report.md, plot: ${out}/throughput.svg"
