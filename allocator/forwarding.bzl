"""forwarding_library: an old label and include path kept after a move.

forwarding_library(name = "raw_malloc", actual = "//allocator/contiguous:raw_malloc")
declares //allocator:raw_malloc with the one-line header allocator/raw_malloc.h,
which includes the moved header, so code written against the flat layout
builds unchanged.
"""

load("@rules_cc//cc:defs.bzl", "cc_library")

def forwarding_library(name, actual, hdr = None, visibility = ["//visibility:public"]):
    cc_library(
        name = name,
        hdrs = [(hdr or name) + ".h"],
        visibility = visibility,
        deps = [actual],
    )
