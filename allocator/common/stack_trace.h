#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_STACK_TRACE_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_STACK_TRACE_H_

#include <cstdint>

#include "absl/base/attributes.h"

// The calling thread's stack, captured and written without allocating and
// without taking locks, so that the allocator can record it on its own
// paths and write it from a misuse report or a signal handler.

namespace rusty_malloc {

// Fills `pcs` with up to `max` return addresses of the calling thread's
// frames, innermost first, and returns how many. pcs[0] lies in the
// caller's caller when `skip` is 1, in the caller itself when it is 0: a
// function that records who called it passes 1. The unwinder reads
// .eh_frame, so frames without a frame pointer are walked too, and it finds
// them without the loader's lock (glibc's _dl_find_object).
ABSL_ATTRIBUTE_NOINLINE int CaptureStack(std::uintptr_t* pcs, int max,
                                         int skip);

// Writes one line per frame, "rusty_malloc:   #I 0xPC FILE+0xADDRESS",
// with the file the code lies in and the address as that file's own (what
// addr2line takes), or just "#I 0xPC" when no file holds it. Stops at a
// zero address (the outermost frame's).
void WriteStack(const std::uintptr_t* pcs, int count);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_STACK_TRACE_H_
