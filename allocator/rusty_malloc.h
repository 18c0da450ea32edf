#include "allocator/contiguous/rusty_malloc.h"  // IWYU pragma: export
