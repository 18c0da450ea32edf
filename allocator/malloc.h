#include "allocator/drop_in/malloc.h"  // IWYU pragma: export
