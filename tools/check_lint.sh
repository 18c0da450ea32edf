#!/usr/bin/env bash
# The lint gates: clang-format on every C/C++ file, shellcheck on every
# shell script, and buildifier (formatting and lint warnings) on every Bazel
# file. third_party/ is exempt: offline stand-ins for other projects' rule
# repositories, kept in their upstream shape. Prints every finding; exits
# non-zero if any gate has one.
set -uo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "${root}" || exit 1

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

exit "${failed}"
