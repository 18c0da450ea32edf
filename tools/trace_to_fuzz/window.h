#ifndef RUSTY_MALLOC_TOOLS_TRACE_TO_FUZZ_WINDOW_H_
#define RUSTY_MALLOC_TOOLS_TRACE_TO_FUZZ_WINDOW_H_

// The part of a trace (allocator/trace/trace_reader.h) that trace_to_fuzz
// turns into one fuzz input: the calls of the first `threads` recorded
// threads that call the allocator, merged in time order, from the
// `start`-th on, at most `records` of them.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "allocator/trace/trace_reader.h"

namespace rusty_malloc::trace_to_fuzz {

struct WindowOptions {
  int threads = 1;
  std::size_t records = 0;
  std::size_t start = 0;
  // When set, the start is instead this share of the way into those
  // threads' calls, in percent (0 to 99): the same phase of a program
  // whatever its recording's length;
  int start_percent = -1;
  // or the first call of this thread of the window's (0 to threads - 1):
  // where the threads that start after the first begin to overlap.
  int start_thread = -1;
};

// One allocator call of the window.
struct Call {
  int thread = 0;  // The window's thread, 0 to threads - 1, in start order.
  trace::Record record;
  // The thread's last record, in a complete trace, by a thread that did not
  // call exit: the thread ended after it (the lifecycle harness ends an
  // actor's thread there).
  bool thread_ends = false;
};

struct Window {
  int threads = 0;          // How many threads the window draws on.
  std::vector<Call> calls;  // In time order; kThreadStart and kEnd left out.
};

// Selects the window of `options` from `trace`. False, with `error` saying
// why, when the options are out of range or the trace has fewer threads
// that call the allocator than asked for; a window that runs past the last
// call is cut there.
[[nodiscard]] bool SelectWindow(const trace::Trace& trace,
                                const WindowOptions& options, Window* window,
                                std::string* error);

}  // namespace rusty_malloc::trace_to_fuzz

#endif  // RUSTY_MALLOC_TOOLS_TRACE_TO_FUZZ_WINDOW_H_
