#include "allocator/common/misuse.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "allocator/common/log_line.h"
#include "allocator/common/stack_trace.h"
#include "allocator/common/tunables.h"

namespace rusty_malloc {

void ReportMisuse(const char* what, const void* ptr) {
  LogLine("%s: 0x%016zx", what, reinterpret_cast<std::size_t>(ptr));
  if (TheTunables().misuse_action.load(std::memory_order_relaxed) ==
      MisuseAction::kAbortWithStackTrace) {
    // From this function's caller: ReportMisuse is never inlined.
    constexpr int kMaxFrames = 64;
    std::uintptr_t pcs[kMaxFrames];
    WriteStack(pcs, CaptureStack(pcs, kMaxFrames, 1));
  }
  std::abort();
}

}  // namespace rusty_malloc
