#!/usr/bin/env bash
# The allocator benchmark suite, one command: builds bench/alloc_bench and
# rusty_malloc's LD_PRELOAD libraries, runs every workload under glibc, the
# locked allocator, the per-thread allocator and, when installed, jemalloc,
# tcmalloc and mimalloc (all through LD_PRELOAD, all the same binary), counts
# instructions per malloc/free pair with callgrind (the fast path and the
# batches of 16, 256 and 1024 bytes), and writes a report. Also runs the
# standard workloads allocator people compare on, which
# bench/fetch_sources.sh builds from Debian's source packages:
# glibc's bench-malloc-simple and bench-malloc-thread, mimalloc's test-stress.
# Then the per-thread drop-in with sampling on against off, in alternate
# runs.
# A run that fails or crashes is reported (FAILED, and failures.csv) and the
# suite goes on.
#
# Usage: bench/run_suite.sh [output_dir]   (default: bench-out/)
# Then traces: python3, sqlite3 and g++ recorded here (RUSTY_MALLOC_TRACE,
# with what recording costs them) and replayed under every allocator.
# Output: results.csv, failures.csv, sampling.csv, sampling_runs.csv,
# callgrind.csv, trace_cost.csv, report.md,
# throughput.svg;
# the report's table of targets, met or not, also on standard output.
set -euo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tools/common.sh"
out=${1:-bench-out}
mkdir -p "${out}"
ensure_deps

repo_bazel build -c opt //bench:alloc_bench //bench:replay //tools:trace_dump \
  //allocator:librusty_malloc.so //allocator:librusty_malloc_locked.so \
  >"${out}/build.log" 2>&1 || { tail -n 30 "${out}/build.log"; exit 1; }
bin=$(repo_bazel info -c opt bazel-bin 2>/dev/null)
bench="${bin}/bench/alloc_bench"
replay_bin="${bin}/bench/replay"
lib=/usr/lib/x86_64-linux-gnu

# name=library ("" for glibc's own malloc)
allocators=("glibc=" "rusty_locked=${bin}/allocator/librusty_malloc_locked.so"
            "rusty_per_thread=${bin}/allocator/librusty_malloc.so"
            "rusty_sampled=${bin}/allocator/librusty_malloc.so")
