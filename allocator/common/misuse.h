#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_MISUSE_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_MISUSE_H_

#include "absl/base/attributes.h"

namespace rusty_malloc {

// Writes "rusty_malloc: <what>: <ptr>" to stderr and aborts. Called when a
// client hands the allocator a pointer it cannot own (double free, foreign
// pointer, corrupted header): carrying on would corrupt the heap silently.
// Safe inside the allocator: it neither allocates nor takes locks.
[[noreturn]] ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void ReportMisuse(
    const char* what, const void* ptr);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_MISUSE_H_
