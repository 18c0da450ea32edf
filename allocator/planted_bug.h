#include "allocator/common/planted_bug.h"  // IWYU pragma: export
