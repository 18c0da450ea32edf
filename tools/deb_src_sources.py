#!/usr/bin/env python3
"""Prints deb-src entries matching this machine's configured apt sources.

tools/install_deps.sh needs source packages (`apt-get source abseil`,
mimalloc), so it writes deb-src entries; deriving them from the `deb`
entries apt already uses keeps a machine on a local mirror or a snapshot on
that mirror, with the same keys.

Usage: deb_src_sources.py [--apt-dir DIR] [--codename NAME] [--skip FILE]

Reads DIR/sources.list (one-line format) and DIR/sources.list.d/*.list and
*.sources (deb822); apt itself reads no other names, so files renamed to
disable them (foo.sources.disabled) are skipped, as are deb822 stanzas with
`Enabled: no`. Only entries of the distribution itself are used: those with
a suite NAME or NAME-* (NAME defaults to VERSION_CODENAME from
/etc/os-release); third-party repositories (a nodesource, a cloud SDK) often
publish no sources, and apt-get update would then fail on them. Suites that
already have deb-src entries are left out. Prints deb822 stanzas, nothing
if there is nothing to add; exits 1 if the sources name no `deb` entry of
the distribution at all. FILE (a basename, repeatable) is not read: the
file this output is written to.
"""

import argparse
import glob
import os
import sys


def parse_deb822(text):
    """Yields each stanza as {field (lowercase): (name, value lines)}."""
    stanza = {}
    last = None
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanza:
                yield stanza
            stanza, last = {}, None
            continue
        if line[0] in " \t" and last is not None:
            stanza[last][1].append(line)
            continue
        name, _, value = line.partition(":")
        last = name.strip().lower()
        stanza[last] = (name.strip(), [value.strip()])
    if stanza:
        yield stanza


def parse_one_line(text):
    """Yields (type, options dict, uri, suite, components) per entry."""
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        kind = words.pop(0)
        options = {}
        if words and words[0].startswith("["):
            option_words = []
            while words:
                word = words.pop(0)
                option_words.append(word.strip("[]"))
                if word.endswith("]"):
                    break
            for option in " ".join(option_words).split():
                key, _, value = option.partition("=")
                options[key.lower()] = value
        if len(words) >= 2:
            yield kind, options, words[0], words[1], words[2:]


def wanted_suites(suites, codename):
    return [s for s in suites if s == codename or s.startswith(codename + "-")]


def entries(apt_dir, skip):
    """Yields (types, uris, suites, components, extra fields) per source."""
    one_line = [os.path.join(apt_dir, "sources.list")]
    one_line += sorted(glob.glob(os.path.join(apt_dir, "sources.list.d", "*.list")))
    for path in one_line:
        if not os.path.isfile(path) or os.path.basename(path) in skip:
            continue
        with open(path, encoding="utf-8") as f:
            for kind, options, uri, suite, components in parse_one_line(f.read()):
                extra = []
                if "signed-by" in options:
                    extra.append(("Signed-By", [options["signed-by"]]))
                if options.get("trusted") == "yes":
                    extra.append(("Trusted", ["yes"]))
                yield [kind], [uri], [suite], components, extra
    for path in sorted(glob.glob(os.path.join(apt_dir, "sources.list.d", "*.sources"))):
        if os.path.basename(path) in skip:
            continue
        with open(path, encoding="utf-8") as f:
            for stanza in parse_deb822(f.read()):
                def words(field):
                    return " ".join(stanza.get(field, ("", [""]))[1]).split()
                if words("enabled") == ["no"]:
                    continue
                extra = [stanza[k] for k in ("signed-by", "trusted") if k in stanza]
                yield (words("types"), words("uris"), words("suites"),
                       words("components"), extra)


def codename_from_os_release():
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VERSION_CODENAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return ""


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--apt-dir", default="/etc/apt")
    parser.add_argument("--codename", default=None)
    parser.add_argument("--skip", action="append", default=[])
    args = parser.parse_args(argv[1:])
    codename = args.codename or codename_from_os_release()
    if not codename:
        print("deb_src_sources: no VERSION_CODENAME; pass --codename", file=sys.stderr)
        return 1

    found = []
    have_src = set()
    for types, uris, suites, components, extra in entries(args.apt_dir, set(args.skip)):
        suites = wanted_suites(suites, codename)
        if not suites:
            continue
        if "deb-src" in types:
            have_src.update((u.rstrip("/"), s) for u in uris for s in suites)
        if "deb" in types:
            found.append((uris, suites, components, extra))
    if not found:
        print("deb_src_sources: no deb entry for %s in %s" % (codename, args.apt_dir),
              file=sys.stderr)
        return 1

    stanzas = []
    for uris, suites, components, extra in found:
        suites = [s for s in suites
                  if not all((u.rstrip("/"), s) in have_src for u in uris)]
        if not suites:
            continue
        lines = [
            "Types: deb-src",
            "URIs: " + " ".join(uris),
            "Suites: " + " ".join(suites),
            "Components: " + " ".join(components),
        ]
        for name, value in extra:
            lines.append("%s: %s" % (name, value[0]) if value[0] else name + ":")
            lines.extend(value[1:])
        if lines not in stanzas:
            stanzas.append(lines)
    if stanzas:
        print("\n\n".join("\n".join(s) for s in stanzas))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
