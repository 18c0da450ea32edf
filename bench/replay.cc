#include "bench/replay.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <latch>
#include <system_error>
#include <thread>
#include <vector>

#include "bench/replay_pattern.h"
#include "bench/replay_thread.h"

namespace rusty_malloc::replay {
namespace {

// The blocks the trace leaves allocated, checked and freed, so that runs
// do not pile up and a leak checker sees none.
void FreeLeftovers(Shared& shared) {
  for (std::size_t id = 1; id < shared.slots.size(); ++id) {
    Slot& slot = shared.slots[id];
    if (!slot.ready.load(std::memory_order_relaxed) || slot.freed ||
        slot.ptr == nullptr) {
      continue;
    }
    if (PatternMismatches(slot.ptr, slot.size, slot.size, id) != 0) {
      shared.errors.Add(shared.errors.pattern,
                        "replay: id %llu, live at the end, lost its "
                        "pattern\n",
                        static_cast<ull>(id));
    }
    if (slot.from_new) {
      shared.allocator.Delete(slot.ptr, slot.new_align);
    } else {
      shared.allocator.Free(slot.ptr);
    }
  }
}

// Runs one replay thread per recorded thread, released together; returns
// the seconds from the release to the last join.
double RunThreads(const trace::Trace& trace, Shared& shared) {
  const std::size_t n = trace.threads.size();
  std::latch start(static_cast<std::ptrdiff_t>(n) + 1);
  std::vector<std::thread> threads;
  threads.reserve(n);
  try {
    for (std::size_t t = 0; t < n; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        ReplayThread(shared, static_cast<std::uint32_t>(t),
                     trace.threads[t].records);
      });
    }
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "replay: cannot start thread %zu of %zu: %s\n",
                 threads.size() + 1, n, e.what());
    std::_Exit(2);
  }
  start.arrive_and_wait();
  const auto begin = std::chrono::steady_clock::now();
  for (std::thread& thread : threads) thread.join();
  const std::chrono::duration<double> elapsed =
      std::chrono::steady_clock::now() - begin;
  return elapsed.count();
}

}  // namespace

Result Replay(const trace::Trace& trace, const Plan& plan,
              Allocator& allocator) {
  std::vector<Slot> slots(plan.ids.size());
  for (std::size_t id = 0; id < slots.size(); ++id) {
    slots[id].uses_left.store(plan.ids[id].other_uses,
                              std::memory_order_relaxed);
  }
  std::vector<Progress> progress(trace.threads.size());
  Shared shared{allocator, plan, slots, progress, {}};
  Result result;
  result.threads = trace.threads.size();
  result.seconds = RunThreads(trace, shared);
  FreeLeftovers(shared);
  result.pattern_errors = shared.errors.pattern.load();
  result.failed_allocations = shared.errors.failed_allocations.load();
  result.usable_size_errors = shared.errors.usable_size.load();
  return result;
}

}  // namespace rusty_malloc::replay
