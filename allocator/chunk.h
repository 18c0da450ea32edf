#include "allocator/per_thread/chunk.h"  // IWYU pragma: export
