#ifndef RUSTY_MALLOC_ALLOCATOR_DROP_IN_MALLOC_H_
#define RUSTY_MALLOC_ALLOCATOR_DROP_IN_MALLOC_H_

#include <cstddef>

#include "allocator/common/heap_report.h"

// Introspection for programs running on the drop-in malloc (//allocator:malloc
// or librusty_malloc.so). Plain C symbols, so a program can also look them up
// with dlsym to learn whether it runs on this allocator at all.
extern "C" {

// C23's sized frees, which glibc 2.36 does not declare yet. `size` (and
// `align`) must be what the block was allocated with; a wrong size is
// misuse, which aborts (the per-thread heap) or is ignored (the locked
// ones), never corrupts the heap.
void free_sized(void* ptr, size_t size);
void free_aligned_sized(void* ptr, size_t align, size_t size);

// 1 if `ptr` is a live block of the global heap, else 0.
int rusty_malloc_owns(const void* ptr);

// Writes the global heap's statistics to stderr, one line. Safe beside
// allocating threads.
void rusty_malloc_print_stats(void);

// Writes the sampled heap profile (RUSTY_MALLOC_HEAP_PROFILE turns
// profiling on) to `path` in gperftools' heap-profile format, which
// google-pprof reads: the live heap and what was allocated since the start,
// by stack. 0 on success; -1 when profiling is off or the file cannot be
// written.
int rusty_malloc_dump_heap_profile(const char* path);

// Walks the global heap: 1 if intact, else 0 after writing the broken
// invariant to stderr.
int rusty_malloc_verify(void);

}  // extern "C"

namespace rusty_malloc {

HeapStats MallocStats();
HeapReport MallocVerify();

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_DROP_IN_MALLOC_H_
