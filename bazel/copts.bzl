"""Compiler options for this project's own code, in one place.

Every cc_library, cc_test and cc_binary here that compiles sources passes
`copts = RUSTY_MALLOC_COPTS`; dependencies (Abseil, GoogleTest) keep their
own options and are not held to these warnings.
"""

RUSTY_MALLOC_COPTS = [
    "-Wall",
    "-Wextra",
] + select({
    # This repository's .bazelrc turns warnings into errors; a workspace
    # that depends on our targets, with another compiler's new warnings,
    # does not inherit that.
    "//bazel:werror": ["-Werror"],
    "//conditions:default": [],
}) + select({
    # Checks the locks' Abseil annotations (ABSL_GUARDED_BY and the rest);
    # g++ has no such analysis.
    "//bazel:clang": ["-Wthread-safety"],
    "//conditions:default": [],
})
