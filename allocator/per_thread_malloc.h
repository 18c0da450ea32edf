#include "allocator/per_thread/per_thread_malloc.h"  // IWYU pragma: export
