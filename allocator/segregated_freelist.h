#include "allocator/contiguous/segregated_freelist.h"  // IWYU pragma: export
