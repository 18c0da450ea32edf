#ifndef RUSTY_MALLOC_BENCH_REPLAY_PLAN_H_
#define RUSTY_MALLOC_BENCH_REPLAY_PLAN_H_

// What the replayer (replay.h) works out from a trace before it runs it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "allocator/trace/trace_reader.h"

namespace rusty_malloc::replay {

// What a replay needs to know about each id beyond its records, found once
// per trace by MakePlan.
struct IdPlan {
  std::uint32_t freer = 0;  // The thread that frees it, index + 1; 0: none.
  std::uint32_t other_uses = 0;   // Its uses by threads other than the freer.
  std::uint64_t freed_index = 0;  // The freeing record's index in its thread.
};

struct Plan {
  std::vector<IdPlan> ids;  // Indexed by id: Trace::max_id + 1 of them.
  std::size_t records = 0;  // Every record, kThreadStart and kEnd included.
  std::size_t calls = 0;    // The records that call the allocator.
};

// Plans `trace` (as ReadTraceFile returned it). False, with `error` naming
// the record's file offset, for what ParseTrace lets through but a replay
// cannot do: a block used by the thread that freed it, after the free.
[[nodiscard]] bool MakePlan(const trace::Trace& trace, Plan* plan,
                            std::string* error);

}  // namespace rusty_malloc::replay

#endif  // RUSTY_MALLOC_BENCH_REPLAY_PLAN_H_