for peer in "jemalloc=${lib}/libjemalloc.so.2" \
            "tcmalloc=${lib}/libtcmalloc_minimal.so.4" \
            "mimalloc=${lib}/libmimalloc.so.2"; do
  [[ -f ${peer#*=} ]] && allocators+=("${peer}")
done

# workload ops_per_thread threads...
# Long enough per thread (tens of milliseconds or more) that start-up and
# first-touch page faults do not dominate. A workload may have more than one
# line, with fewer operations per thread at higher thread counts, where the
# same number would make the slower allocators' runs last many seconds on a
# 2-core machine: larson is 0.2 to 0.8 s a run under glibc (and up to 10 s
# under the locked allocator, at 16 threads); large_loop at 4 and 16 threads
# 0.1 to 0.4 s under glibc, which keeps the blocks it freed, but 0.3 to 3 s
# under the allocators that return them and fault them in again. For
# prodcons_1n and prodcons_n1 the number is what their lone producer or
# consumer does, so a run takes about as long at any thread count (0.1 to
# 0.4 s under glibc from 2 threads; at 1 thread, a plain allocate-then-free
# loop, 0.06 s). These four add about 7 minutes to the suite. For the
# standard workloads the second field is: glibc_simple, the block size
# (bench-malloc-simple's own timing, about 0.2 s); glibc_thread, the seconds
# each run lasts; mimalloc_stress, about how many allocations each run makes
# in all (its iterations are chosen to match at every thread count: 1 to 2 s
# here). The batches' pairs are whole rounds of their 25/100/400/1600-block
# cycle (6400 pairs), about 0.3 s each under glibc.
workloads=(
  "vectors 40000 1 2 4 8 16"
  "producer_consumer 1000000 2 4 8 16"
  "mixed 1000000 1 2 4 8 16"
  "fastpath 20000000 1"
  "batch16 9600000 1"
  "batch256 5120000 1"
  "batch1024 1920000 1"
  "large_loop 300 1 2"
  "large_loop 40 4 16"
  "larson 10000000 1 2"
  "larson 2500000 4 16"
  "prodcons_1n 3000000 1 2 4 16"
  "prodcons_n1 3000000 1 2 4 16"
  "remote_then_other 4000000 1"
  "python 1 1"
  "glibc_simple 16 1"
  "glibc_thread 1 1 2 4 8 16"
  "mimalloc_stress 800000 1 4 16"
  "replay_python 0 1"
  "replay_sqlite 0 1"
  "replay_gcc 0 1"
)
all_workloads=("${workloads[@]}")
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

# The standard workloads' programs, built from Debian's source packages
# into a cache outside the tree, only when one of them is selected. If that
# fails, the suite says so and runs the rest.
standard_workloads="glibc_simple glibc_thread mimalloc_stress"
wanted=0
for w in "${workloads[@]}"; do
  [[ " ${standard_workloads} " == *" ${w%% *} "* ]] && wanted=1
done
if [[ ${wanted} -eq 1 ]]; then
  if programs=$(bash bench/fetch_sources.sh 2>"${out}/fetch.log"); then
    { read -r glibc_simple_bin; read -r glibc_thread_bin; read -r stress_bin; } <<<"${programs}"
  else
    tail -n 20 "${out}/fetch.log"
    echo "FAILED: bench/fetch_sources.sh (see ${out}/fetch.log); not running ${standard_workloads}"
    kept=()
    for w in "${workloads[@]}"; do
      [[ " ${standard_workloads} " == *" ${w%% *} "* ]] || kept+=("${w}")
    done
    workloads=("${kept[@]}")
  fi
fi

# The replay workloads' traces, recorded here from programs on this
# machine with the per-thread drop-in's RUSTY_MALLOC_TRACE (never
# committed): Debian's python3 on a threaded script (202 threads handing
# objects to one), sqlite3 on the preload test's inserts, index build and
# queries, and g++ compiling bench/alloc_bench.cc (cc1plus's trace, the
# largest of the processes g++ starts). Each program also runs with
# recording off and on in alternate runs, three of each, into
# trace_cost.csv: what recording costs (the least wall time of each).
# bench/replay replays a trace with one thread per recorded thread and
# checks every block's contents; its rate is calls a second, and its
# memory figure what the replay added to resident memory at its peak
# (the trace it holds is left out).
# run_traced NAME PRELOAD TRACE: runs NAME's program preloaded, recording
# to TRACE unless it is empty.
run_traced() {
  local -a command
  case $1 in
    python) command=(/usr/bin/python3 tests/workloads/producer_consumer.py) ;;
    sqlite) command=(/usr/bin/sqlite3 -batch :memory:
                     ".read tests/workloads/sqlite_workload.sql") ;;
    gcc) command=(g++ -std=c++20 -O2 -c bench/alloc_bench.cc -o /dev/null) ;;
  esac
  if [[ -n $3 ]]; then
    env RUSTY_MALLOC_TRACE="$3" LD_PRELOAD="$2" "${command[@]}" >/dev/null 2>&1
  else
    env LD_PRELOAD="$2" "${command[@]}" >/dev/null 2>&1
  fi
}
traces=${out}/traces
record_traces() {
  local name mode start end largest
  local per_thread=${bin}/allocator/librusty_malloc.so
  rm -rf "${traces}" && mkdir -p "${traces}"
  echo "program,off_s,on_s,on_over_off,trace_bytes,records,threads" >"${out}/trace_cost.csv"
  for name in python sqlite gcc; do
    local best_off="" best_on="" t
    for _ in 1 2 3; do
      for mode in off on; do
        rm -rf "${traces}/${name}.d" && mkdir -p "${traces}/${name}.d"
        start=${EPOCHREALTIME}
        run_traced "${name}" "${per_thread}" \
          "$([[ ${mode} == on ]] && echo "${traces}/${name}.d/t.%p")" ||
          { echo "FAILED: ${name} (recording ${mode})"; return 1; }
        end=${EPOCHREALTIME}
        t=$(awk "BEGIN{printf \"%.4f\", ${end} - ${start}}")
        if [[ ${mode} == on ]]; then
          [[ -z ${best_on} ]] || awk "BEGIN{exit !(${t} < ${best_on})}" && best_on=${t}
        else
          [[ -z ${best_off} ]] || awk "BEGIN{exit !(${t} < ${best_off})}" && best_off=${t}
        fi
      done
    done
    # The process that allocated most: python3 and sqlite3 themselves, and
    # g++'s cc1plus.
    largest=$(find "${traces}/${name}.d" -name 't.*' -printf '%s %p\n' |
      sort -rn | head -n 1 | cut -d' ' -f2-)
    mv "${largest}" "${traces}/${name}.trace"
    rm -rf "${traces}/${name}.d"
    local summary bytes records threads
    summary=$("${bin}/tools/trace_dump" --summary "${traces}/${name}.trace") ||
      { echo "FAILED: the ${name} trace does not parse"; return 1; }
    bytes=$(stat -c %s "${traces}/${name}.trace")
    records=$(sed -E 's/.*records=([0-9]+).*/\1/' <<<"${summary}")
    threads=$(sed -E 's/.*threads=([0-9]+).*/\1/' <<<"${summary}")
    echo "${name},${best_off},${best_on},$(awk "BEGIN{printf \"%.3f\", ${best_on} / ${best_off}}"),${bytes},${records},${threads}" \
      >>"${out}/trace_cost.csv"
    printf 'recorded %-7s %9s records, %3s threads, %6s KiB; recording costs %.2fx (%s s against %s s)\n' \
      "${name}" "${records}" "${threads}" $((bytes / 1024)) \
      "$(awk "BEGIN{print ${best_on} / ${best_off}}")" "${best_on}" "${best_off}"
  done
}
# What recording costs alloc_bench's workloads, every one even under
# BENCH_ONLY (a tenth of their
# operations, at their first thread count; the trace goes to a file that is
# removed after each run): the best of three rates alloc_bench reports
# (its timed loop only) with recording off and on, in alternate runs, into
# trace_cost.csv beside the programs' (there as rates, not seconds).
recording_cost() {
  local w workload ops threads_list threads mode rate
  local per_thread=${bin}/allocator/librusty_malloc.so
  for w in "${all_workloads[@]}"; do
    read -r workload ops threads_list <<<"${w}"
    [[ ${workload} == replay_* || ${workload} == python ||
       " ${standard_workloads} " == *" ${workload} "* ]] && continue
    threads=${threads_list%% *}
    ops=$(((ops + 9) / 10))
    local best_off="" best_on="" bytes=0
    for _ in 1 2 3; do
      for mode in off on; do
        rm -f "${traces}/cost.trace"
        local -a recording=()
        [[ ${mode} == on ]] && recording=(RUSTY_MALLOC_TRACE="${traces}/cost.trace")
        rate=$(env "${recording[@]}" LD_PRELOAD="${per_thread}" \
          "${bench}" "${workload}" "${threads}" "${ops}" 2>/dev/null |
          awk '{print $4}') || return 1
        [[ ${rate} =~ ^[0-9]+([.][0-9]*)?$ ]] || return 1
        if [[ ${mode} == on ]]; then
          bytes=$(stat -c %s "${traces}/cost.trace")
          [[ -z ${best_on} ]] || awk "BEGIN{exit !(${rate} > ${best_on})}" && best_on=${rate}
        else
          [[ -z ${best_off} ]] || awk "BEGIN{exit !(${rate} > ${best_off})}" && best_off=${rate}
        fi
      done
    done
    echo "${workload}_${threads},${best_off},${best_on},$(awk "BEGIN{printf \"%.3f\", ${best_off} / ${best_on}}"),${bytes},," \
      >>"${out}/trace_cost.csv"
    printf 'recording costs %-18s %3s threads %.2fx (%s against %s ops/s)\n' \
      "${workload}" "${threads}" "$(awk "BEGIN{print ${best_off} / ${best_on}}")" \
      "${best_on}" "${best_off}"
  done
  rm -f "${traces}/cost.trace"
}
wanted=0
for w in "${workloads[@]}"; do
  [[ ${w%% *} == replay_* ]] && wanted=1
