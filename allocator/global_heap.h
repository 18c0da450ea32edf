#ifndef RUSTY_MALLOC_ALLOCATOR_GLOBAL_HEAP_H_
#define RUSTY_MALLOC_ALLOCATOR_GLOBAL_HEAP_H_

#include "allocator/rusty_malloc.h"
#include "allocator/segregated_freelist.h"
#include "growers/brk_grower.h"
#include "growers/mmap_grower.h"

namespace rusty_malloc {

// The heap behind the drop-in malloc and operator new: the locked allocator
// with segregated fit, over one 64 GiB mmap reservation, or over the program
// break when built as //allocator:malloc_brk (RUSTY_MALLOC_GLOBAL_BRK), the
// original crate's own example of a global allocator.
#ifdef RUSTY_MALLOC_GLOBAL_BRK
using GlobalHeap = RustyMalloc<BrkGrower, SegregatedFreeList>;
#else
using GlobalHeap = RustyMalloc<MmapGrower, SegregatedFreeList>;
#endif

// The process's one GlobalHeap. Constant-initialised, so usable before any
// constructor runs (the dynamic loader and libc allocate that early), and
// never destroyed, so usable after every destructor has run.
GlobalHeap& TheGlobalHeap();

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_GLOBAL_HEAP_H_
