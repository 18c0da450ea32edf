#ifndef RUSTY_MALLOC_ALLOCATOR_GUARDED_TRACE_H_
#define RUSTY_MALLOC_ALLOCATOR_GUARDED_TRACE_H_

#include <cstdint>

#include "absl/base/attributes.h"

namespace rusty_malloc {

// One thread's stack where it allocated, freed or touched a guarded block:
// a fixed number of frames, so that the pool's records need no allocation.
struct GuardedTrace {
  static constexpr int kMaxFrames = 32;
  int thread = 0;  // The kernel's thread id.
  int depth = 0;
  std::uintptr_t pcs[kMaxFrames];
};

// Records the calling thread's id and stack into `*trace`, from the caller
// of RecordGuardedTrace on when `skip` is 0, from the caller's caller when
// 1, and so on. Neither allocates nor locks.
ABSL_ATTRIBUTE_NOINLINE void RecordGuardedTrace(GuardedTrace* trace, int skip);

// Writes "rusty_malloc: <what> by thread T at:" and the frames
// (WriteStack's lines).
void WriteGuardedTrace(const char* what, const GuardedTrace& trace);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_GUARDED_TRACE_H_
