// Starts trace recording as RUSTY_MALLOC_TRACE says, once the options are
// read (runtime_options.cc, constructor priority 101): the recorder opens
// its file, the global heap's fast paths are bypassed so that every call
// reaches the recording paths (traced_calls.h), fork is handled beside the
// heap's own handlers, and the trace is finished at exit.

#include <cstdlib>

#include "allocator/common/log_line.h"
#include "allocator/drop_in/global_heap.h"
#include "allocator/drop_in/runtime_options.h"
#include "allocator/drop_in/traced_calls.h"

namespace rusty_malloc {

namespace drop_in_internal {
constinit trace::Recorder recorder;
}  // namespace drop_in_internal

namespace {

void PrepareFork() { TheRecorder().PrepareFork(); }
void AfterForkInParent() { TheRecorder().AfterForkInParent(); }
void AfterForkInChild() { TheRecorder().AfterForkInChild(); }
constexpr ForkHooks kForkHooks = {&PrepareFork, &AfterForkInParent,
                                  &AfterForkInChild};

// Registered at load, so it runs after the program's own exit handlers and
// static destructors (registered later), which still record.
void FinishTrace() { TheRecorder().Finish(); }

__attribute__((constructor(102))) void StartTracingAtLoad() {
  const DropInOptions& options = TheDropInOptions();
  if (options.trace_path[0] == '\0') return;
  if (!TheRecorder().Start(options.trace_path, options.trace_fork)) {
    LogLine("cannot record a trace to %.512s", options.trace_path);
    return;
  }
  BypassFastPaths(TheGlobalHeap());
  SetForkHooks(&kForkHooks);
  if (std::atexit(FinishTrace) != 0) {
    LogLine("the trace will end without its end record: atexit failed");
  }
}

}  // namespace
}  // namespace rusty_malloc
