# shellcheck shell=bash
# Sourced by the scripts in tools/ and by fuzz/build.sh: what they share.
# Sets `root` to the checkout and makes it the working directory.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}" || exit 1

# `ensure_deps`: tools/install_deps.sh, once per top-level command. The first
# script to run it exports RUSTY_MALLOC_DEPS_READY, so the scripts it starts
# skip it.
ensure_deps() {
  [[ -n ${RUSTY_MALLOC_DEPS_READY:-} ]] && return 0
  bash "${root}/tools/install_deps.sh" || return 1
  export RUSTY_MALLOC_DEPS_READY=1
}

# One Bazel disk cache for every config, script and the example workspace,
# so repeated configs and repeated runs cost little.
cache=(--disk_cache="${HOME}/.cache/rusty_malloc/disk")

# BAZEL_OUTPUT_BASE, if set, gives Bazel a separate output base, so that a
# script can run beside another Bazel server in the same checkout.
startup=()
if [[ -n ${BAZEL_OUTPUT_BASE:-} ]]; then
  startup=(--output_base="${BAZEL_OUTPUT_BASE}")
fi

# The buildifier tools/install_deps.sh installs (npm's @bazel/buildifier,
# which ships one binary per platform), for tools/check_lint.sh.
buildifier_binary() {
  local arch
  case $(uname -m) in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    *) arch=$(uname -m) ;;
  esac
  echo "${root}/.deps/buildifier/node_modules/@bazel/buildifier/buildifier-linux_${arch}"
}

# `repo_bazel COMMAND ARGS...`: bazel in this checkout, with the startup
# options above and, for the commands that take it, the disk cache.
repo_bazel() {
  local command=$1
  shift
  case ${command} in
    build | test | run | info | query | cquery | aquery | coverage)
      bazel "${startup[@]}" "${command}" "${cache[@]}" "$@"
      ;;
    *) bazel "${startup[@]}" "${command}" "$@" ;;
  esac
}

# `fuzz_harnesses ARRAY [concurrent]` sets ARRAY to the names of the fuzz
# harnesses: the fuzzers rusty_fuzz_test (bazel/fuzz.bzl) declares in
# fuzz/BUILD.bazel, the one list of them. With `concurrent`, only those
# tagged so, which are fuzzed under TSan too. Fails if it finds none.
fuzz_harnesses() {
  local -n fuzz_harnesses_out=$1
  local query='attr(generator_function, "^rusty_fuzz_test$", kind("cc_binary", //fuzz:all))'
  if [[ ${2:-} == concurrent ]]; then
    query="attr(tags, '\\bconcurrent\\b', ${query})"
  fi
  local labels
  if ! labels=$(repo_bazel query "${query}" 2>/dev/null) || [[ -z ${labels} ]]; then
    echo "no fuzz harnesses: see bazel query //fuzz:all" >&2
    return 1
  fi
  # shellcheck disable=SC2034  # a nameref: this sets the caller's array
  mapfile -t fuzz_harnesses_out < <(sort <<<"${labels//\/\/fuzz:/}")
}

# The libFuzzer flags in fuzz/<harness>.options (the file OSS-Fuzz reads
# too): `key = value` lines under [libfuzzer] become -key=value.
fuzz_flags() {
  local options="${root}/fuzz/$1.options"
  [[ -f ${options} ]] || return 0
  sed -n 's/^\([a-z_]*\) *= *\([^ ]*\) *$/-\1=\2/p' "${options}"
}

# A fuzzer built with TSan stops at its first race report, as one built
# with ASan stops at its first error, so libFuzzer saves the input at once
# (otherwise the run goes on, and a heap the race corrupted may hang it).
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1}"

# `instructions_per_pair BENCH PRELOAD WORKLOAD PAIRS`: prints the
# instructions one malloc/free pair of bench/alloc_bench's WORKLOAD costs
# under PRELOAD ("" for glibc's malloc), counted by callgrind: the
# difference between runs of PAIRS and 2 * PAIRS pairs cancels start-up,
# first touches and exit, so only the steady loop counts. Callgrind counts
# the same for the same binary and inputs whatever else the machine does.
# Fails (printing nothing) when a run does.
instructions_per_pair() {
  local bench=$1 preload=$2 workload=$3 pairs=$4
  local counts=() run_pairs file
  file=$(mktemp)
  for run_pairs in "${pairs}" $((2 * pairs)); do
    # callgrind does not replace malloc; LD_PRELOAD reaches the client.
    LD_PRELOAD="${preload}" valgrind --tool=callgrind \
      --callgrind-out-file="${file}" "${bench}" "${workload}" 1 \
      "${run_pairs}" >/dev/null 2>&1 || { rm -f "${file}"; return 1; }
    counts+=("$(grep -m1 -E '^(summary|totals):' "${file}" | awk '{print $2}')")
  done
  rm -f "${file}"
  [[ ${counts[0]} =~ ^[0-9]+$ && ${counts[1]} =~ ^[0-9]+$ ]] || return 1
  awk "BEGIN{printf \"%.1f\", (${counts[1]} - ${counts[0]}) / ${pairs}}"
}

# `fast_path_listing LIBRARY`: the compiled malloc, free, operator new and
# operator delete of LIBRARY, as objdump disassembles them, with what moves
# when unrelated code changes taken out: addresses, rip-relative offsets,
# large displacements (fields deep in the global heap object, placed by
# the layout of members the fast paths never read) and the padding after
# each function (nops, and zero bytes, which read as add %al,(%rax)). What is left are the instructions and the symbols they
# reach, which change when the fast paths' code does.
fast_path_listing() {
  local library=$1 symbol
  for symbol in malloc free _Znwm _ZdlPv; do
    echo "${symbol}:"
    objdump -d --no-show-raw-insn --no-addresses "${library}" 2>/dev/null |
      awk -v want="<${symbol}>:" '$0 == want {on = 1; next} on && /^$/ {exit} on' |
      sed -E -e 's/^[[:space:]]+//' \
        -e 's/-?0x[0-9a-f]+\(%rip\)/X(%rip)/g' \
        -e 's/0x[0-9a-f]{4,}\(/OFFSET(/g' \
        -e 's/[[:space:]]+#.*<([^>+]+)(\+0x[0-9a-f]+)?>$/  # \1/' \
        -e 's/^(j[a-z]+|call)[[:space:]]+[0-9a-f]+ </\1 </' |
      grep -vE '^(nop|data16|xchg +%ax,%ax|cs nop|add +%al,\(%rax\)$|\.\.\.)'
  done
}
