#include "allocator/contiguous/freelist.h"  // IWYU pragma: export