done
if [[ ${wanted} -eq 1 ]] && ! record_traces; then
  echo "FAILED: recording the replay workloads' traces; not running them"
  kept=()
  for w in "${workloads[@]}"; do
    [[ ${w%% *} == replay_* ]] || kept+=("${w}")
  done
  workloads=("${kept[@]}")
fi
mkdir -p "${traces}"
[[ -f ${out}/trace_cost.csv ]] ||
  echo "program,off_s,on_s,on_over_off,trace_bytes,records,threads" >"${out}/trace_cost.csv"
recording_cost || echo "FAILED: measuring what recording costs alloc_bench"

# timed OUTPUT PRELOAD COMMAND...: runs COMMAND under LD_PRELOAD=PRELOAD and
# /usr/bin/time (not itself preloaded), COMMAND's standard output into OUTPUT,
# and prints "WALL_SECONDS PEAK_RSS_KIB" (the wall time to 0.1 ms rather than
# time's 10 ms). If COMMAND fails or is killed, says how on standard error,
# with the end of its standard error, and fails.
timed() {
  local output=$1 preload=$2 timing status=0 start end
  shift 2
  timing=$(mktemp)
  start=${EPOCHREALTIME}
  /usr/bin/time -o "${timing}" -f "%M" env LD_PRELOAD="${preload}" "$@" \
    >"${output}" 2>"${output}.err" || status=$?
  end=${EPOCHREALTIME}
  if [[ ${status} -eq 0 ]]; then
    awk "BEGIN{printf \"%.4f %d\\n\", ${end} - ${start}, $(tail -n 1 "${timing}")}"
  else
    # time writes "Command terminated by signal N" or "Command exited with
    # non-zero status N" before its own line.
    echo "  $(head -n 1 "${timing}"): $*" >&2
    tail -n 5 "${output}.err" | sed 's/^/  | /' >&2
  fi
  # The sampler's line (RUSTY_MALLOC_STATS=json), for run_once.
  grep -h '^{"sampler"' "${output}.err" >&2 || true
  rm -f "${timing}" "${output}.err"
  return "${status}"
}

