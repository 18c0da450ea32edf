#include "allocator/per_thread/size_classes.h"  // IWYU pragma: export
