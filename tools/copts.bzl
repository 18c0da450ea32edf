"""Compiler options for this project's own code, in one place.

Every cc_library, cc_test and cc_binary here that compiles sources passes
`copts = RUSTY_MALLOC_COPTS`; dependencies (Abseil, GoogleTest) keep their
own options and are not held to these warnings.
"""

RUSTY_MALLOC_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
] + select({
    # Checks the locks' Abseil annotations (ABSL_GUARDED_BY and the rest);
    # g++ has no such analysis.
    "@bazel_tools//tools/cpp:clang": ["-Wthread-safety"],
    "//conditions:default": [],
})