# glibc_rate simple|thread JSON_FILE: operations per second from a glibc
# benchtest's JSON (clock_gettime nanoseconds, see the shim in
# bench/fetch_sources.sh). simple: malloc/free pairs per second over
# bench-malloc-simple's 12 cases (each of 200000 pairs, so this is the mean of
# their times per pair). thread: iterations (a free and a malloc) per second
# over all threads ("duration" adds up the threads' times, "iterations" their
# counts).
glibc_rate() {
  python3 - "$1" "$2" <<'PY'
import json, sys
kind, path = sys.argv[1], sys.argv[2]
with open(path) as f:
    r = json.load(f)["functions"]["malloc"][""]
if kind == "simple":
    times = [v for k, v in r.items() if k.endswith("_time")]
    print(f"{1e9 * len(times) / sum(times):.0f}")
else:
    print(f"{1e9 * r['threads'] * r['iterations'] / r['duration']:.0f}")
PY
}

# mimalloc's test-stress at a fixed scale: each of its iterations starts
# THREADS threads, thread i making 150 * scale * (i % 8 + 1) allocations
# (fetch_sources.sh checks the lines this comes from), and joins
# them.
stress_scale=25
stress_allocations_per_iteration() {
  local threads=$1 units=0 i
  for ((i = 0; i < threads; ++i)); do units=$((units + i % 8 + 1)); done
  echo $((150 * stress_scale * units))
}

# describe_status STATUS: "exited with status N" or "killed by signal N (NAME)".
describe_status() {
  if (($1 > 128)); then
    echo "killed by signal $(($1 - 128)) (SIG$(kill -l $(($1 - 128)) 2>/dev/null))"
  else
    echo "exited with status $1"
  fi
}

