#!/usr/bin/env bash
# Installs everything this project needs on a Debian bookworm machine that has
# only Debian's package archive: Bazel 4.2.3 and its offline rule repositories,
# clang 14 with its sanitizer and libFuzzer runtimes, GoogleTest sources, the
# Abseil source package, the peer allocators the benchmarks compare with,
# what bench/fetch_sources.sh builds the standard workloads from
# (glibc-source, and the deb-src entry for `apt-get source mimalloc`), and
# google-pprof (google-perftools), which //tests:profile_three_sites_test
# reads the heap profile with.
# Idempotent: a machine that already has everything costs a few dpkg queries.
set -euo pipefail

# shellcheck source=tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
deps="${root}/.deps"

packages=(
  bazel-bootstrap bazel-rules-java bazel-platforms bazel-skylib
  clang-14 libclang-rt-14-dev g++ googletest dpkg-dev
  valgrind sqlite3 python3 python3-yaml
  libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0 glibc-source
  google-perftools
)
# Commands the lint gate needs, from their Debian package where the machine
# has none on its PATH (some machines carry their own builds).
lint_commands=(clang-format clang-tidy-14 shellcheck npm)

sudo_if_needed() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done

for c in "${lint_commands[@]}"; do
  command -v "$c" >/dev/null || missing+=("$c")
done

apt_updated=0
apt_update_once() {
  if [[ ${apt_updated} -eq 0 ]]; then
    sudo_if_needed apt-get update -qq
    apt_updated=1
  fi
}

if [[ ${#missing[@]} -gt 0 ]]; then
  echo "install_deps: installing ${missing[*]}" >&2
  apt_update_once
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Source packages (Abseil here, mimalloc for bench/fetch_sources.sh)
# need a deb-src entry, which a fresh machine lacks. It is derived from the
# machine's own deb entries (tools/deb_src_sources.py), so a machine on a
# local mirror fetches sources from that mirror; Debian's archive is the
# fallback only where the sources name no entry of the distribution.
src_list=/etc/apt/sources.list.d/rusty-malloc-deb-src.sources
if [[ ! -f ${src_list} ]]; then
  if ! entries=$(python3 "${root}/tools/deb_src_sources.py" \
                   --skip "$(basename "${src_list}")"); then
    echo "install_deps: using Debian's archive for deb-src" >&2
    entries=$(cat <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
)
  fi
  # Empty when every suite has deb-src already; the file still marks this
  # step done.
  printf '%s\n' "${entries}" | sudo_if_needed tee "${src_list}" >/dev/null
  apt_updated=0
  apt_update_once
fi

# Abseil comes as Debian's source package, which carries upstream's BUILD.bazel
# files.
if [[ ! -f "${deps}/abseil-cpp/absl/base/BUILD.bazel" ]]; then
  apt_update_once
  rm -rf "${deps}/abseil-src"
  mkdir -p "${deps}/abseil-src"
  # bookworm's abseil is 20220623.1 plus Debian's security patches, which
  # apt-get source applies.
  (cd "${deps}/abseil-src" && apt-get source -qq abseil >/dev/null 2>&1)
  src_dir=$(find "${deps}/abseil-src" -maxdepth 1 -mindepth 1 -type d -name 'abseil-*' | head -n1)
  rm -rf "${deps}/abseil-cpp"
  mv "${src_dir}" "${deps}/abseil-cpp"
  rm -rf "${deps}/abseil-src"
fi

# buildifier for the lint gate, from the npm registry (Debian has none).
buildifier_version=8.2.1
if [[ ! -x "$(buildifier_binary)" ]]; then
  mkdir -p "${deps}/buildifier"
  (cd "${deps}/buildifier" &&
     npm install --silent --no-audit --no-fund --prefix . \
       "@bazel/buildifier@${buildifier_version}" >/dev/null)
  chmod +x "$(buildifier_binary)"
fi
