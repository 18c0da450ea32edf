#include "allocator/per_thread/chunk_source.h"  // IWYU pragma: export
