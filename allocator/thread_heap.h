#include "allocator/per_thread/thread_heap.h"  // IWYU pragma: export
