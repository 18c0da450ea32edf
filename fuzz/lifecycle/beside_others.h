// Part of per_thread_lifecycle_fuzzer: the commands that run actors at
// once, for TSan: a trim or a thread's exit while another frees, and
// Stats() or the reclaim of idle heaps polled while one thread frees into
// other heaps and another allocates. Apart because they are the only ones
// whose actors overlap.

#ifndef RUSTY_MALLOC_FUZZ_LIFECYCLE_BESIDE_OTHERS_H_
#define RUSTY_MALLOC_FUZZ_LIFECYCLE_BESIDE_OTHERS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "allocator/common/heap_report.h"
#include "allocator/per_thread/size_classes.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/lifecycle/actor.h"
#include "fuzz/lifecycle/lifecycle.h"
#include "testing/no_coverage.h"

namespace rusty_malloc::fuzzing::lifecycle {

RUSTY_MALLOC_NO_COVERAGE_BEGIN  // Loops over thousands of blocks.

// malloc_trim on `a` while another actor frees.
template <typename Heap>
void Lifecycle<Heap>::TrimWhileFreeing(FuzzInput& in, int a) {
  const int b = (a + 1 + in.Byte() % (kActors - 1)) % kActors;
  const std::vector<Live> doomed = TakeEvery(2);
  Actor& freer = Get(b);
  freer.Start([&] {
    for (const Live& l : doomed) CheckAndFree(l);
  });
  On(a, [&] { heap_.ReleaseFreeMemory(); });
  freer.Wait();
  thread_exited_ = true;  // Check now.
}

// `a` exits while another actor frees blocks.
template <typename Heap>
void Lifecycle<Heap>::ExitWhileFreeing(FuzzInput& in, int a) {
  if (actors_[a] == nullptr) return;
  const int b = (a + 1 + in.Byte() % (kActors - 1)) % kActors;
  const std::vector<Live> doomed = TakeEvery(1 + in.Byte() % 4);
  Actor& freer = Get(b);
  freer.Start([&] {
    for (const Live& l : doomed) CheckAndFree(l);
  });
  actors_[a].reset();
  freer.Wait();
  thread_exited_ = true;
}

// Actor `a` runs `watch(busy, most_live)` while actor `b` frees blocks
// into other heaps' pages (remote frees in flight) and actor `c`
// allocates, taking back the remote frees of its own pages and reusing
// those blocks; `busy` counts `b` and `c` until each is done, and
// `most_live` bounds the blocks live meanwhile. With `flush_first`, the
// actors' batched remote frees go over before it starts.
template <typename Heap>
template <typename Watch>
void Lifecycle<Heap>::BesideCrossThreadFrees(FuzzInput& in, int a,
                                             bool flush_first, Watch watch) {
  const int b = (a + 1 + in.Byte() % (kActors - 1)) % kActors;
  int c = (b + 1 + in.Byte() % (kActors - 1)) % kActors;
  if (c == a) c = (c + 1) % kActors;
  if (c == b) c = (c + 1) % kActors;
  const int cls = in.Byte() % 24;  // Up to 1,536 bytes: many per page.
  const std::size_t count = 1 + std::size_t{in.Byte()} * 2;
  const std::size_t size = ClassSize(cls);
  const std::vector<Live> doomed = TakeEvery(1 + in.Byte() % 3);
  if (flush_first) FlushEveryActor();
  const std::size_t most_live = live_.size() + doomed.size() + count;
  ExpectChunksFor(count * size);
  std::atomic<int> busy{2};
  std::vector<Live> made;
  Actor& watcher = Get(a);
  Actor& freer = Get(b);
  Actor& maker = Get(c);
  watcher.Start([&] { watch(busy, most_live); });
  freer.Start([&] {
    for (const Live& l : doomed) CheckAndFree(l);
    busy.fetch_sub(1);
  });
  const std::uint64_t first_id = next_id_;
  next_id_ += count;
  maker.Start([&] {
    made = AllocateLoose(count, size, first_id);
    busy.fetch_sub(1);
  });
  freer.Wait();
  maker.Wait();
  watcher.Wait();
  for (const Live& l : made) Admit(l, /*fill=*/false);
}

// Statistics read beside the work they describe, as a monitoring thread
// polls mallinfo2: actor `a` calls Stats() over and over beside cross-
// thread frees and allocation. Stats() may follow nothing that the owner
// changes unsynchronized (TSan reports it: kStatsWalkRemoteList), and its
// figures must add up at every instant.
template <typename Heap>
void Lifecycle<Heap>::StatsBesideCrossThreadFrees(FuzzInput& in, int a) {
  // Blocks freed earlier and still batched would count as allocated too.
  BesideCrossThreadFrees(
      in, a, /*flush_first=*/true,
      [this](const std::atomic<int>& busy, std::size_t most_live) {
        // At least a few reads, and until both others are done.
        for (int polls = 0; polls < 4 || busy.load() != 0; ++polls) {
          CheckStatsAddUp(heap_.Stats(), most_live);
        }
      });
}

// Idle heaps reclaimed (as a heap about to take a new chunk does) by
// actor `a`, over and over, beside cross-thread frees and allocation: the
// other actors' heaps are idle (each actor runs one command at a time),
// and the busy ones' owners run their fast paths beside the reclaim,
// which may take nothing they write unordered (TSan reports it:
// kReclaimTakesFrontPage) and no page with a block in use (the model's
// checks report that).
template <typename Heap>
void Lifecycle<Heap>::ReclaimBesideWork(FuzzInput& in, int a) {
  BesideCrossThreadFrees(in, a, /*flush_first=*/false,
                         [this](const std::atomic<int>& busy, std::size_t) {
                           for (int rounds = 0; rounds < 2 || busy.load() != 0;
                                ++rounds) {
                             heap_.ReclaimIdleHeaps();
                           }
                         });
  thread_exited_ = true;  // Check now.
}

// What Stats() reports while threads run: each figure is some instant's,
// so only what holds at every instant is checked.
template <typename Heap>
void Lifecycle<Heap>::CheckStatsAddUp(const HeapStats& s,
                                      std::size_t most_blocks) {
  if (s.allocated_bytes + s.free_bytes + s.overhead_bytes != s.heap_bytes) {
    Require("Stats beside threads: figures do not add up to heap_bytes");
  }
  // One block more for a remote free counted on its page just after the
  // read of the page's count.
  if (s.allocated_blocks > most_blocks + 1) {
    Require("Stats beside threads: more blocks than were ever live");
  }
}

RUSTY_MALLOC_NO_COVERAGE_END

}  // namespace rusty_malloc::fuzzing::lifecycle

#endif  // RUSTY_MALLOC_FUZZ_LIFECYCLE_BESIDE_OTHERS_H_
