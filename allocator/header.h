#include "allocator/contiguous/header.h"  // IWYU pragma: export
