#!/usr/bin/env bash
# The project's main job: installs what is missing, then runs the original
# author's experiment (bench/author_experiment.cc) in an optimised build and
# prints its table. Arguments go to the benchmark.
set -euo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tools/common.sh"
ensure_deps
repo_bazel run -c opt //bench:author_experiment -- "$@"
