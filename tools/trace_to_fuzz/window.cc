#include "tools/trace_to_fuzz/window.h"

#include <algorithm>
#include <cstdint>
#include <tuple>

namespace rusty_malloc::trace_to_fuzz {
namespace {

bool IsCall(trace::Op op) {
  return op != trace::Op::kThreadStart && op != trace::Op::kEnd;
}

}  // namespace

bool SelectWindow(const trace::Trace& trace, const WindowOptions& options,
                  Window* window, std::string* error) {
  if (options.threads < 1 || options.records < 1) {
    *error = "--threads and --records must be at least 1";
    return false;
  }
  struct Ordered {
    std::uint64_t time_ns;
    int thread;
    std::size_t index;
    Call call;
  };
  // The threads in the order they started (the reader's is the order of
  // their first frames, which each thread writes when its buffer fills or
  // it exits).
  std::vector<const trace::ThreadRecords*> started;
  for (const trace::ThreadRecords& thread : trace.threads) {
    started.push_back(&thread);
  }
  auto started_at = [](const trace::ThreadRecords* thread) {
    return thread->records.empty() ? UINT64_MAX
                                   : thread->records.front().time_ns;
  };
  std::stable_sort(
      started.begin(), started.end(),
      [&](const trace::ThreadRecords* a, const trace::ThreadRecords* b) {
        return started_at(a) < started_at(b);
      });
  std::vector<Ordered> all;
  int taken = 0;
  for (const trace::ThreadRecords* thread : started) {
    if (taken == options.threads) break;
    const std::vector<trace::Record>& records = thread->records;
    const bool calls_exit =
        std::any_of(records.begin(), records.end(),
                    [](const auto& r) { return r.op == trace::Op::kEnd; });
    std::size_t last = records.size();
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (IsCall(records[i].op)) last = i;
    }
    if (last == records.size()) continue;  // Only starts: not a thread here.
    for (std::size_t i = 0; i <= last; ++i) {
      if (!IsCall(records[i].op)) continue;
      Call call{taken, records[i], i == last && trace.complete && !calls_exit};
      all.push_back({records[i].time_ns, taken, i, call});
    }
    ++taken;
  }
  if (taken < options.threads) {
    *error = "the trace has " + std::to_string(taken) +
             " threads that call the allocator, not " +
             std::to_string(options.threads);
    return false;
  }
  std::size_t start = options.start;
  if (options.start_percent >= 0) {
    if (options.start_percent > 99) {
      *error = "a start in percent must be below 100";
      return false;
    }
    start = all.size() * static_cast<std::size_t>(options.start_percent) / 100;
  }
  if (options.start_thread >= options.threads) {
    *error = "a start at thread " + std::to_string(options.start_thread) +
             " needs --threads above it";
    return false;
  }
  if (start >= all.size()) {
    *error = "--start=" + std::to_string(start) + " is past the " +
             std::to_string(all.size()) + " calls of those threads";
    return false;
  }
  // Each thread's records are in program order with times that never go
  // back, so a sort by time keeps that order; ties go to the earlier thread.
  std::sort(all.begin(), all.end(), [](const Ordered& a, const Ordered& b) {
    return std::tie(a.time_ns, a.thread, a.index) <
           std::tie(b.time_ns, b.thread, b.index);
  });
  if (options.start_thread >= 0) {  // Every thread taken has a call.
    start = static_cast<std::size_t>(std::find_if(all.begin(), all.end(),
                                                  [&](const Ordered& o) {
                                                    return o.thread ==
                                                           options.start_thread;
                                                  }) -
                                     all.begin());
  }
  const std::size_t end = start + std::min(options.records, all.size() - start);
  window->threads = options.threads;
  window->calls.clear();
  for (std::size_t i = start; i < end; ++i) {
    window->calls.push_back(all[i].call);
  }
  return true;
}

}  // namespace rusty_malloc::trace_to_fuzz
