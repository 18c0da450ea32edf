#include "allocator/common/misuse.h"

#include <dlfcn.h>
#include <unwind.h>

#include <cstdint>
#include <cstdlib>

#include "allocator/common/log_line.h"
#include "allocator/common/tunables.h"

namespace rusty_malloc {
namespace {

struct Frames {
  static constexpr int kMax = 64;
  std::uintptr_t pcs[kMax];
  int count = 0;
};

_Unwind_Reason_Code AddFrame(_Unwind_Context* context, void* arg) {
  auto* frames = static_cast<Frames*>(arg);
  if (frames->count == Frames::kMax) return _URC_END_OF_STACK;
  frames->pcs[frames->count++] = _Unwind_GetIP(context);
  return _URC_NO_REASON;
}

// The unwinder reads .eh_frame, so frames without a frame pointer (the
// drop-in's) are walked too; dladdr names the object and the nearest
// exported symbol. Neither allocates: glibc's backtrace() would dlopen the
// unwinder on first use, which allocates from a heap just found misused.
void WriteStackTrace() {
  Frames frames;
  _Unwind_Backtrace(AddFrame, &frames);
  // Frame 0 is this function, 1 is ReportMisuse.
  for (int i = 2; i < frames.count; ++i) {
    const std::uintptr_t pc = frames.pcs[i];
    if (pc == 0) break;  // The outermost frame's return address.
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(pc), &info) == 0 ||
        info.dli_fname == nullptr) {
      LogLine("  #%d 0x%zx", i - 2, static_cast<std::size_t>(pc));
      continue;
    }
    const auto base = reinterpret_cast<std::uintptr_t>(info.dli_fbase);
    LogLine("  #%d 0x%zx %s+0x%zx %s", i - 2, static_cast<std::size_t>(pc),
            info.dli_fname, static_cast<std::size_t>(pc - base),
            info.dli_sname != nullptr ? info.dli_sname : "");
  }
}

}  // namespace

void ReportMisuse(const char* what, const void* ptr) {
  LogLine("%s: 0x%016zx", what, reinterpret_cast<std::size_t>(ptr));
  if (TheTunables().misuse_action.load(std::memory_order_relaxed) ==
      MisuseAction::kAbortWithStackTrace) {
    WriteStackTrace();
  }
  std::abort();
}

}  // namespace rusty_malloc
