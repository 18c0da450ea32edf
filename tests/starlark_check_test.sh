#!/usr/bin/env bash
# Runs tools/check_starlark.py over the checkout: every Starlark file parses,
# MODULE.bazel files call only module-file functions, every cc_* and sh_*
# rule is loaded from @rules_cc or @rules_shell (Bazel 9 has no native ones),
# and the .bcr/ registry files parse.
#
# The check is over the whole tree, including every package's BUILD file and
# packages added later, which no data attribute can list; so the test finds
# the checkout through the runfiles' symlink to this script and is tagged to
# run unsandboxed and uncached (tests/BUILD.bazel).
set -euo pipefail

script=$(readlink -f "${BASH_SOURCE[0]}")
root=$(dirname "$(dirname "${script}")")
if [[ ! -f ${root}/tools/check_starlark.py ]]; then
  echo "no checkout found from ${script}" >&2
  exit 1
fi
exec python3 "${root}/tools/check_starlark.py" "${root}"
