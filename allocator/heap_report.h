#include "allocator/common/heap_report.h"  // IWYU pragma: export
