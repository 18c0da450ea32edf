#!/usr/bin/env bash
# The drop-in's sampled heap profile, end to end, preloaded and linked in:
# profile_program allocates 40, 20 and 10 MiB from three call sites (4 KiB,
# 1 KiB and 256-byte blocks) with RUSTY_MALLOC_HEAP_PROFILE set and a
# sample every 64 KiB on average. google-pprof --text must name each site
# with its in-use bytes within the tolerance of the truth: in the profile
# the program writes itself (rusty_malloc_dump_heap_profile), in the one
# its SIGUSR2 makes the drop-in write (RUSTY_MALLOC_HEAP_PROFILE_SIGNAL,
# PATH.0001), in the one written at exit after site B's blocks were freed
# (B gone), and in the peak profile written beside it (all three).
#
# A site of n blocks of s bytes, each sampled with probability
# p = 1 - exp(-s / 64 KiB), is estimated within a relative standard error
# of sqrt((1 - p) / (n p)): 3.9% for A, 5.6% for B, 7.9% for C. The
# tolerance, 35%, is 4.4 of the noisiest site's. Unpaced
# (RUSTY_MALLOC_SAMPLE_PACING=0): the program allocates 70 MiB in a few
# milliseconds, so pacing would stretch the interval after the first
# hundred samples and these errors would not hold.
# Usage: malloc_profile_test.sh LIBRUSTY_MALLOC_SO PROGRAM PROGRAM_LINKED
#        malloc_profile_test.sh --skip
set -uo pipefail

if [[ $1 == --skip ]]; then
  echo "skipped: the drop-in is not the process's malloc under a sanitizer"
  exit 0
fi
tolerance_percent=35
library=$(realpath "$1")
tmp=${TEST_TMPDIR:?run this through bazel test}
if ! pprof=$(command -v google-pprof); then
  echo "FAIL: google-pprof not found on PATH (${PATH}): it comes with" \
    "Debian's google-perftools package, which tools/install_deps.sh installs"
  exit 1
fi

failures=0
# check PROGRAM PROFILE SITE MIB: the in-use bytes pprof gives the function
# SITE, its own or with what it called (the sampled stacks start at the
# caller of malloc), lie within the tolerance of MIB MiB; 0 means none.
check() {
  local program=$1 profile=$2 site=$3 mib=$4 text bytes
  if ! text=$("${pprof}" --text --show_bytes "${program}" "${profile}" \
    2>"${tmp}/pprof.err"); then
    echo "FAIL ${profile}: google-pprof failed: $(cat "${tmp}/pprof.err")"
    failures=$((failures + 1))
    return
  fi
  bytes=$(awk -v site="${site}" '$6 == site {print $4}' <<<"${text}")
  if awk -v got="${bytes:-0}" -v want=$((mib << 20)) \
    -v tolerance="${tolerance_percent}" 'BEGIN {
      if (want == 0) exit !(got == 0)
      exit !(got >= want * (1 - tolerance / 100) &&
             got <= want * (1 + tolerance / 100))
    }'; then
    echo "ok   ${profile##*/}: ${site} ${bytes:-0} bytes, truth $((mib << 20))"
  else
    echo "FAIL ${profile##*/}: ${site} ${bytes:-none} bytes, truth" \
      "$((mib << 20)) (within ${tolerance_percent}%); pprof says:"
    head -12 <<<"${text}"
    failures=$((failures + 1))
  fi
}

# run HOW PROGRAM [ENV...]
run() {
  local how=$1 program
  program=$(realpath "$2")
  shift 2
  local out="${tmp}/${how}"
  rm -f "${out}".*
  if ! env RUSTY_MALLOC_SAMPLE_BYTES=64K RUSTY_MALLOC_SAMPLE_PACING=0 \
    RUSTY_MALLOC_HEAP_PROFILE_SIGNAL="$(kill -l USR2)" \
    RUSTY_MALLOC_HEAP_PROFILE="${out}.exit.heap" RUSTY_MALLOC_STATS=json "$@" \
    "${program}" "${out}.dump.heap" 2>"${out}.err"; then
    echo "FAIL ${how}: ${program} failed"
    cat "${out}.err"
    failures=$((failures + 1))
    return
  fi
  # The sampler's stats at exit: 70 MiB allocated at a 64 KiB mean are
  # 1,120 samples on average (a standard deviation of 33), none guarded,
  # and their time is part of the process's.
  if python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin if l.startswith("{\"sampler\"")]
assert len(lines) == 1, lines
s = lines[0]
assert 900 <= s["samples"] <= 1350 and s["guarded"] == 0, s
assert 0 < s["spent_ns"] < s["process_cpu_ns"], s
print(f"ok   sampler stats: {s}")
' <"${out}.err"; then :; else
    echo "FAIL ${how}: the sampler's stats:"
    cat "${out}.err"
    failures=$((failures + 1))
  fi
  check "${program}" "${out}.dump.heap" ProfileSiteA 40
  check "${program}" "${out}.dump.heap" ProfileSiteB 20
  check "${program}" "${out}.dump.heap" ProfileSiteC 10
  check "${program}" "${out}.exit.heap.0001" ProfileSiteA 40
  check "${program}" "${out}.exit.heap.0001" ProfileSiteB 20
  check "${program}" "${out}.exit.heap.0001" ProfileSiteC 10
  check "${program}" "${out}.exit.heap" ProfileSiteA 40
  check "${program}" "${out}.exit.heap" ProfileSiteB 0
  check "${program}" "${out}.exit.heap" ProfileSiteC 10
  check "${program}" "${out}.exit.heap.peak" ProfileSiteA 40
  check "${program}" "${out}.exit.heap.peak" ProfileSiteB 20
  check "${program}" "${out}.exit.heap.peak" ProfileSiteC 10
}

run preload "$2" LD_PRELOAD="${library}"
run linked "$3"
exit "${failures}"
