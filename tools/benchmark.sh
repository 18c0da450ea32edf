#!/usr/bin/env bash
# The project's main job: installs what is missing, then runs the original
# author's experiment (tools/author_experiment.cc) in an optimised build and
# prints its table. Arguments go to the benchmark.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"
bash tools/install_deps.sh
bazel run -c opt --disk_cache="${HOME}/.cache/rusty_malloc/disk" \
  //tools:author_experiment -- "$@"
