// The per-thread allocator's lifecycle at scale: a few input bytes allocate
// thousands of blocks, free whole pages or chunks from another thread, end
// a thread (its heap is abandoned) and start one (it adopts a heap), trim
// every heap and bound the memory left (the footprint oracle), read the
// statistics while threads free each other's blocks, and fork. Threads are
// actors that run one command at a time for the fuzz loop, so an input
// replays the same way every time and Verify() runs at quiescent moments:
// after every thread exit, and otherwise once the blocks allocated and freed
// since the last check add up to a quarter of those live, so checking costs
// at most a few times the work it checks. Some commands run actors at once
// (a thread exits while another frees into its heap; malloc_trim while
// another thread frees; Stats() while one thread frees another's blocks and
// that one allocates), for TSan. Built under ASan+UBSan (--config=fuzz) and
// TSan (--config=fuzz_tsan).
//
// The harness's parts, in fuzz/lifecycle/: the actors (actor.h), the
// bounds on one input (bounds.h), the model with its command decoder
// (lifecycle.h), and its members by concern: the model's blocks
// (blocks.h), the commands that run actors at once (beside_others.h),
// fork() (fork.h), and the checks with the footprint oracle (footprint.h).

#include <cstddef>

#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/lifecycle/beside_others.h"
#include "fuzz/lifecycle/blocks.h"
#include "fuzz/lifecycle/bounds.h"
#include "fuzz/lifecycle/footprint.h"
#include "fuzz/lifecycle/fork.h"
#include "fuzz/lifecycle/lifecycle.h"
#include "testing/test_growers.h"

namespace rusty_malloc::fuzzing {
namespace lifecycle {

template <typename Heap>
void Run(Heap& heap, FuzzInput& in, std::size_t max_live_bytes) {
  Lifecycle<Heap> lifecycle(heap, max_live_bytes);
  for (int ops = 0; ops < 256 && !in.empty(); ++ops) lifecycle.Step(in);
  lifecycle.FreeAll();
}

}  // namespace lifecycle

void FuzzOne(FuzzInput& in) {
  ++lifecycle::inputs_run;
  // The mmap source gives released chunks back to the OS (and ASan poisons
  // them), so a chunk touched after its release shows, and it has the
  // decommit path and the committed-memory figure the footprint oracle
  // bounds; the grower source reuses them, and its buffer outlives the input
  // (testing/test_growers.h), so it costs no page faults: it runs the rest
  // (see kMmapEvery).
  if (in.Byte() % lifecycle::kMmapEvery == 0) {
    PerThreadMalloc<MmapChunkSource> heap(std::size_t{64} * kChunkSize);
    lifecycle::Run(heap, in, lifecycle::kMaxLiveBytesMmap);
  } else {
    PerThreadMalloc<GrowerChunkSource<testing::TestGrower>> heap(
        testing::TestGrower(std::size_t{64} * kChunkSize));
    lifecycle::Run(heap, in, lifecycle::kMaxLiveBytesGrower);
  }
}

}  // namespace rusty_malloc::fuzzing
