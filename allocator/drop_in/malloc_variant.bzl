"""rusty_malloc_variant: one build of the drop-in malloc over one global heap.

For a variant `name` (with `defines` choosing the heap, see global_heap.h)
it declares, in the calling package:
  global_heap<suffix>   the process-wide heap
  malloc<suffix>        the link-in malloc and operator new
where <suffix> is "" for the default variant and "_<name>" otherwise.
//allocator wraps each malloc<suffix> as librusty_malloc<suffix>.so.
"""

load("@rules_cc//cc:defs.bzl", "cc_library")
load("//bazel:copts.bzl", "RUSTY_MALLOC_COPTS")

def rusty_malloc_variant(name, defines = []):
    suffix = "" if name == "default" else "_" + name
    cc_library(
        name = "global_heap" + suffix,
        srcs = ["global_heap.cc"],
        hdrs = ["global_heap.h"],
        copts = RUSTY_MALLOC_COPTS,
        defines = defines,
        # A library dlopen'ed later still calls this binary's
        # __register_atfork (global_heap.cc) when the drop-in is linked in.
        linkopts = ["-ldl", "-Wl,--export-dynamic-symbol=__register_atfork"],
        deps = [
            "//allocator/common:spin_lock",
            "//allocator/contiguous:rusty_malloc",
            "//allocator/contiguous:segregated_freelist",
            "//allocator/per_thread:chunk_source",
            "//allocator/per_thread:per_thread_malloc",
            "//growers:brk_grower",
            "//growers:mmap_grower",
            "@com_google_absl//absl/base:core_headers",
        ],
    )
    cc_library(
        name = "malloc" + suffix,
        srcs = [
            "malloc.cc",
            "new_delete.cc",
            "sampling_setup.cc",
            "trace_setup.cc",
            "traced_calls.h",
        ],
        hdrs = ["malloc.h"],
        # The entry points' fast paths are leaves: a frame would cost three
        # of their few instructions. Unwinders still have .eh_frame.
        copts = RUSTY_MALLOC_COPTS + ["-fomit-frame-pointer"],
        visibility = ["//visibility:public"],
        deps = [
            ":c_api",
            ":c_api_checks",
            ":operator_new",
            ":global_heap" + suffix,
            ":mallopt",
            ":runtime_options",
            ":stats_format",
            "//allocator/common:heap_report",
            "//allocator/common:log_line",
            "//allocator/common:monotonic_clock",
            "//allocator/common:tunables",
            "//allocator/guarded:fault_handler",
            "//allocator/profile:gperftools_writer",
            "//allocator/sampling:sampler_stats",
            "//allocator/trace:recorder",
            "@com_google_absl//absl/base:core_headers",
        ],
        alwayslink = True,
    )
