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
