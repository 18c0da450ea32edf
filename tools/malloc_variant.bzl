"""rusty_malloc_variant: one build of the drop-in malloc over one global heap.

For a variant `name` (with `defines` choosing the heap, see
allocator/global_heap.h) it declares:
  global_heap<suffix>          the process-wide heap
  malloc<suffix>               the link-in malloc and operator new
  librusty_malloc<suffix>.so   the same for LD_PRELOAD
where <suffix> is "" for the default variant and "_<name>" otherwise.
"""

def rusty_malloc_variant(name, defines = []):
    suffix = "" if name == "default" else "_" + name
    native.cc_library(
        name = "global_heap" + suffix,
        srcs = ["global_heap.cc"],
        hdrs = ["global_heap.h"],
        defines = defines,
        visibility = ["//:__subpackages__"],
        deps = [
            ":chunk_source",
            ":per_thread_malloc",
            ":rusty_malloc",
            ":segregated_freelist",
            "//growers:brk_grower",
            "//growers:mmap_grower",
        ],
    )
    native.cc_library(
        name = "malloc" + suffix,
        srcs = ["malloc.cc", "new_delete.cc"],
        hdrs = ["malloc.h"],
        visibility = ["//visibility:public"],
        deps = [":c_api", ":global_heap" + suffix, ":heap_report"],
        alwayslink = True,
    )
    native.cc_binary(
        name = "librusty_malloc" + suffix + ".so",
        linkshared = True,
        visibility = ["//visibility:public"],
        deps = [":malloc" + suffix],
    )
