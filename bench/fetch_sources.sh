#!/usr/bin/env bash
# The standard workloads allocator people compare on, built at run time from
# Debian's source packages (nothing of theirs is kept in this repository):
# glibc's benchtests/bench-malloc-simple.c and bench-malloc-thread.c (from the
# glibc-source package's tarball) and mimalloc's test/test-stress.c (from
# `apt-get source mimalloc`). Extracts only the files they need into a cache
# outside the tree and compiles three standalone programs with gcc -O2 that
# call plain libc malloc, so that LD_PRELOAD swaps the allocator.
# Idempotent: a second run reuses the sources and binaries.
#
# Usage: bench/fetch_sources.sh
# Prints the three binaries' paths, one a line, in this order:
#   bench-malloc-simple   glibc; argument: block size; prints JSON, ns per
#                         malloc/free pair in 12 scenarios
#   bench-malloc-thread   glibc; argument: threads; runs $BENCHMARK_DURATION
#                         seconds (10 unless set); prints JSON
#   test-stress           mimalloc; arguments: threads, scale, iterations;
#                         prints no timing of its own
# The cache is ${XDG_CACHE_HOME:-~/.cache}/rusty_malloc/bench-src unless
# BENCH_SRC_CACHE names another.
set -euo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tools/common.sh"
script="${root}/bench/fetch_sources.sh"
src_cache=${BENCH_SRC_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/rusty_malloc/bench-src}
mkdir -p "${src_cache}"

# glibc-source, dpkg-dev (dpkg-source) and the deb-src entry.
ensure_deps

say() { echo "fetch_benchmark_sources: $*" >&2; }

# --- glibc's benchtests, from /usr/src/glibc/glibc-VERSION.tar.xz ---------
# bench-malloc-{simple,thread}.c include only system headers, json-lib.h
# (json-lib.c is its code) and bench-timing.h, which needs glibc's internal
# hp-timing.h: the build below supplies its own bench-timing.h instead.
glibc_tar=$(find /usr/src/glibc -maxdepth 1 -name 'glibc-*.tar.xz' | sort -V | tail -n1)
if [[ -z ${glibc_tar} ]]; then
  say "no /usr/src/glibc/glibc-*.tar.xz: is glibc-source installed?"
  exit 1
fi
glibc_version=$(basename "${glibc_tar}" .tar.xz)
glibc_files=(bench-malloc-simple.c bench-malloc-thread.c json-lib.h json-lib.c)
glibc_dir="${src_cache}/${glibc_version}/benchtests"
have_all=1
for f in "${glibc_files[@]}"; do [[ -f ${glibc_dir}/${f} ]] || have_all=0; done
if [[ ${have_all} -eq 0 ]]; then
  say "extracting ${glibc_files[*]} from ${glibc_tar}"
  tmp=$(mktemp -d "${src_cache}/tmp.XXXXXX")
  tar -xJf "${glibc_tar}" -C "${tmp}" \
    "${glibc_files[@]/#/${glibc_version}/benchtests/}"
  rm -rf "${src_cache:?}/${glibc_version}"
  mv "${tmp}/${glibc_version}" "${src_cache}/"
  rm -rf "${tmp}"
fi

# --- mimalloc's test/test-stress.c, from Debian's source package -----------
stress_src=$(find "${src_cache}" -maxdepth 3 -path '*/mimalloc-*/test/test-stress.c' | sort -V | tail -n1)
if [[ -z ${stress_src} ]]; then
  say "apt-get source mimalloc"
  tmp=$(mktemp -d "${src_cache}/tmp.XXXXXX")
  # Source packages need the deb-src entry install_deps.sh writes, and
  # package lists that know it: on failure, update them once and retry.
  if ! (cd "${tmp}" && apt-get source -qq mimalloc >"${tmp}.log" 2>&1); then
    if [[ $(id -u) -eq 0 ]]; then apt-get update -qq; else sudo apt-get update -qq; fi
    if ! (cd "${tmp}" && apt-get source -qq mimalloc >"${tmp}.log" 2>&1); then
      cat "${tmp}.log" >&2
      say "apt-get source mimalloc failed (is there a deb-src entry? see tools/install_deps.sh)"
      exit 1
    fi
  fi
  unpacked=$(find "${tmp}" -maxdepth 1 -mindepth 1 -type d -name 'mimalloc-*' | head -n1)
  [[ -f ${unpacked}/test/test-stress.c ]] || { say "no test/test-stress.c in ${unpacked}"; exit 1; }
  # Keep only the one file (and the license it is under).
  name=$(basename "${unpacked}")
  mkdir -p "${src_cache}/${name}/test"
  cp "${unpacked}/test/test-stress.c" "${src_cache}/${name}/test/"
  cp "${unpacked}/LICENSE" "${src_cache}/${name}/" 2>/dev/null || true
  rm -rf "${tmp}" "${tmp}.log"
  stress_src="${src_cache}/${name}/test/test-stress.c"
