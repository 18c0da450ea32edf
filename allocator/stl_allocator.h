#include "allocator/adaptors/stl_allocator.h"  // IWYU pragma: export
