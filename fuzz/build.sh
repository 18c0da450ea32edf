#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build script. Builds every harness in fuzz/ with
# the toolchain and flags the fuzzing infrastructure hands over, and puts
# each fuzzer, with its seed corpus as <fuzzer>_seed_corpus.zip, in $OUT.
#
# Honours: CC, CXX, CFLAGS, CXXFLAGS (compile and link flags, e.g.
# -fsanitize=address,fuzzer-no-link), LIB_FUZZING_ENGINE (e.g.
# -fsanitize=fuzzer, or a path to an engine library) and OUT.
# Local check: tools/check_oss_fuzz_build.sh.

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
  --platform_suffix=oss_fuzz
)
for f in ${CFLAGS}; do flags+=(--conlyopt="${f}"); done
for f in ${CXXFLAGS}; do flags+=(--cxxopt="${f}" --linkopt="${f}"); done
# gold warns on clang's sanitizer stubs; use lld where there is one.
if command -v ld.lld >/dev/null; then flags+=(--linkopt=-fuse-ld=lld); fi

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
