#ifndef RUSTY_MALLOC_ALLOCATOR_DROP_IN_FAILED_CALL_H_
#define RUSTY_MALLOC_ALLOCATOR_DROP_IN_FAILED_CALL_H_

// The C interface's failures, reported as glibc does (errno) and, with
// verbose errors on (RUSTY_MALLOC_VERBOSE=1), as one line on stderr: a
// program that ignores a nullptr then shows why it got one. Out of line and
// cold, so the calls' fast paths carry none of it.

#include <cstddef>

#include "absl/base/attributes.h"

namespace rusty_malloc::c_api {

// errno = ENOMEM: the heap could not provide `bytes`.
ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void FailNoMemory(
    std::size_t bytes);

// errno = ENOMEM: `count * size` is not representable.
ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void FailSizeOverflow(
    std::size_t count, std::size_t size);

// errno = EINVAL: the call does not take `align`.
ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void FailBadAlignment(
    std::size_t align);

}  // namespace rusty_malloc::c_api

#endif  // RUSTY_MALLOC_ALLOCATOR_DROP_IN_FAILED_CALL_H_