# Runs one workload once under LD_PRELOAD=$1 and prints alloc_bench's line:
# WORKLOAD THREADS WALL_SECONDS OPS_PER_SECOND PEAK_RSS_KIB
# RESIDENT_BEFORE_KIB RESIDENT_AFTER_KIB (anonymous resident memory before
# the workload and after it freed everything, past the purge delay; see
# bench/alloc_bench.cc). "python" is Debian's python3 on
# tests/workloads/alloc_heavy.py (one run per second), and the standard
# workloads are glibc's and mimalloc's programs (operations per second as
# glibc_rate and stress_allocations_per_iteration say), all without the last
# two, with wall time and peak RSS from /usr/bin/time. Fails, saying why on
# standard error, if the program fails or crashes.
run_workload() {
  local preload=$1 workload=$2 threads=$3 ops=$4
  local output timing wall rss rate status=0
  output=$(mktemp)
  case ${workload} in
    python)
      timing=$(timed "${output}" "${preload}" \
        python3 tests/workloads/alloc_heavy.py) || status=1
      [[ ${status} -eq 0 ]] && read -r wall rss <<<"${timing}" &&
        rate=$(awk "BEGIN{printf \"%.3f\", 1 / ${wall}}")
      ;;
    replay_*)
      # The replayer's own figures: calls a second, and the resident memory
      # the replay added at its peak.
      timing=$(timed "${output}" "${preload}" "${replay_bin}" --json \
        "${traces}/${workload#replay_}.trace") || status=1
      if [[ ${status} -eq 0 ]]; then
        read -r rate rss < <(python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
print(r["ops_per_second"], r["replay_peak_added_kib"])' "${output}") || status=1
      fi
      ;;
    glibc_simple)
      timing=$(timed "${output}" "${preload}" "${glibc_simple_bin}" "${ops}") &&
        rate=$(glibc_rate simple "${output}") || status=1
      ;;
    glibc_thread)
      timing=$(BENCHMARK_DURATION=${ops} timed "${output}" "${preload}" \
        "${glibc_thread_bin}" "${threads}") &&
        rate=$(glibc_rate thread "${output}") || status=1
      ;;
    mimalloc_stress)
      local per_iteration iterations
      per_iteration=$(stress_allocations_per_iteration "${threads}")
      iterations=$(((ops + per_iteration / 2) / per_iteration))
      ((iterations > 0)) || iterations=1
      timing=$(timed "${output}" "${preload}" \
        "${stress_bin}" "${threads}" "${stress_scale}" "${iterations}") || status=1
      [[ ${status} -eq 0 ]] && read -r wall rss <<<"${timing}" &&
        rate=$(awk "BEGIN{printf \"%.0f\", ${iterations} * ${per_iteration} / ${wall}}")
      ;;
    *)
      rm -f "${output}"
      LD_PRELOAD="${preload}" "${bench}" "${workload}" "${threads}" "${ops}" ||
        { status=$?; echo "  alloc_bench $(describe_status "${status}")" >&2; return 1; }
      return 0
      ;;
  esac
  rm -f "${output}"
  [[ ${status} -eq 0 && -n ${rate:-} ]] || return 1
  # A replay's memory figure is its own (set above).
  if [[ ${workload} == replay_* ]]; then
    read -r wall _ <<<"${timing}"
  else
    read -r wall rss <<<"${timing}"
  fi
  echo "${workload} ${threads} ${wall} ${rate} ${rss}"
}

repeats=${BENCH_REPEATS:-3}
# The sampler's cost is a few percent at most, below the run-to-run noise of
# a shared 2-core machine (5 to 10% between runs of one allocator minutes
# apart), so sampling on and off are measured in alternate runs, more of
# them.
sampling_repeats=${BENCH_SAMPLING_REPEATS:-5}

# rusty_sampled is the per-thread drop-in with the sampler on at its
# defaults (a sample every 2 MiB on average, paced to 1/256 of a thread's
# CPU time), every sample guarded and recorded in the heap profile, which
# is written at exit into ${out}; it also reports what its samples cost
# (RUSTY_MALLOC_STATS=json). rusty_control is rusty_per_thread again: the
# sampling phase runs it too, so that the report shows how far two sets of
# runs of one build differ on this machine.
use_allocator() {
  if [[ $1 == rusty_sampled ]]; then
    export RUSTY_MALLOC_GUARDED_SAMPLE_RATE=1
    export RUSTY_MALLOC_HEAP_PROFILE="${out}/sampled.heap"
    export RUSTY_MALLOC_STATS=json
  else
    unset RUSTY_MALLOC_GUARDED_SAMPLE_RATE RUSTY_MALLOC_HEAP_PROFILE RUSTY_MALLOC_STATS
  fi
}

