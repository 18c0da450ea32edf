#!/usr/bin/env python3
"""Static checks of this repository's Starlark and registry files.

Run as `tools/check_starlark.py [ROOT]` (ROOT defaults to the checkout). It
checks what can be checked without a Bazel that reads MODULE.bazel (this
project's machines have Bazel 4.2.3 only):

  syntax     every BUILD.bazel, *.BUILD, *.bzl, WORKSPACE, WORKSPACE.bzlmod
             and MODULE.bazel parses (Starlark's syntax is a Python subset).
  modules    a MODULE.bazel calls only module-file functions, with literal
             arguments.
  rules_cc   every file that uses cc_library, cc_binary, cc_test or
             cc_import loads it from @rules_cc (Bazel 9 has no native cc
             rules), and no .bzl calls native.cc_*; likewise sh_* from
             @rules_shell. The shims in third_party/ are exempt: they are
             what re-exports the native rules.
  registry   .bcr/*.json parse as JSON, and .bcr/*.yml as YAML when PyYAML
             is installed.

Prints one line per problem and exits 1 if there is any.
"""

import ast
import json
import os
import sys

# The functions a MODULE.bazel may call (Bazel 7 to 9).
MODULE_FUNCTIONS = {
    "module",
    "bazel_dep",
    "use_extension",
    "use_repo",
    "use_repo_rule",
    "register_toolchains",
    "register_execution_platforms",
    "single_version_override",
    "multiple_version_override",
    "archive_override",
    "git_override",
    "local_path_override",
    "include",
    "inject_repo",
    "override_repo",
}

# rule: the repository and the file prefix it must be loaded from.
RULE_SOURCES = {
    "cc_library": "@rules_cc//cc:",
    "cc_binary": "@rules_cc//cc:",
    "cc_test": "@rules_cc//cc:",
    "cc_import": "@rules_cc//cc:",
    "sh_binary": "@rules_shell//shell:",
    "sh_test": "@rules_shell//shell:",
    "sh_library": "@rules_shell//shell:",
}

# Directories never searched: Bazel's output links, dependencies' copies,
# and the version control store.
SKIPPED_DIRS = {".git", ".deps", "node_modules"}

# Files exempt from the rules_cc check: the shims define the loaded names.
SHIM_DIRS = ("third_party/rules_cc/", "third_party/rules_shell/")


def starlark_files(root):
    """Yields the repository-relative paths of every Starlark file."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in SKIPPED_DIRS and not d.startswith("bazel-"))
        for name in sorted(filenames):
            if (name in ("BUILD", "BUILD.bazel", "WORKSPACE", "WORKSPACE.bazel",
                         "WORKSPACE.bzlmod", "MODULE.bazel")
                    or name.endswith((".bzl", ".BUILD"))):
                yield os.path.relpath(os.path.join(dirpath, name), root)


def registry_files(root):
    bcr = os.path.join(root, ".bcr")
    for dirpath, dirnames, filenames in os.walk(bcr):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith((".json", ".yml", ".yaml")):
                yield os.path.relpath(os.path.join(dirpath, name), root)


def call_name(node):
    """The called name of `f(...)` or `native.f(...)`, else None."""
    if isinstance(node.func, ast.Name):
        return node.func.id
    if (isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)):
        return node.func.value.id + "." + node.func.attr
    return None


def loaded_names(tree):
    """{local name: label} for every load() at the file's top level."""
    names = {}
    for stmt in tree.body:
        if (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
                and call_name(stmt.value) == "load" and stmt.value.args
                and isinstance(stmt.value.args[0], ast.Constant)):
            label = stmt.value.args[0].value
            for arg in stmt.value.args[1:]:
                if isinstance(arg, ast.Constant):
                    names[arg.value] = label
            for kw in stmt.value.keywords:
                names[kw.arg] = label
    return names


def check_rule_loads(path, tree, problems):
    if path.startswith(SHIM_DIRS):
        return
    loads = loaded_names(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = call_name(node)
        if name is None:
            continue
        if name.startswith("native.") and name[7:] in RULE_SOURCES:
            problems.append("%s:%d: calls %s; load %s from %s instead" % (
                path, node.lineno, name, name[7:], RULE_SOURCES[name[7:]]))
        elif name in RULE_SOURCES:
            label = loads.get(name)
            if label is None or not label.startswith(RULE_SOURCES[name]):
                problems.append("%s:%d: %s not loaded from %s" % (
                    path, node.lineno, name, RULE_SOURCES[name]))


def check_module_file(path, tree, problems):
    for stmt in tree.body:
        call = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign)) else None
        if not isinstance(call, ast.Call):
            problems.append("%s:%d: not a module-file call" % (path, stmt.lineno))
            continue
        name = call_name(call)
        if isinstance(call.func, ast.Attribute):
            # ext.tag(...) on an extension proxy from use_extension.
            continue
        if name not in MODULE_FUNCTIONS:
            problems.append("%s:%d: %s is not a module-file function" % (
                path, stmt.lineno, name))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.For, ast.If, ast.While)):
            problems.append("%s:%d: MODULE.bazel allows no def, for, if or while"
                            % (path, node.lineno))


def main(argv):
    root = os.path.abspath(argv[1] if len(argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    problems = []
    checked = 0
    for path in starlark_files(root):
        with open(os.path.join(root, path), encoding="utf-8") as f:
            source = f.read()
        try:
            tree = ast.parse(source, filename=path)
        except SyntaxError as e:
            problems.append("%s:%s: syntax: %s" % (path, e.lineno, e.msg))
            continue
        checked += 1
        if os.path.basename(path) == "MODULE.bazel":
            check_module_file(path, tree, problems)
        check_rule_loads(path, tree, problems)
    try:
        import yaml  # pylint: disable=import-outside-toplevel
    except ImportError:
        yaml = None
    for path in registry_files(root):
        with open(os.path.join(root, path), encoding="utf-8") as f:
            try:
                if path.endswith(".json"):
                    json.load(f)
                elif yaml is not None:
                    yaml.safe_load(f)
                else:
                    print("%s: not parsed, no PyYAML" % path)
                    continue
            except (ValueError, yaml.YAMLError if yaml else ValueError) as e:
                problems.append("%s: %s" % (path, e))
                continue
        checked += 1
    for problem in problems:
        print(problem)
    print("check_starlark: %d files, %d problems" % (checked, len(problems)))
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
