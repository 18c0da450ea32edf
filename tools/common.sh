# Sourced by the scripts in tools/: what they share.

# One Bazel disk cache for every config, script and the example workspace,
# so repeated configs and repeated runs cost little.
cache=(--disk_cache="${HOME}/.cache/rusty_malloc/disk")

# The libFuzzer flags in fuzz/<harness>.options (the file OSS-Fuzz reads
# too): `key = value` lines under [libfuzzer] become -key=value.
fuzz_flags() {
  local options
  options="$(dirname "${BASH_SOURCE[0]}")/../fuzz/$1.options"
  [[ -f ${options} ]] || return 0
  sed -n 's/^\([a-z_]*\) *= *\([^ ]*\) *$/-\1=\2/p' "${options}"
}

# A fuzzer built with TSan stops at its first race report, as one built
# with ASan stops at its first error, so libFuzzer saves the input at once
# (otherwise the run goes on, and a heap the race corrupted may hang it).
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1}"
