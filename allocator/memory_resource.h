#include "allocator/adaptors/memory_resource.h"  // IWYU pragma: export
