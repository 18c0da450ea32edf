#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_LOG_LINE_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_LOG_LINE_H_

#include <cstddef>

#include "absl/base/attributes.h"

namespace rusty_malloc {

// Writes all of `text` to stderr with write(2), retrying short and
// interrupted writes; errno is kept.
void WriteToStderr(const char* text, std::size_t bytes);

// Writes "rusty_malloc: <printf format, args>\n" to stderr in one write,
// truncated to 511 bytes. Safe inside the allocator: it formats into a stack
// buffer, so it neither allocates nor takes locks (no %ls, no huge widths).
ABSL_ATTRIBUTE_COLD void LogLine(const char* format, ...)
    ABSL_PRINTF_ATTRIBUTE(1, 2);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_LOG_LINE_H_
