#include "allocator/adaptors/heap_allocator.h"  // IWYU pragma: export