fi

# --- build ------------------------------------------------------------------
build="${src_cache}/build"
bin="${src_cache}/bin"
mkdir -p "${build}" "${bin}"

# Our stand-in for glibc's benchtests/bench-timing.h: TIMING_* over
# clock_gettime (CLOCK_MONOTONIC), in nanoseconds, as glibc's own
# USE_CLOCK_GETTIME variant; and bench-malloc-thread's duration, read from
# $BENCHMARK_DURATION at run time (the build below points its
# BENCHMARK_DURATION at bench_duration_seconds ()).
cat >"${build}/bench-timing.h.new" <<'SHIM'
/* Written by rusty_malloc's bench/fetch_sources.sh. */
#ifndef RUSTY_BENCH_TIMING_H
#define RUSTY_BENCH_TIMING_H
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
typedef uint64_t timing_t;
#define TIMING_TYPE "clock_gettime"
#define TIMING_NOW(var)                                                \
  do {                                                                 \
    struct timespec now_;                                              \
    clock_gettime (CLOCK_MONOTONIC, &now_);                            \
    (var) = (uint64_t) now_.tv_sec * 1000000000u + (uint64_t) now_.tv_nsec; \
  } while (0)
#define TIMING_DIFF(diff, start, end) ((diff) = (end) - (start))
#define TIMING_ACCUM(sum, diff) ((sum) += (diff))
static inline unsigned int
bench_duration_seconds (void)
{
  const char *s = getenv ("BENCHMARK_DURATION");
  long v = s ? strtol (s, NULL, 10) : 0;
  return v > 0 ? (unsigned int) v : 10;
}
#endif
SHIM
if cmp -s "${build}/bench-timing.h.new" "${build}/bench-timing.h"; then
  rm "${build}/bench-timing.h.new"
else
  mv "${build}/bench-timing.h.new" "${build}/bench-timing.h"
fi

# bench-malloc-thread.c fixes its duration at 10 s; the copy built reads it
# at run time instead. Fails if the line is not there to change.
thread_src="${build}/bench-malloc-thread.c"
if [[ ! -f ${thread_src} || ${glibc_dir}/bench-malloc-thread.c -nt ${thread_src} ]]; then
  sed 's/^#define BENCHMARK_DURATION\b.*/#define BENCHMARK_DURATION bench_duration_seconds ()/' \
    "${glibc_dir}/bench-malloc-thread.c" >"${thread_src}.new"
  if ! grep -q '^#define BENCHMARK_DURATION bench_duration_seconds ()' "${thread_src}.new"; then
    say "no '#define BENCHMARK_DURATION' in ${glibc_dir}/bench-malloc-thread.c"
    exit 1
  fi
  mv "${thread_src}.new" "${thread_src}"
fi

# run_suite.sh counts test-stress's allocations from these two lines
# (150 * SCALE * (tid % 8 + 1) per thread and iteration): fail if they change.
for line in 'size_t allocs = 100 \* ((size_t)SCALE) \* (tid % 8 + 1);' \
            'size_t retain = allocs / 2;'; do
  grep -q "${line}" "${stress_src}" ||
    { say "${stress_src} no longer has '${line}': check run_suite.sh"; exit 1; }
done

# compile OUTPUT SOURCES... -- FLAGS...: when OUTPUT is missing or older than
# a source, the shim or this script.
compile() {
  local out=$1
  shift
  local sources=()
  while [[ $1 != -- ]]; do sources+=("$1"); shift; done
  shift
  local stale=0
  [[ -x ${out} ]] || stale=1
  for s in "${sources[@]}" "${build}/bench-timing.h" "${script}"; do
    [[ ${s} -nt ${out} ]] && stale=1
  done
  [[ ${stale} -eq 1 ]] || return 0
  say "gcc -O2 -> ${out}"
  # The shim's directory comes first; the cached benchtests hold no
  # bench-timing.h, so only the shim answers that include.
  gcc -O2 -g -pthread -I"${build}" -I"${glibc_dir}" -o "${out}.new" \
    "${sources[@]}" "$@" -lm 2>"${out}.log" || { cat "${out}.log" >&2; exit 1; }
  mv "${out}.new" "${out}"
}
compile "${bin}/bench-malloc-simple" \
  "${glibc_dir}/bench-malloc-simple.c" "${glibc_dir}/json-lib.c" --
compile "${bin}/bench-malloc-thread" "${thread_src}" "${glibc_dir}/json-lib.c" --
# USE_STD_MALLOC: malloc/realloc/free rather than mimalloc's own API.
# NDEBUG: no progress lines.
compile "${bin}/test-stress" "${stress_src}" -- -DUSE_STD_MALLOC -DNDEBUG

say "sources: ${glibc_dir}, ${stress_src}"
echo "${bin}/bench-malloc-simple"
echo "${bin}/bench-malloc-thread"
echo "${bin}/test-stress"
