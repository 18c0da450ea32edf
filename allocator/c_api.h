#include "allocator/drop_in/c_api.h"  // IWYU pragma: export
