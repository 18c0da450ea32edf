#include "allocator/guarded/trace.h"

#include <sys/syscall.h>
#include <unistd.h>

#include "allocator/common/log_line.h"
#include "allocator/common/stack_trace.h"

namespace rusty_malloc {

void RecordGuardedTrace(GuardedTrace* trace, int skip) {
  trace->thread = static_cast<int>(syscall(SYS_gettid));
  // Past this function too.
  trace->depth = CaptureStack(trace->pcs, GuardedTrace::kMaxFrames, skip + 1);
}

void WriteGuardedTrace(const char* what, const GuardedTrace& trace) {
  LogLine("%s by thread %d at:", what, trace.thread);
  WriteStack(trace.pcs, trace.depth);
}

}  // namespace rusty_malloc
