#!/usr/bin/env python3
"""Static check of the ClusterFuzzLite files against each other and the tree.

Usage: check_cflite_config.py SANITIZER...  (the sanitizers the caller builds
fuzz/build.sh with; tools/check_oss_fuzz_build.sh passes its list).

Neither the Docker image nor the workflows can run on the development
machine, so this checks what can drift without anyone noticing:
  - .clusterfuzzlite/project.yaml: language c++, and its sanitizers are the
    ones the caller builds with;
  - .clusterfuzzlite/Dockerfile: the base-builder image, the checkout copied
    to the WORKDIR .clusterfuzzlite/build.sh runs from, and build.sh copied
    to $SRC/build.sh, where OSS-Fuzz's compile looks for it;
  - .github/workflows/cflite_*.yml: valid YAML, the documented
    google/clusterfuzzlite actions at @v1, language c++, every sanitizer in
    project.yaml and no other, the same sanitizer for a job's build and run
    steps, the intended modes, and pull_request paths that exist.
Prints one line per problem; exits 1 if there is any.
"""

import glob
import os
import re
import sys

import yaml  # Debian's python3-yaml (tools/install_deps.sh)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT = "rusty_malloc"
ACTION = "google/clusterfuzzlite/actions/{}@v1"
# The modes each workflow must run, and the trigger it must have.
WORKFLOWS = {
    "cflite_pr.yml": ({"code-change"}, {"pull_request"}),
    "cflite_batch.yml": ({"batch", "prune"}, {"schedule", "workflow_dispatch"}),
}

problems = []


def problem(where, what):
    problems.append(f"{where}: {what}")


def load_yaml(relpath):
    with open(os.path.join(ROOT, relpath), encoding="utf-8") as f:
        return yaml.safe_load(f)


def check_project(built):
    where = ".clusterfuzzlite/project.yaml"
    project = load_yaml(where)
    if project.get("language") != "c++":
        problem(where, f"language is {project.get('language')!r}, not 'c++'")
    sanitizers = set(project.get("sanitizers") or [])
    if sanitizers != built:
        problem(where, f"sanitizers {sorted(sanitizers)} are not the ones "
                f"the check builds with, {sorted(built)}")
    return sanitizers


def check_dockerfile():
    where = ".clusterfuzzlite/Dockerfile"
    with open(os.path.join(ROOT, where), encoding="utf-8") as f:
        # Continuation lines joined, comments dropped: one instruction a line.
        text = re.sub(r"\\\n", " ", f.read())
    lines = [l.split() for l in text.splitlines()
             if l.strip() and not l.lstrip().startswith("#")]
    src = f"$SRC/{PROJECT}"
    expected = {
        "FROM": lambda a: a[0].startswith("gcr.io/oss-fuzz-base/base-builder"),
        "COPY .": lambda a: a == [".", src],
        "WORKDIR": lambda a: a == [src],
        "COPY build.sh": lambda a: a in ([".clusterfuzzlite/build.sh", "$SRC/"],
                                         [".clusterfuzzlite/build.sh", "$SRC/build.sh"]),
    }
    found = set()
    for words in lines:
        op, args = words[0].upper(), words[1:]
        for name, ok in expected.items():
            if name.split()[0] == op and ok(args):
                found.add(name)
    for name in expected:
        if name not in found:
            problem(where, {
                "FROM": "not FROM gcr.io/oss-fuzz-base/base-builder",
                "COPY .": f"no `COPY . {src}`",
                "WORKDIR": f"no `WORKDIR {src}` (.clusterfuzzlite/build.sh "
                           "finds the checkout there)",
                "COPY build.sh": "no `COPY .clusterfuzzlite/build.sh $SRC/` "
                                 "(compile runs $SRC/build.sh)",
            }[name])


def check_workflow(name, sanitizers):
    where = f".github/workflows/{name}"
    try:
        flow = load_yaml(where)
    except (OSError, yaml.YAMLError) as e:
        problem(where, f"cannot be read: {e}")
        return
    modes_wanted, triggers_wanted = WORKFLOWS[name]
    # YAML 1.1 reads the key `on` as the boolean true.
    triggers = flow.get("on", flow.get(True)) or {}
    if isinstance(triggers, str):
        triggers = {triggers: None}
    for t in sorted(triggers_wanted - set(triggers)):
        problem(where, f"no {t} trigger")
    paths = ((triggers.get("pull_request") or {}).get("paths") or [])
    for p in paths:
        if not glob.glob(os.path.join(ROOT, p), recursive=True):
            problem(where, f"pull_request path {p!r} matches nothing")
    modes = set()
    for job_name, job in (flow.get("jobs") or {}).items():
        jw = f"{where}: job {job_name}"
        matrix = ((job.get("strategy") or {}).get("matrix") or {})
        job_sanitizers = set(matrix.get("sanitizer") or [])
        if job_sanitizers and job_sanitizers != sanitizers:
            problem(jw, f"sanitizer matrix {sorted(job_sanitizers)} is not "
                    f"project.yaml's {sorted(sanitizers)}")
        steps = {}
        for step in job.get("steps") or []:
            uses = step.get("uses", "")
            for kind in ("build_fuzzers", "run_fuzzers"):
                if uses.startswith("google/clusterfuzzlite/actions/" + kind):
                    if uses != ACTION.format(kind):
                        problem(jw, f"uses {uses}, not {ACTION.format(kind)}")
                    steps[kind] = step.get("with") or {}
        if set(steps) != {"build_fuzzers", "run_fuzzers"}:
            problem(jw, "needs one build_fuzzers and one run_fuzzers step")
            continue
        build, run = steps["build_fuzzers"], steps["run_fuzzers"]
        if build.get("language", "c++") != "c++":
            problem(jw, f"build_fuzzers language {build.get('language')!r}")
        if build.get("sanitizer") != run.get("sanitizer"):
            problem(jw, "build_fuzzers and run_fuzzers sanitizers differ")
        sanitizer = build.get("sanitizer", "address")
        if "${{" not in sanitizer and sanitizer not in sanitizers:
            problem(jw, f"sanitizer {sanitizer!r} not in project.yaml")
        if "github-token" not in run:
            problem(jw, "run_fuzzers has no github-token (required)")
        seconds = run.get("fuzz-seconds")
        if not isinstance(seconds, int) or seconds <= 0:
            problem(jw, f"fuzz-seconds {seconds!r} is not a positive number")
        modes.add(run.get("mode", "code-change"))
    if modes != modes_wanted:
        problem(where, f"modes {sorted(modes)}, expected {sorted(modes_wanted)}")


def main():
    built = set(sys.argv[1:])
    if not built:
        sys.exit(__doc__)
    sanitizers = check_project(built)
    check_dockerfile()
    for name in WORKFLOWS:
        check_workflow(name, sanitizers)
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print(f"ClusterFuzzLite config: project.yaml, Dockerfile and "
          f"{len(WORKFLOWS)} workflows agree ({', '.join(sorted(built))})")


if __name__ == "__main__":
    main()
