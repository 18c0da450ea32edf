#!/usr/bin/env bash
# Checks tools/deb_src_sources.py, which tools/install_deps.sh uses to write
# its deb-src entries: on sample apt configurations (deb822 and one-line,
# a local mirror, disabled files and stanzas, third-party repositories,
# existing deb-src entries) it prints exactly the expected stanzas.
# Usage: deb_src_sources_test.sh PATH_TO_deb_src_sources.py
set -euo pipefail

script=$1
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/deb_src.XXXXXX")
trap 'rm -rf "${tmp}"' EXIT
failures=0

# `expect NAME APT_DIR EXPECTED_RC EXPECTED_OUTPUT`
expect() {
  local name=$1 dir=$2 want_rc=$3 want=$4 got rc=0
  got=$(python3 "${script}" --apt-dir "${dir}" --codename bookworm \
          --skip rusty-malloc-deb-src.sources 2>/dev/null) || rc=$?
  if [[ ${rc} -ne ${want_rc} || ${got} != "${want}" ]]; then
    echo "FAIL ${name}: exit ${rc} (want ${want_rc}), output:"
    echo "${got}"
    echo "--- want:"
    echo "${want}"
    failures=$((failures + 1))
  else
    echo "ok ${name}"
  fi
}

# A local mirror in deb822, with a comment inside the stanza, a second
# stanza for security updates, a third-party repository, a disabled stanza,
# a disabled file and this script's own earlier output.
d="${tmp}/deb822/sources.list.d"
mkdir -p "${d}"
cat >"${d}/debian.sources" <<'SRC'
Types: deb
# a snapshot once
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Enabled: no
Types: deb
URIs: http://old.example/debian
Suites: bookworm
Components: main
SRC
cat >"${d}/nodesource.sources" <<'SRC'
Types: deb
URIs: https://deb.nodesource.com/node_20.x
Suites: nodistro
Components: main
SRC
cat >"${d}/other.sources.disabled" <<'SRC'
Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
SRC
cat >"${d}/rusty-malloc-deb-src.sources" <<'SRC'
Types: deb-src
URIs: http://mirror.example/debian
Suites: bookworm
Components: main
SRC
expect deb822 "${tmp}/deb822" 0 "Types: deb-src
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"

# One-line sources: options, comments, a deb-src line already present for
# one suite, and a third-party .list.
o="${tmp}/one_line"
mkdir -p "${o}/sources.list.d"
cat >"${o}/sources.list" <<'SRC'
# the mirror
deb [arch=amd64 signed-by=/etc/apt/keyrings/mirror.gpg] http://mirror.example/debian bookworm main
deb http://mirror.example/debian bookworm-updates main non-free-firmware
deb-src http://mirror.example/debian bookworm-updates main non-free-firmware
SRC
cat >"${o}/sources.list.d/cloud.list" <<'SRC'
deb https://packages.cloud.example/apt cloud-sdk-bookworm main
SRC
expect one_line "${o}" 0 "Types: deb-src
URIs: http://mirror.example/debian
Suites: bookworm
Components: main
Signed-By: /etc/apt/keyrings/mirror.gpg"

# An inline key (deb822 continuation lines) is copied as it is.
k="${tmp}/inline_key/sources.list.d"
mkdir -p "${k}"
cat >"${k}/debian.sources" <<'SRC'
Types: deb
URIs: http://mirror.example/debian
Suites: bookworm
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGPL
 -----END PGP PUBLIC KEY BLOCK-----
SRC
expect inline_key "${tmp}/inline_key" 0 "Types: deb-src
URIs: http://mirror.example/debian
Suites: bookworm
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGPL
 -----END PGP PUBLIC KEY BLOCK-----"

# Nothing of the distribution: exit 1, so install_deps falls back.
n="${tmp}/none/sources.list.d"
mkdir -p "${n}"
cp "${d}/nodesource.sources" "${n}/"
expect none "${tmp}/none" 1 ""

# Every suite has deb-src already: nothing to add.
a="${tmp}/all_src/sources.list.d"
mkdir -p "${a}"
cat >"${a}/debian.sources" <<'SRC'
Types: deb deb-src
URIs: http://mirror.example/debian
Suites: bookworm
Components: main
SRC
expect all_src "${tmp}/all_src" 0 ""

if [[ ${failures} -gt 0 ]]; then
  echo "${failures} failed"
  exit 1
fi
