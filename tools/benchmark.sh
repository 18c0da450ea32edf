#!/usr/bin/env bash
# The project's main job: installs what is missing, then runs the original
# author's experiment (tools/author_experiment.cc) in an optimised build and
# prints its table. Arguments go to the benchmark.
set -euo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bash tools/install_deps.sh
repo_bazel run -c opt //tools:author_experiment -- "$@"
