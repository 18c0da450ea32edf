#!/usr/bin/env bash
# The lint gates: clang-format on every C/C++ file, shellcheck on every
# shell script, buildifier (formatting and lint warnings) on every Bazel
# file, and clang-tidy (the checks .clang-tidy names, and why) on the
# allocator's own sources: each .cc under allocator/ and growers/, with the
# headers of those packages it includes (so templates are checked where a
# source instantiates them). third_party/ is exempt: offline stand-ins for other projects' rule
# repositories, kept in their upstream shape. Prints every finding; exits
# non-zero if any gate has one.
set -uo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "${root}" || exit 1
ensure_deps || exit 1

ours() { git ls-files "$@" | grep -v '^third_party/'; }

failed=0
gate() {
  local name=$1
  shift
  if "$@"; then
    echo "lint: ${name}: clean"
  else
    echo "lint: ${name}: FINDINGS above"
    failed=1
  fi
}

mapfile -t sources < <(ours '*.h' '*.cc' '*.c')
gate "clang-format (${#sources[@]} files)" \
  clang-format --dry-run -Werror "${sources[@]}"

mapfile -t scripts < <(ours '*.sh' .ci/run)
gate "shellcheck (${#scripts[@]} scripts)" shellcheck -x "${scripts[@]}"

mapfile -t bazel_files < <(ours '*BUILD.bazel' '*.bzl' WORKSPACE \
  WORKSPACE.bzlmod MODULE.bazel)
gate "buildifier (${#bazel_files[@]} files)" \
  "$(buildifier_binary)" -lint=warn -mode=check "${bazel_files[@]}"

# The flags the build gives our sources, without Bazel: Abseil is the only
# dependency the allocator's code includes (tools/install_deps.sh unpacks it).
# shellcheck disable=SC2317  # called through gate
tidy() {
  printf '%s\0' "$@" | xargs -0 -P "$(nproc)" -I{} \
    clang-tidy-14 --quiet {} -- -std=c++20 -I. -isystem .deps/abseil-cpp \
    2>/dev/null | grep -E -A3 '(warning|error):'
  # grep finds nothing when every file is clean.
  [[ ${PIPESTATUS[2]} -eq 1 ]]
}
mapfile -t tidy_sources < <(ours 'allocator/*.cc' 'growers/*.cc')
gate "clang-tidy (${#tidy_sources[@]} sources)" tidy "${tidy_sources[@]}"

exit "${failed}"
