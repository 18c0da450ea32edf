#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build script. Builds every harness in fuzz/ with
# the toolchain and flags the fuzzing infrastructure hands over, and puts
# each fuzzer, with its seed corpus as <fuzzer>_seed_corpus.zip, in $OUT.
#
# Honours: CC, CXX, CFLAGS, CXXFLAGS (compile and link flags, e.g.
# -fsanitize=address,fuzzer-no-link), LIB_FUZZING_ENGINE (e.g.
# -fsanitize=fuzzer, or a path to an engine library) and OUT.
# ClusterFuzzLite runs it through .clusterfuzzlite/build.sh; the local check,
# tools/check_oss_fuzz_build.sh, runs it the same way.
set -euo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "$0")/../tools/common.sh"
: "${CC:?}" "${CXX:?}" "${OUT:?}" "${LIB_FUZZING_ENGINE:?}"
CFLAGS=${CFLAGS:-}
CXXFLAGS=${CXXFLAGS:-}

harnesses=()
fuzz_harnesses harnesses

flags=(
  --repo_env=CC="${CC}" --repo_env=CXX="${CXX}"
  --define=rusty_fuzzing=1
  --define=LIB_FUZZING_ENGINE="${LIB_FUZZING_ENGINE}"
  # An output tree per sanitizer, so building address then undefined (as
  # the check and the CI matrix do) does not rebuild over the other's.
  --platform_suffix="oss_fuzz_${SANITIZER:-custom}"
)
for f in ${CFLAGS}; do flags+=(--conlyopt="${f}"); done
for f in ${CXXFLAGS}; do flags+=(--cxxopt="${f}" --linkopt="${f}"); done
# gold warns on clang's sanitizer stubs; use lld where there is one.
if command -v ld.lld >/dev/null; then flags+=(--linkopt=-fuse-ld=lld); fi
# Bazel links C++ with the C driver, which adds neither the C++ library the
# flags choose nor a sanitizer's C++ runtime. OSS-Fuzz's CXXFLAGS carry
# -stdlib=libc++ (its own Bazel helper adds -lc++ likewise), and UBSan's
# vptr and function checks live in its C++ runtime (.bazelrc's ubsan config
# links it the same way).
if [[ " ${CXXFLAGS} " == *" -stdlib=libc++ "* ]]; then flags+=(--linkopt=-lc++); fi
if [[ ${CXXFLAGS} =~ -fsanitize=[^\ ]*(vptr|function|undefined) ]]; then
  flags+=(--linkopt=-fsanitize-link-c++-runtime)
fi

repo_bazel build "${flags[@]}" "${harnesses[@]/#///fuzz:}"
bin=$(repo_bazel info "${flags[@]}" bazel-bin 2>/dev/null)

mkdir -p "${OUT}"
for h in "${harnesses[@]}"; do
  install -m 0755 "${bin}/fuzz/${h}" "${OUT}/${h}"
  # Input length and length control: the infrastructure reads these.
  if [[ -f "fuzz/${h}.options" ]]; then cp "fuzz/${h}.options" "${OUT}/"; fi
  rm -f "${OUT}/${h}_seed_corpus.zip"
  (cd "fuzz/corpus/${h}" && python3 -m zipfile -c "${OUT}/${h}_seed_corpus.zip" .)
done
