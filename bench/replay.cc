#include "bench/replay.h"

#include <unistd.h>

#include <algorithm>
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

// The process's resident memory now, in KiB (statm's second field); 0 if
// unknown.
long ResidentKib() {
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return 0;
  long size = 0, resident = 0;
  const bool read = std::fscanf(statm, "%ld %ld", &size, &resident) == 2;
  std::fclose(statm);
  return read ? resident * (sysconf(_SC_PAGESIZE) / 1024) : 0;
}

// Polls resident memory every millisecond from construction to Stop():
// the replay's peak, which getrusage's cannot tell from the trace loading's.
class ResidentMonitor {
 public:
  ResidentMonitor() : before_(ResidentKib()), peak_(before_) {
    thread_ = std::thread([this] {
      while (!stop_.load(std::memory_order_relaxed)) {
        peak_ = std::max(peak_, ResidentKib());
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  ResidentMonitor(const ResidentMonitor&) = delete;
  ResidentMonitor& operator=(const ResidentMonitor&) = delete;
  // Stops polling (one last reading) and fills in `result`.
  void Stop(Result* result) {
    stop_.store(true, std::memory_order_relaxed);
    thread_.join();
    peak_ = std::max(peak_, ResidentKib());
    result->resident_before_kib = before_;
    result->replay_peak_added_kib = peak_ - before_;
  }

 private:
  const long before_;
  long peak_;  // The monitor thread's until Stop joins it.
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

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
  ResidentMonitor monitor;
  result.seconds = RunThreads(trace, shared);
  monitor.Stop(&result);
  FreeLeftovers(shared);
  result.pattern_errors = shared.errors.pattern.load();
  result.failed_allocations = shared.errors.failed_allocations.load();
  result.usable_size_errors = shared.errors.usable_size.load();
  return result;
}

}  // namespace rusty_malloc::replay
