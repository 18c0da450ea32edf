#ifndef RUSTY_MALLOC_ALLOCATOR_DROP_IN_GLOBAL_HEAP_H_
#define RUSTY_MALLOC_ALLOCATOR_DROP_IN_GLOBAL_HEAP_H_

#include "allocator/contiguous/rusty_malloc.h"
#include "allocator/contiguous/segregated_freelist.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "growers/brk_grower.h"
#include "growers/mmap_grower.h"

namespace rusty_malloc {

// The heap behind the drop-in malloc and operator new, chosen per build
// variant (malloc_variant.bzl):
//   default: the per-thread allocator on mmap'd chunks;
//   RUSTY_MALLOC_GLOBAL_LOCKED: the locked allocator, segregated fit, on an
//     mmap reservation that starts at 4 MiB and doubles in place up to 64 GiB;
//   RUSTY_MALLOC_GLOBAL_BRK: the locked allocator on the program break, the
//     original crate's own example of a global allocator.
#if defined(RUSTY_MALLOC_GLOBAL_BRK)
using GlobalHeap = RustyMalloc<BrkGrower, SegregatedFreeList>;
#elif defined(RUSTY_MALLOC_GLOBAL_LOCKED)
using GlobalHeap = RustyMalloc<MmapGrower, SegregatedFreeList>;
#else
using GlobalHeap = PerThreadMalloc<MmapChunkSource>;
#endif

namespace global_heap_internal {

// A union member is not destroyed unless the union's destructor says so.
union NeverDestroyed {
  constexpr NeverDestroyed();
  ~NeverDestroyed() {}
  GlobalHeap heap;
};

// Defined in global_heap.cc.
extern constinit NeverDestroyed global;

}  // namespace global_heap_internal

// The process's one GlobalHeap. Constant-initialised, so usable before any
// constructor runs (the dynamic loader and libc allocate that early), and
// never destroyed, so usable after every destructor has run. Inline, so that
// malloc's and free's fast paths reach it without a call.
inline GlobalHeap& TheGlobalHeap() { return global_heap_internal::global.heap; }

// Fork handlers that run beside the heap's (global_heap.cc): `prepare`
// just before the heap locks, `parent` and `child` just after it unlocks,
// so they may allocate. Set once, at load, before any thread forks.
struct ForkHooks {
  void (*prepare)();
  void (*parent)();
  void (*child)();
};
void SetForkHooks(const ForkHooks* hooks);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_DROP_IN_GLOBAL_HEAP_H_