echo "allocator,workload,threads,wall_s,ops_per_s,peak_rss_kib,resident_before_kib,resident_after_kib" >"${out}/results.csv"
echo "allocator,workload,threads,failed_runs,runs" >"${out}/failures.csv"
echo "allocator,workload,threads,ops_per_s,least_peak_rss_kib,runs,most_sampler_cpu_share" >"${out}/sampling.csv"
number='^[0-9]+([.][0-9]*)?$'

# One workload's runs: best[NAME] is the fastest run's "RATE WALL RSS
# THREADS BEFORE AFTER" (the resident figures from that same run),
# least_rss[NAME] the least peak RSS of any run, failed[NAME] the runs that
# failed or crashed, which are reported and left out, and most_share[NAME]
# the largest share of its CPU time that a run's sampler reported spending.
declare -A best least_rss failed most_share
reset_runs() {
  best=() least_rss=() failed=() most_share=()
}
# run_once NAME PRELOAD WORKLOAD THREADS OPS RUN RUNS
run_once() {
  local name=$1 preload=$2 workload=$3 threads=$4 ops=$5 line t wall rate rss before after
  local errors share
  use_allocator "${name}"
  errors=$(mktemp)
  if ! line=$(run_workload "${preload}" "${workload}" "${threads}" "${ops}" 2>"${errors}"); then
    line=""
  fi
  # Every process prints its own line (python's children too): their
  # sampling time against their CPU time, together.
  share=$(python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{\"sampler\"")]
if lines:
    print(sum(s["spent_ns"] for s in lines) /
          max(sum(s["process_cpu_ns"] for s in lines), 1))
' "${errors}")
  grep -v '^{"sampler"\|^{"allocator": "rusty_malloc"' "${errors}" >&2 || true
  rm -f "${errors}"
  if [[ -n ${share} ]]; then
    if [[ -z ${most_share[${name}]:-} ]] ||
      awk "BEGIN{exit !(${share} > ${most_share[${name}]})}"; then
      most_share[${name}]=${share}
    fi
  fi
  read -r _ t wall rate rss before after <<<"${line}"
  if [[ ! ${rate:-} =~ ${number} || ! ${rss:-} =~ ${number} ]]; then
    echo "FAILED: ${name} ${workload}, ${threads} threads (run $6 of $7)${line:+: printed \"${line}\"}"
    failed[${name}]=$((${failed[${name}]:-0} + 1))
    return
  fi
  if [[ -n ${runs_csv:-} ]]; then
    echo "${name},${workload},${threads},$6,${rate},${rss},${share}" >>"${runs_csv}"
  fi
  if [[ -z ${best[${name}]:-} ]] || awk "BEGIN{exit !(${rate} > ${best[${name}]%% *})}"; then
    best[${name}]="${rate} ${wall} ${rss} ${t} ${before} ${after}"
  fi
  if [[ -z ${least_rss[${name}]:-} ]] || ((rss < least_rss[${name}])); then
    least_rss[${name}]=${rss}
  fi
}
# record NAME WORKLOAD THREADS RUNS: the best run into results.csv (and its
# failures into failures.csv), and a line on standard output.
record() {
  local name=$1 workload=$2 threads=$3 runs=$4 rate wall rss t before after
  local failures=${failed[${name}]:-0}
  if ((failures > 0)); then
    echo "${name},${workload},${threads},${failures},${runs}" >>"${out}/failures.csv"
  fi
  if [[ -z ${best[${name}]:-} ]]; then
    printf '%-17s %-18s %3s threads       FAILED (all %d runs)\n' \
      "${name}" "${workload}" "${threads}" "${runs}"
    return
  fi
  read -r rate wall rss t before after <<<"${best[${name}]}"
  echo "${name},${workload},${t},${wall},${rate},${rss},${before},${after}" >>"${out}/results.csv"
  printf '%-17s %-18s %3s threads %12s ops/s %8s KiB, resident %6s -> %6s KiB%s\n' \
    "${name}" "${workload}" "${t}" "${rate}" "${rss}" "${before:--}" "${after:--}" \
    "$( ((failures == 0)) || echo " (${failures} of ${runs} runs FAILED)")"
}

