"""rusty_fuzz_test: one libFuzzer harness, its regression test and runner.

In the style of rules_fuzzing, for one harness `name` (fuzz/<name>.cc, which
defines FuzzOne, see fuzz/fuzz_input.h, and any parts of it listed in `srcs`)
with its corpus in fuzz/corpus/<name>/ and saved crashes in
fuzz/crashes/<name>/:

  <name>                    the fuzzer. Under --config=fuzz it links the
                            fuzzing engine ($(LIB_FUZZING_ENGINE)); otherwise
                            it links the replay main and runs given inputs.
  <name>_regression_test    replays the corpus and every saved crash under
                            plain `bazel test`, any compiler, any config.
  <name>_run                `bazel run --config=fuzz //fuzz:<name>_run`
                            fuzzes from the corpus (tools/run_fuzzer.sh).

The scripts find the harnesses by querying for this macro's fuzzers
(fuzz_harnesses in tools/common.sh). Tag a harness "concurrent" and they
fuzz it under TSan as well.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library", "cc_test")
load("@rules_shell//shell:sh_binary.bzl", "sh_binary")
load("//bazel:copts.bzl", "RUSTY_MALLOC_COPTS")

def rusty_fuzz_test(name, deps, srcs = [], dict = None, tags = []):
    """A libFuzzer harness, its corpus replayed as a test, and its runner.

    Args:
      name: the harness; its source is NAME.cc, its corpus corpus/NAME.
      deps: what the harness's library depends on, besides the entry point.
      srcs: the harness's own parts besides NAME.cc (sources and headers,
        e.g. one file per family of operations), compiled into it alone.
      dict: an optional libFuzzer dictionary.
      tags: tags for the regression test ("concurrent": fuzz under TSan too).
    """
    corpus = "corpus/" + name
    crashes = "crashes/" + name
    inputs = native.glob([corpus + "/**", crashes + "/**"])
    cc_library(
        name = name + "_harness",
        testonly = True,
        srcs = [name + ".cc"] + srcs,
        copts = RUSTY_MALLOC_COPTS,
        deps = deps + ["//fuzz:fuzz_entry"],
        alwayslink = True,
    )
    cc_binary(
        name = name,
        testonly = True,
        deps = [":" + name + "_harness"] + select({
            "//fuzz:fuzzing": ["//fuzz:tsan_suppressions"],
            "//conditions:default": ["//fuzz:replay_main"],
        }),
        linkopts = select({
            "//fuzz:fuzzing": ["$(LIB_FUZZING_ENGINE)"],
            "//conditions:default": [],
        }),
        tags = tags,
    )
    cc_test(
        name = name + "_regression_test",
        deps = [":" + name + "_harness", "//fuzz:replay_main"],
        data = inputs,
        args = ["fuzz/" + corpus, "fuzz/" + crashes],
        tags = tags,
    )
    sh_binary(
        name = name + "_run",
        testonly = True,
        srcs = ["//tools:run_fuzzer.sh"],
        data = [":" + name] + ([dict] if dict else []),
        args = [
            "$(rootpath :" + name + ")",
            name,
        ] + (["$(rootpath " + dict + ")"] if dict else []),
        tags = tags,
    )
