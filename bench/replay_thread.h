#ifndef RUSTY_MALLOC_BENCH_REPLAY_THREAD_H_
#define RUSTY_MALLOC_BENCH_REPLAY_THREAD_H_

// The replayer's threads (replay.h): what they share, and one recorded
// thread's records replayed in order.

#include <atomic>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "allocator/trace/trace_reader.h"
#include "bench/replay_allocator.h"
#include "bench/replay_plan.h"

namespace rusty_malloc::replay {

// One id's block, as the replay threads share it.
struct Slot {
  // Set (release) once the block is allocated and its pattern written:
  // a thread that frees or uses the block waits for it (acquire).
  std::atomic<bool> ready{false};
  // Uses still to come from threads other than the one that frees it.
  std::atomic<std::uint32_t> uses_left{0};
  // Written by the allocating thread before `ready`; read-only after.
  void* ptr = nullptr;  // nullptr: the replay's allocation failed.
  std::size_t size = 0;
  bool from_new = false;
  std::size_t new_align = 0;  // kNew's recorded alignment, for delete.
  // Written by the one thread that frees the block; read after the join.
  bool freed = false;
};

// Errors, counted, and the first few printed as they happen: with printf
// to stderr, unbuffered, so that a replay thread allocates nothing of its
// own and the allocator under test sees the trace's calls alone.
class Errors {
 public:
  static constexpr std::size_t kPrinted = 20;

  void Add(std::atomic<std::size_t>& counter, const char* format, ...)
      __attribute__((format(printf, 3, 4))) {
    counter.fetch_add(1, std::memory_order_relaxed);
    const std::size_t n = printed_.fetch_add(1, std::memory_order_relaxed);
    if (n > kPrinted) return;
    if (n == kPrinted) {
      std::fputs("replay: more errors, not shown\n", stderr);
      return;
    }
    std::va_list args;
    va_start(args, format);
    std::vfprintf(stderr, format, args);
    va_end(args);
  }

  std::atomic<std::size_t> pattern{0};
  std::atomic<std::size_t> failed_allocations{0};
  std::atomic<std::size_t> usable_size{0};

 private:
  std::atomic<std::size_t> printed_{0};
};

using ull = unsigned long long;  // For printf's %llu.

// How many records a thread has replayed, on a cache line of its own: the
// watchdog tells a stuck replay from a slow one by it.
struct alignas(64) Progress {
  std::atomic<std::uint64_t> records{0};
};

// What every replay thread works on.
struct Shared {
  Allocator& allocator;
  const Plan& plan;
  std::vector<Slot>& slots;
  std::vector<Progress>& progress;  // One per thread.
  Errors errors;
};

// Replays `records`, thread `thread`'s (its index in the trace), in order.
void ReplayThread(Shared& shared, std::uint32_t thread,
                  const std::vector<trace::Record>& records);

}  // namespace rusty_malloc::replay

#endif  // RUSTY_MALLOC_BENCH_REPLAY_THREAD_H_
