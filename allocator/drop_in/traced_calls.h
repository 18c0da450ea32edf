#ifndef RUSTY_MALLOC_ALLOCATOR_DROP_IN_TRACED_CALLS_H_
#define RUSTY_MALLOC_ALLOCATOR_DROP_IN_TRACED_CALLS_H_

// Trace recording in the drop-in (RUSTY_MALLOC_TRACE, allocator/trace).
// While it records, trace_setup.cc has the global heap bypass its fast
// paths, so every malloc, free, operator new and delete reaches an
// out-of-line path of malloc.cc or new_delete.cc; those check Tracing()
// there, where a load and a branch cost nothing measurable, and the fast
// paths stay exactly as they are. The other entry points check it first.

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "allocator/drop_in/global_heap.h"
#include "allocator/trace/recorder.h"

namespace rusty_malloc {

namespace drop_in_internal {
extern constinit trace::Recorder recorder;  // trace_setup.cc
}  // namespace drop_in_internal

inline trace::Recorder& TheRecorder() { return drop_in_internal::recorder; }
[[nodiscard]] inline bool Tracing() { return TheRecorder().on(); }

// free's and delete's way into the global heap: its fast path where it has
// one, and `elsewhere(ptr)` (which records, then calls
// DeallocateNotLocal) for the rest; every call while recording. Templates,
// so that the variants without those members compile the calls away.
template <typename Heap, typename Elsewhere>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void DeallocateOr(
    Heap& heap, void* ptr, Elsewhere elsewhere) noexcept {
  if constexpr (requires { heap.DeallocateLocalOr(ptr, elsewhere); }) {
    heap.DeallocateLocalOr(ptr, elsewhere);
  } else {
    if (ABSL_PREDICT_FALSE(Tracing())) return elsewhere(ptr);
    heap.Deallocate(ptr);
  }
}

// What DeallocateOr's `elsewhere` frees with once it has recorded.
template <typename Heap>
inline void DeallocateNotLocal(Heap& heap, void* ptr) noexcept {
  if constexpr (requires { heap.DeallocateElsewhere(ptr); }) {
    heap.DeallocateElsewhere(ptr);
  } else {
    heap.Deallocate(ptr);
  }
}

// Sends every call of `heap` down its out-of-line paths, where it has fast
// ones.
template <typename Heap>
inline void BypassFastPaths(Heap& heap) {
  if constexpr (requires { heap.BypassFastPaths(); }) heap.BypassFastPaths();
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_DROP_IN_TRACED_CALLS_H_