# Every allocator but rusty_sampled, best of `repeats` runs: the machines
# are shared and noisy.
for entry in "${allocators[@]}"; do
  name=${entry%%=*}
  preload=${entry#*=}
  [[ ${name} == rusty_sampled ]] && continue
  for w in "${workloads[@]}"; do
    read -r workload ops threads_list <<<"${w}"
    for threads in ${threads_list}; do
      reset_runs
      for ((r = 1; r <= repeats; ++r)); do
        run_once "${name}" "${preload}" "${workload}" "${threads}" "${ops}" "${r}" "${repeats}"
      done
      record "${name}" "${workload}" "${threads}" "${repeats}"
    done
  done
done

# Sampling on against off: the per-thread drop-in without options, as
# rusty_sampled and as rusty_control, in alternate runs, into sampling.csv
# (best rate, least peak RSS of any run, and the largest share of its CPU
# time that a run's sampler spent). alloc_bench's workloads run sampling_scale times
# their operations here: at the main loop's counts the per-thread runs last
# 10 to 100 ms, where a few milliseconds of noise are several percent.
sampling_scale=${BENCH_SAMPLING_SCALE:-4}
per_thread_lib=${bin}/allocator/librusty_malloc.so
# Every run of the phase too, round by round, for the report's median of
# the ratios between runs of one round: a burst of noise on this machine
# slows a few runs in a row, and a ratio within a round cancels the slow
# drifts.
runs_csv=${out}/sampling_runs.csv
echo "allocator,workload,threads,round,ops_per_s,peak_rss_kib,sampler_cpu_share" >"${runs_csv}"
for w in "${workloads[@]}"; do
  read -r workload ops threads_list <<<"${w}"
  if [[ " ${standard_workloads} python " != *" ${workload} "* ]]; then
    ops=$((ops * sampling_scale))
  fi
  for threads in ${threads_list}; do
    reset_runs
    for ((r = 1; r <= sampling_repeats; ++r)); do
      for name in rusty_per_thread rusty_sampled rusty_control; do
        run_once "${name}" "${per_thread_lib}" "${workload}" "${threads}" "${ops}" \
          "${r}" "${sampling_repeats}"
      done
    done
    line="${workload} ${threads} threads, sampling off and on:"
    for name in rusty_per_thread rusty_sampled rusty_control; do
      if ((${failed[${name}]:-0} > 0)); then
        echo "${name},${workload},${threads},${failed[${name}]},${sampling_repeats}" \
          >>"${out}/failures.csv"
      fi
      if [[ -n ${best[${name}]:-} ]]; then
        echo "${name},${workload},${threads},${best[${name}]%% *},${least_rss[${name}]},${sampling_repeats},${most_share[${name}]:-}" \
          >>"${out}/sampling.csv"
        line+=" ${best[${name}]%% *} ops/s ${least_rss[${name}]} KiB;"
      else
        line+=" FAILED (all ${sampling_repeats} runs);"
      fi
    done
    echo "${line%;}"
  done
done
runs_csv=""
use_allocator none

# Instructions per malloc/free pair, for the workloads that are nothing but
# pairs: the difference between two run lengths cancels start-up, first
# touches and exit, so only the steady loop is counted. Both lengths are
# whole rounds of the batch cycle. Each run takes 1.5 to 2 s under
# valgrind, mostly alloc_bench's wait for the resident-memory figure, which
# costs no instructions.
echo "allocator,workload,instructions_per_pair" >"${out}/callgrind.csv"
if command -v valgrind >/dev/null; then
  pairs=128000
  for entry in "${allocators[@]}"; do
    name=${entry%%=*}
    preload=${entry#*=}
    use_allocator "${name}"
    for workload in fastpath batch16 batch256 batch1024; do
      if ! per_pair=$(instructions_per_pair "${bench}" "${preload}" \
                        "${workload}" "${pairs}"); then
        echo "FAILED: callgrind, ${name} ${workload}"
        continue
      fi
      echo "${name},${workload},${per_pair}" >>"${out}/callgrind.csv"
      printf '%-17s %-18s %8s instructions per malloc/free pair\n' \
        "${name}" "${workload}" "${per_pair}"
    done
  done
fi

use_allocator none

python3 bench/benchmark_report.py "${out}" >"${out}/report.md"
echo
python3 bench/benchmark_report.py --targets "${out}"
echo "report: ${out}/report.md, plot: ${out}/throughput.svg"
