"""rusty_cc_test: a test of this repository's own code, in tests/.

The cc_test every target in tests/BUILD.bazel would otherwise spell out: the
project's compiler options (//bazel:copts.bzl) and GoogleTest's main.
"""

load("@rules_cc//cc:defs.bzl", "cc_test")
load("//bazel:copts.bzl", "RUSTY_MALLOC_COPTS")

def rusty_cc_test(name, srcs = None, copts = [], deps = [], **kwargs):
    """A GoogleTest cc_test compiled with RUSTY_MALLOC_COPTS.

    Args:
      name: the test; its source is NAME.cc unless `srcs` says otherwise.
      srcs: the sources, if not just NAME.cc.
      copts: options after RUSTY_MALLOC_COPTS.
      deps: what the test uses, besides @com_google_googletest//:gtest_main.
      **kwargs: any other cc_test attribute (size, shard_count, malloc, ...).
    """
    cc_test(
        name = name,
        srcs = srcs if srcs != None else [name + ".cc"],
        copts = RUSTY_MALLOC_COPTS + copts,
        deps = deps + ["@com_google_googletest//:gtest_main"],
        **kwargs
    )
