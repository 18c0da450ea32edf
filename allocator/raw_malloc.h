#include "allocator/contiguous/raw_malloc.h"  // IWYU pragma: export
