#ifndef RUSTY_MALLOC_BENCH_REPLAY_H_
#define RUSTY_MALLOC_BENCH_REPLAY_H_

// Replays an allocation trace (allocator/trace/trace_format.h) on an
// allocator (replay_allocator.h): every recorded thread as a real thread,
// all released together, each running its records in order. A record that
// frees or uses a block another thread allocates waits until that thread
// has allocated it, and a free waits for the other threads' recorded uses
// of the block; so every run makes the same calls on the same blocks,
// whatever the scheduling.
//
// Every block carries a pattern derived from its id (its first and last
// byte and one byte every 4096 in between: cheap, and it touches every
// page as a program would), written when it is allocated and checked when
// it is freed, reallocated (the new block must keep the old contents) or
// still live at the end; calloc's blocks are checked to be zero first.

#include <cstddef>

#include "allocator/trace/trace_reader.h"
#include "bench/replay_allocator.h"
#include "bench/replay_plan.h"

namespace rusty_malloc::replay {

// A thread that waits this long for another's record, while no thread
// replays any, gives up: the trace cannot be replayed (its threads wait on
// each other), and the process exits with status 3, naming the record.
inline constexpr int kWatchdogSeconds = 30;

struct Result {
  std::size_t threads = 0;
  double seconds = 0;  // From the threads' release to the last join.
  // Resident memory just before the release, and the most the replay
  // added to it (polled every millisecond): the replayed heap's peak,
  // apart from the trace the replayer holds, which the process's peak
  // includes.
  long resident_before_kib = 0;
  long replay_peak_added_kib = 0;
  // Sampled bytes of a block that lost its pattern, or calloc's that are
  // not zero, counted once per block checked.
  std::size_t pattern_errors = 0;
  // Allocations the recording made and this replay could not.
  std::size_t failed_allocations = 0;
  // Usable sizes below the size the block was allocated with.
  std::size_t usable_size_errors = 0;

  [[nodiscard]] std::size_t errors() const {
    return pattern_errors + failed_allocations + usable_size_errors;
  }
};

// Replays `trace` once on `allocator`; each error is printed to stderr
// with its record's file offset (the first few; the rest are counted).
// Blocks the trace leaves live are checked and freed after the timed part.
// Exits the process with status 3 when the watchdog fires, and with 2 when
// the threads cannot be started.
[[nodiscard]] Result Replay(const trace::Trace& trace, const Plan& plan,
                            Allocator& allocator);

}  // namespace rusty_malloc::replay

#endif  // RUSTY_MALLOC_BENCH_REPLAY_H_
