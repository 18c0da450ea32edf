#!/bin/bash -eu
# ClusterFuzzLite's build step: the repository's one build script,
# fuzz/build.sh, run with the CC, CXX, CFLAGS, CXXFLAGS, LIB_FUZZING_ENGINE
# and OUT the base-builder image sets. tools/check_oss_fuzz_build.sh runs
# this file the same way on the development machine.
set -euo pipefail

# The Dockerfile copies this file to $SRC/build.sh, away from the checkout;
# OSS-Fuzz's compile runs it from the Dockerfile's WORKDIR, the checkout. Run
# in place, the checkout is the directory above this one.
checkout="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ ! -f ${checkout}/fuzz/build.sh ]]; then checkout=${PWD}; fi
if [[ ! -f ${checkout}/fuzz/build.sh ]]; then
  echo "build.sh: no fuzz/build.sh above $0 or in ${PWD}" >&2
  exit 1
fi
exec bash "${checkout}/fuzz/build.sh"
